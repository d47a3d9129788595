// /account — the signed-in user's page: profile, email, password, sign-out, deletion (their forms are
// handled in account-settings.ts), the consents per audience, and revoking one (after a confirmation
// page); /account/sign-out ends this browser's sign-in.
// /account/login, /account/callback — the account page's own sign-in: an OAuth 2.0
// authorization-code + PKCE flow at Hydra as the first-party client ACCOUNT_CLIENT_ID.
import { Router, type Request, type Response, type NextFunction } from "express";
import { timingSafeEqual } from "node:crypto";
import { z } from "zod";
import type { Deps } from "./deps";
import { startBrowserSignOut } from "./logout";
import { parseInput } from "../middleware/validate";
import { AppError } from "../errors";
import { msg, say, type Msg } from "../i18n";
import { lngOf, tOf } from "../middleware/page-locals";
import { AUDIENCE_ID_PATTERN } from "../config/audiences";
import { establishSession } from "../flows/sign-in-step";
import { saveSession, sessionPort } from "./browser";
import { accountAuthRequest, accountRedirectUri, judgeIdToken, jwtPayload } from "../decisions/account-signin";
import { accountNotice } from "../decisions/account-settings";
import { describeScope } from "../decisions/scopes";
import { PASSWORD_MIN_LENGTH } from "../services/passwords";
import type { Audience, ConsentView } from "../services/store";

const audienceField = z.string({ message: "is required" }).max(255).regex(AUDIENCE_ID_PATTERN, "is not an audience identifier");
/** `confirm` comes only from the confirmation page: without it nothing is revoked (the page is shown instead). */
const RevokeForm = z.object({ audience: audienceField, confirm: z.string().max(20).optional() });
const RevokeQuery = z.object({ audience: audienceField });
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
    return next(new AppError(401, "not_signed_in", msg("account:signIn.ended"), { title: msg("account:signIn.notSignedIn") }));
  }
  res.redirect(303, "/account/login");
}

/** What the account page shows besides the user's data: a confirmation, or a form's error (by form, and the input it is about). */
export interface AccountPageExtra {
  status?: number;
  notice?: Msg | null;
  revoked?: string | null;
  error?: { form: "email" | "password" | "delete"; message: Msg | string; field?: AccountErrorField };
}

/** The inputs of /account an error can be tied to (their ids). */
export type AccountErrorField = "new-email" | "email-current-password" | "current-password" | "new-password" | "delete-password";

/** One audience's consent as the pages show it: names, plain-word scope descriptions, the dates. */
export interface ConsentItem {
  audience: { id: string; name: string };
  clients: string[];
  scopes: { id: string; description: string }[];
  createdAt: Date;
  updatedAt: Date;
}

/** Names instead of ids: the audience's and the clients' display names, each scope in plain words (in the page's language). */
async function describeConsents(deps: Deps, res: Response, consents: ConsentView[]): Promise<ConsentItem[]> {
  const descriptions = await deps.store.getScopeDescriptions([...new Set(consents.flatMap((c) => c.scopes))]);
  const t = tOf(res);
  return consents.map((c) => ({
    audience: { id: c.audience.id, name: c.audience.displayName },
    clients: c.clients.map((x) => x.name),
    scopes: c.scopes.map((s) => ({ id: s, description: say(t, describeScope(s, descriptions.get(s), lngOf(res))) })),
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
  }));
}

/** Renders /account for the signed-in user: profile, email, password, sign-out, deletion, consents. */
export async function renderAccount(deps: Deps, req: Request, res: Response, extra: AccountPageExtra = {}): Promise<void> {
  const userId = req.session.userId!;
  const user = await deps.store.getUser(userId);
  if (!user) throw new AppError(401, "not_signed_in", msg("account:signIn.accountGone"), { title: msg("account:signIn.notSignedIn") });
  const pending = await deps.store.pendingEmailChange(userId);
  res.status(extra.status ?? 200).render("account", {
    title: tOf(res)("account:title"),
    csrfToken: deps.csrf.token(req),
    email: user.email,
    name: user.name ?? "",
    emailVerified: user.emailVerified,
    pendingEmail: pending ? { email: pending.email, expiresAt: pending.expiresAt } : null,
    passwordMinLength: PASSWORD_MIN_LENGTH,
    consents: await describeConsents(deps, res, await deps.store.listConsents(userId)),
    revoked: extra.revoked ?? null,
    notice: extra.notice ?? null,
    error: extra.error ?? null,
  });
}

