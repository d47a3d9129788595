// /account — the signed-in user's page: profile, email, password, sign-out, deletion (their forms are
// handled in account-settings.ts), the consents per audience, and revoking one.
// /account/login, /account/callback — the account page's own sign-in: an OAuth 2.0
// authorization-code + PKCE flow at Hydra as the first-party client ACCOUNT_CLIENT_ID.
import { Router, type Request, type Response, type NextFunction } from "express";
import { timingSafeEqual } from "node:crypto";
import { z } from "zod";
import type { Deps } from "./deps";
import { parseInput } from "../middleware/validate";
import { AppError } from "../errors";
import { mailTime } from "../services/mail";
import { AUDIENCE_ID_PATTERN } from "../config/audiences";
import { establishSession, saveSession } from "./login-step";
import { accountAuthRequest, accountRedirectUri, judgeIdToken, jwtPayload } from "../decisions/account-signin";
import { accountNotice } from "../decisions/account-settings";
import { PASSWORD_MIN_LENGTH } from "../services/passwords";

const RevokeForm = z.object({
  audience: z.string({ message: "is required" }).max(255).regex(AUDIENCE_ID_PATTERN, "is not an audience identifier"),
});
const AccountQuery = z.object({ revoked: z.string().max(255).optional(), done: z.string().max(50).optional() });
const LoginQuery = z.object({ prompt: z.enum(["login"]).optional() });
const CallbackQuery = z.union([
  z.object({ code: z.string().min(1).max(4096), state: z.string().min(1).max(512) }),
  z.object({ error: z.string().max(200), error_description: z.string().max(2000).optional(), state: z.string().max(512).optional() }),
]);

/** The account pages need a session made by the account's own sign-in; otherwise start it. */
export function requireAccountSession(req: Request, res: Response, next: NextFunction): void {
  if (req.session.userId && req.session.accountSignIn?.userId === req.session.userId) return next();
  if (req.method !== "GET") {
    return next(new AppError(401, "not_signed_in", "Your sign-in has ended. Open your account page again to sign in.", { title: "Not signed in" }));
  }
  res.redirect(303, "/account/login");
}

/** What the account page shows besides the user's data: a confirmation, or a form's error (by form). */
export interface AccountPageExtra {
  status?: number;
  notice?: string | null;
  revoked?: string | null;
  error?: { form: "email" | "password" | "delete"; message: string };
}

/** Renders /account for the signed-in user: profile, email, password, sign-out, deletion, consents. */
export async function renderAccount(deps: Deps, req: Request, res: Response, extra: AccountPageExtra = {}): Promise<void> {
  const userId = req.session.userId!;
  const user = await deps.store.getUser(userId);
  if (!user) throw new AppError(401, "not_signed_in", "Your account no longer exists.", { title: "Not signed in" });
  const pending = await deps.store.pendingEmailChange(userId);
  res.status(extra.status ?? 200).render("account", {
    title: "Your account",
    csrfToken: deps.csrf.token(req),
    email: user.email,
    name: user.name ?? "",
    emailVerified: user.emailVerified,
    pendingEmail: pending ? { email: pending.email, expiresAt: mailTime(pending.expiresAt) } : null,
    passwordMinLength: PASSWORD_MIN_LENGTH,
    consents: await deps.store.listConsents(userId),
    revoked: extra.revoked ?? null,
    notice: extra.notice ?? null,
    error: extra.error ?? null,
  });
}

const sameText = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

