// /recovery — "Forgot password?": a single-use, hashed, 30-minute link by mail. The request answers
// the same, in about the same time, whether or not the address has an account. The reset obeys the
// sign-up password rules, ends every session of the user (app sessions and Hydra login sessions),
// sends a "your password was changed" mail, and, when the recovery began inside an OAuth flow in this
// browser, continues that flow signed in.
import { Router, type Request, type Response } from "express";
import { z } from "zod";
import type { Deps } from "./deps";
import { challenge } from "./deps";
import type { Env } from "../config/env";
import { parseInput } from "../middleware/validate";
import { AppError } from "../errors";
import { enqueueMail } from "../services/mail";
import { greetingName } from "../decisions/outbox";
import { msg } from "../i18n";
import { lngOf, tOf } from "../middleware/page-locals";
import { hashPassword, passwordProblem, personalInputs, PASSWORD_MIN_LENGTH } from "../services/passwords";
import { normalizeEmail, type User } from "../services/store";
import { endUserAccess, EndUserAccessError } from "../flows/credential-change";
import { ensureNotHandled } from "./challenges";
import { finishLogin, saveSession } from "./login-step";
import { queueRecoveryMail } from "../flows/mail-links";
import { tooManyAttempts } from "../middleware/rate-limit";

const RecoveryQuery = z.object({ login_challenge: challenge.optional() });
const RecoveryForm = z.object({
  email: z.string({ message: "is required" }).trim().max(320, "is too long").pipe(z.email({ message: "is not an email address" })),
  login_challenge: challenge.optional(),
});
const tokenField = z.string({ message: "is required" }).regex(/^[A-Za-z0-9_-]{20,100}$/, "is not a link from our mail");
const ResetQuery = z.object({ token: tokenField });
const ResetForm = z.object({ token: tokenField, password: z.string({ message: "is required" }).max(1024, "is too long") });

/** The request answers after at least this long either way, so its timing says nothing. */
const MIN_ANSWER_MS = 400;

const LINK_PROBLEMS = { unknown: 404, used: 410, expired: 410 } as const;

/** "Back to sign-in": the sign-in step the recovery began in, else the account page (it asks to sign in). */
const signInHref = (loginChallenge: string | undefined) => (loginChallenge ? `/login?login_challenge=${encodeURIComponent(loginChallenge)}` : "/account");

/** How long a recovery link works, in whole minutes (pages say it). */
const linkMinutes = (env: Pick<Env, "RECOVERY_TTL_SECONDS">) => Math.max(1, Math.round(env.RECOVERY_TTL_SECONDS / 60));