/** The confirmation page of a revocation: what is revoked, for which applications, what it means. */
async function renderRevokeConfirm(deps: Deps, req: Request, res: Response, audience: Audience): Promise<void> {
  const mine = (await deps.store.listConsents(req.session.userId!)).filter((c) => c.audience.id === audience.id);
  const [consent] = await describeConsents(deps, res, mine);
  res.render("revoke-confirm", {
    title: tOf(res)("account:revoke.title"),
    csrfToken: deps.csrf.token(req),
    audience: { id: audience.id, name: audience.displayName },
    clients: consent?.clients ?? [],
    scopes: consent?.scopes ?? [],
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
      throw new AppError(400, "account_signin_state", msg("account:signIn.otherBrowser"), { title: msg("account:signIn.failedTitle") });
    }
    delete req.session.accountAuth;
    if ("error" in query) {
      await saveSession(req);
      const t = tOf(res);
      return res.status(401).render("message", {
        title: t("account:signIn.notSignedIn"),
        message: t("account:signIn.cancelled"),
        link: { href: "/account", label: t("account:signIn.tryAgain") },
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
      throw new AppError(400, "account_signin_invalid", msg("account:signIn.failed"), { title: msg("account:signIn.failedTitle") });
    }
    const user = await store.getUser(verdict.subject);
    if (!user) throw new AppError(401, "not_signed_in", msg("account:signIn.thisAccountGone"), { title: msg("account:signIn.notSignedIn") });
    await establishSession(sessionPort(deps, req, res), user.id, {
      accountSignIn: { userId: user.id, authTime: verdict.authTime },
    });
    deps.logger.info({ event: "account_signin", subject: user.id }, "signed in to the account page");
    res.redirect(303, "/account");
  });

  router.get("/account", requireAccountSession, async (req: Request, res: Response) => {
    const query = parseInput(AccountQuery, req.query, "account link");
    // Confirmations name the audience as stored and use fixed words, never the text of the URL.
    const revoked = query.revoked && AUDIENCE_ID_PATTERN.test(query.revoked) ? await store.getAudience(query.revoked) : null;
    await renderAccount(deps, req, res, { revoked: revoked?.displayName ?? null, notice: accountNotice(query.done) });
  });

  // Revoking asks first: the button on /account opens this page, which names the audience, its
  // applications and what they lose; only its own form (with confirm=yes) revokes.
  router.get("/account/consents/revoke", requireAccountSession, async (req: Request, res: Response) => {
    const query = parseInput(RevokeQuery, req.query, "account link");
    const audience = await store.getAudience(query.audience);
    if (!audience) throw new AppError(404, "unknown_audience", msg("account:revoke.unknownAudience"));
    await renderRevokeConfirm(deps, req, res, audience);
  });

  router.post("/account/consents/revoke", requireAccountSession, deps.csrf.protect, async (req: Request, res: Response) => {
    const userId = req.session.userId!;
    const form = parseInput(RevokeForm, req.body, "revocation form");
    const audience = await store.getAudience(form.audience);
    if (!audience) throw new AppError(404, "unknown_audience", msg("account:revoke.unknownAudience"));
    // A form without the confirmation (an old one-click form, a page kept open from before) revokes
    // nothing: it gets the confirmation page.
    if (form.confirm !== "yes") return renderRevokeConfirm(deps, req, res, audience);
    // Hydra first: if it fails, nothing is deleted and the user can simply retry.
    for (const clientId of await store.listAudienceClientIds(audience.id)) {
      await hydra.revokeConsentSessions(userId, clientId);
    }
    await store.revokeConsent(userId, audience.id);
    deps.logger.info({ event: "consent_revoked", subject: userId, audience: audience.id }, "consent revoked");
    res.redirect(303, `/account?revoked=${encodeURIComponent(audience.id)}`);
  });

  /**
   * "Sign out": ends this browser's sign-in, and only this browser's (other devices stay signed in,
   * unlike "Sign out everywhere", which revokes every Hydra login session of the user): the app
   * session here, then Hydra's login session through Hydra's own logout endpoint, which /logout
   * answers without asking and which ends on /signed-out (see SIGN_OUT_COOKIE in ./logout for why
   * not through the admin API). When Hydra does not remember this browser it goes to /signed-out at once.
   */
  router.post("/account/sign-out", requireAccountSession, deps.csrf.protect, async (req: Request, res: Response) => {
    const userId = req.session.userId!;
    await new Promise<void>((resolve, reject) => req.session.destroy((err) => (err ? reject(err) : resolve())));
    res.clearCookie(env.SESSION_COOKIE_NAME);
    deps.logger.info({ event: "account_signed_out", subject: userId }, "signed out on this browser");
    startBrowserSignOut(res, env, null);
  });

  return router;
}