export function accountRoutes(deps: Deps): Router {
  const { store, hydra, env } = deps;
  const router = Router();

  router.get("/account/login", async (req: Request, res: Response) => {
    const { prompt } = parseInput(LoginQuery, req.query, "sign-in link");
    const auth = accountAuthRequest({
      hydraPublicUrl: env.HYDRA_PUBLIC_URL,
      clientId: env.ACCOUNT_CLIENT_ID,
      appBaseUrl: env.APP_BASE_URL,
      maxAuthAgeSeconds: env.ACCOUNT_MAX_AUTH_AGE_SECONDS,
      freshSignIn: prompt === "login",
    });
    req.session.accountAuth = { state: auth.state, nonce: auth.nonce, codeVerifier: auth.codeVerifier };
    await saveSession(req);
    res.redirect(303, auth.url);
  });

  router.get("/account/callback", async (req: Request, res: Response) => {
    const query = parseInput(CallbackQuery, req.query, "sign-in answer");
    const pending = req.session.accountAuth;
    if (!pending || !query.state || !sameText(query.state, pending.state)) {
      throw new AppError(400, "account_signin_state", "This sign-in answer does not belong to this browser, or it was already used. Open your account page again.", {
        title: "Sign-in not completed",
      });
    }
    delete req.session.accountAuth;
    if ("error" in query) {
      await saveSession(req);
      return res.status(401).render("message", {
        title: "Not signed in",
        message: "Signing in to your account was cancelled or refused. You can try again from your account page: /account",
      });
    }
    const tokens = await hydra.exchangeCode({ clientId: env.ACCOUNT_CLIENT_ID, code: query.code, redirectUri: accountRedirectUri(env.APP_BASE_URL), codeVerifier: pending.codeVerifier });
    const payload = tokens.id_token ? jwtPayload(tokens.id_token) : null;
    const verdict = payload
      ? judgeIdToken(payload, {
          issuer: env.HYDRA_PUBLIC_URL,
          clientId: env.ACCOUNT_CLIENT_ID,
          nonce: pending.nonce,
          nowSeconds: Math.floor(Date.now() / 1000),
          maxAuthAgeSeconds: env.ACCOUNT_MAX_AUTH_AGE_SECONDS,
        })
      : ({ ok: false, reason: "no id_token" } as const);
    if (!verdict.ok) {
      deps.logger.warn({ event: "account_signin_refused", reason: verdict.reason }, "account sign-in refused");
      throw new AppError(400, "account_signin_invalid", "Signing in to your account did not complete. Please try again from your account page.", { title: "Sign-in not completed" });
    }
    const user = await store.getUser(verdict.subject);
    if (!user) throw new AppError(401, "not_signed_in", "This account no longer exists.", { title: "Not signed in" });
    await establishSession(req, user.id, { accountSignIn: { userId: user.id, authTime: verdict.authTime } });
    deps.logger.info({ event: "account_signin", subject: user.id }, "signed in to the account page");
    res.redirect(303, "/account");
  });

  router.get("/account", requireAccountSession, async (req: Request, res: Response) => {
    const query = parseInput(AccountQuery, req.query, "account link");
    // Confirmations name the audience as stored and use fixed words, never the text of the URL.
    const revoked = query.revoked && AUDIENCE_ID_PATTERN.test(query.revoked) ? await store.getAudience(query.revoked) : null;
    await renderAccount(deps, req, res, { revoked: revoked?.displayName ?? null, notice: accountNotice(query.done) });
  });

  router.post("/account/consents/revoke", requireAccountSession, deps.csrf.protect, async (req: Request, res: Response) => {
    const userId = req.session.userId!;
    const form = parseInput(RevokeForm, req.body, "revocation form");
    const audience = await store.getAudience(form.audience);
    if (!audience) throw new AppError(404, "unknown_audience", "There is no such application.");
    // Hydra first: if it fails, nothing is deleted and the user can simply retry.
    for (const clientId of await store.listAudienceClientIds(audience.id)) {
      await hydra.revokeConsentSessions(userId, clientId);
    }
    await store.revokeConsent(userId, audience.id);
    deps.logger.info({ event: "consent_revoked", subject: userId, audience: audience.id }, "consent revoked");
    res.redirect(303, `/account?revoked=${encodeURIComponent(audience.id)}`);
  });

  return router;
}