export function recoveryRoutes(deps: Deps): Router {
  const { store, hydra, env } = deps;
  const router = Router();

  function renderRequest(req: Request, res: Response, extra: { status?: number; error?: string; email?: string; loginChallenge?: string }) {
    res.status(extra.status ?? 200).render("recovery", {
      title: tOf(res)("recovery:title"),
      csrfToken: deps.csrf.token(req),
      email: extra.email ?? "",
      challenge: extra.loginChallenge ?? null,
      error: extra.error ?? null,
      signInHref: signInHref(extra.loginChallenge),
    });
  }

  function linkProblem(status: keyof typeof LINK_PROBLEMS): AppError {
    return new AppError(LINK_PROBLEMS[status], `recovery_${status}`, msg(`recovery:link.${status}`, { count: linkMinutes(env) }), { title: msg("recovery:title") });
  }

  router.get("/recovery", (req: Request, res: Response) => {
    const { login_challenge } = parseInput(RecoveryQuery, req.query, "link");
    renderRequest(req, res, { loginChallenge: login_challenge });
  });

  router.post("/recovery", deps.csrf.protect, async (req: Request, res: Response) => {
    const started = Date.now();
    const raw = req.body as Record<string, unknown>;
    const parsed = RecoveryForm.safeParse(raw);
    if (!parsed.success) {
      const loginChallenge = typeof raw.login_challenge === "string" ? raw.login_challenge : undefined;
      return renderRequest(req, res, { status: 400, error: tOf(res)("recovery:request.invalidEmail"), email: String(raw.email ?? ""), loginChallenge });
    }
    const form = parsed.data;
    const byIp = await deps.limits.consume("recoveryIp", req.ip ?? "unknown");
    if (!byIp.allowed) throw tooManyAttempts(msg("recovery:request.tooMany"), byIp.retryAfterSeconds);
    const email = normalizeEmail(form.email);
    // Past the per-address limit nothing is sent, but the answer stays the same.
    const byAddress = await deps.limits.consume("recoveryAddress", email);
    const user = byAddress.allowed ? await store.findUserByEmail(email) : null;
    if (user && !user.disabledAt) {
      await store.transaction((tx) => queueRecoveryMail(tx, env, user, lngOf(res)));
      deps.mailer.kick();
      deps.logger.info({ event: "recovery_requested", subject: user.id }, "password recovery mail queued");
    }
    if (form.login_challenge) {
      req.session.recoveryFlow = { challenge: form.login_challenge, email };
      await saveSession(req);
    }
    const wait = MIN_ANSWER_MS - (Date.now() - started);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    res.render("recovery-sent", { title: tOf(res)("recovery:sent.title"), email: form.email, minutes: linkMinutes(env), signInHref: signInHref(form.login_challenge) });
  });

  router.get("/recovery/reset", async (req: Request, res: Response) => {
    const { token } = parseInput(ResetQuery, req.query, "password-reset link");
    const found = await store.lookupOneTimeToken("RECOVERY", token);
    if (found.status !== "valid") throw linkProblem(found.status);
    res.render("recovery-reset", { title: tOf(res)("recovery:reset.title"), csrfToken: deps.csrf.token(req), token, email: found.token.email, passwordMinLength: PASSWORD_MIN_LENGTH, error: null });
  });

  router.post("/recovery/reset", deps.csrf.protect, async (req: Request, res: Response) => {
    const form = parseInput(ResetForm, req.body, "password-reset form");
    const found = await store.lookupOneTimeToken("RECOVERY", form.token);
    if (found.status !== "valid") throw linkProblem(found.status);
    const user = await store.getUser(found.token.userId);
    if (!user || user.disabledAt) throw linkProblem("unknown");
    const weak = passwordProblem(form.password, personalInputs(user.email, user.name ?? ""), lngOf(res));
    if (weak) {
      return res.status(400).render("recovery-reset", { title: tOf(res)("recovery:reset.title"), csrfToken: deps.csrf.token(req), token: form.token, email: found.token.email, passwordMinLength: PASSWORD_MIN_LENGTH, error: weak });
    }
    const passwordHash = await hashPassword(form.password);
    // Someone who resets a password by mail may fear a compromise: every session and every token ends.
    // Hydra first: if it cannot be reached nothing changes, and the link still works for a retry.
    await hydra.revokeLoginSessions(user.id);
    await hydra.revokeConsentSessions(user.id);
    // Nobody had confirmed the address: whoever made the account may not own the mailbox (a
    // pre-account takeover). The mailbox's owner takes it over, without what its maker typed or allowed.
    const takenOver = !user.emailVerified;
    const changed = await store.transaction(async (tx) => {
      const used = await store.useOneTimeToken(tx, "RECOVERY", form.token);
      if (!used) return false;
      await store.setPasswordHash(tx, user.id, passwordHash);
      if (takenOver) await store.clearUnconfirmedAccount(tx, user.id);
      // The link reached the mailbox: the address is verified too (when it is still the account's).
      await store.markEmailVerified(tx, user.id, used.email);
      await enqueueMail(tx, {
        to: user.email,
        userId: user.id,
        template: "password-changed",
        lng: lngOf(res),
        data: { name: greetingName(user), email: user.email, when: new Date().toISOString(), how: "recovery" },
      });
      return true;
    });
    if (!changed) throw linkProblem("used");
    deps.mailer.kick();
    const flow = req.session.recoveryFlow;
    try {
      // Again after the change: a session or token made in between ends too.
      await endUserAccess({ store, hydra, userId: user.id, revokeTokens: true });
    } catch (err) {
      if (!(err instanceof EndUserAccessError)) throw err;
      deps.logger.error({ event: "recovery_sessions", subject: user.id, failures: err.failures }, "password reset, but not every session ended");
    }
    deps.logger.info({ event: "password_reset", subject: user.id, takenOver }, "password reset by recovery link");
    const t = tOf(res);
    if (takenOver) {
      // Said before anything goes on: the account's earlier details and permissions are gone.
      return res.render("message", {
        title: t("recovery:changed.title"),
        message: t("recovery:changed.takenOver"),
        link: { href: signInHref(flow?.email === normalizeEmail(user.email) ? flow.challenge : undefined), label: t("recovery:sent.backToSignIn") },
      });
    }

    // Began inside an OAuth flow in this browser, for this account: continue it, signed in.
    if (flow && flow.email === normalizeEmail(user.email)) {
      const resumed = await continueFlow(req, res, flow.challenge, user).catch((err: unknown) => {
        if (err instanceof AppError && err.status < 500) return false;
        throw err;
      });
      if (resumed) return;
    }
    res.render("message", { title: t("recovery:changed.title"), message: t("recovery:changed.message") });
  });

  async function continueFlow(req: Request, res: Response, loginChallenge: string, user: User): Promise<boolean> {
    await ensureNotHandled(store, "login", loginChallenge, hydra);
    const loginRequest = await hydra.getLoginRequest(loginChallenge);
    const membership = await store.getClientMembership(loginRequest.client.client_id ?? "");
    const fresh = (await store.getUser(user.id)) ?? user;
    await finishLogin(deps, req, res, {
      loginChallenge,
      loginSessionId: loginRequest.session_id,
      user: fresh,
      audience: membership?.audience ?? null,
      remember: false,
      startSession: true,
    });
    return true;
  }

  return router;
}
