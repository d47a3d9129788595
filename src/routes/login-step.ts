// Finishing Hydra's login step, shared by /login (password or Hydra's skip), /registration and
// /verification: the require-verified-email gate, then accept at Hydra, the app session, the
// browser's flow mark.
import type { Request, Response } from "express";
import type { SessionData } from "express-session";
import { createHash } from "node:crypto";
import type { Deps } from "./deps";
import { answerClaimed, answerOnce, answerOnceConcurrently, claimGate } from "../flows/challenges";
import { saveSessionWith } from "../services/sessions";
import type { Along, Queryable } from "../services/db";
import { loginAcceptance, mustVerifyFirst } from "../decisions/login";
export { mustVerifyFirst };
import type { Audience, User } from "../services/store";
import { say, type Msg } from "../i18n";
import { AppError } from "../errors";
import { lngOf, tOf } from "../middleware/page-locals";
import { queueVerificationMail } from "../flows/mail-links";
import { normalizeEmail } from "../services/store";

export const challengeDigest = (c: string) => createHash("sha256").update(c).digest("base64url");

export interface LoginOutcome {
  loginChallenge: string;
  /** Hydra's login-session id of the request (the browser's flow mark). */
  loginSessionId: string | undefined;
  user: Pick<User, "id" | "email" | "emailVerified" | "pendingSince">;
  audience: Pick<Audience, "id" | "displayName" | "requireVerifiedEmail"> | null;
  remember: boolean;
  /** The user proved who they are here (password, sign-up): the app session gets the user. */
  startSession: boolean;
  /** Hold the step until the address is verified whatever the audience says (a new sign-up). */
  requireVerified?: boolean;
  /** Kept in the (new) session while the step is held. */
  keep?: Partial<SessionData>;
  /** Other writes of the step, in the transaction that claims the challenge. */
  alongside?: (q: Queryable) => Promise<void>;
  /**
   * Save the new session in the statement that claims the challenge, before Hydra is answered (one
   * round trip instead of a transaction of five), with these writes (the sign-in's attempt
   * counters): for a step that keeps nothing in the session a retry would need (the password form).
   * Otherwise the session changes only after Hydra accepted, so a failed answer can be retried.
   */
  sessionWithClaim?: { writes?: Along["writes"] };
  /**
   * A sign-in (not a sign-up, whose mail went out with the account) held for verification: the page
   * says a mail was sent, so one is, within the address's mail budget.
   */
  mailWhenHeld?: boolean;
  /** A sign-in Hydra skipped (it knows the browser): the claim runs while Hydra is answered (answerOnceConcurrently). */
  skipped?: boolean;
}

/** Whether this login step waits for a verified address. */
export function holdsForVerification(o: Pick<LoginOutcome, "audience" | "user" | "requireVerified">): boolean {
  return o.requireVerified ? !o.user.emailVerified : mustVerifyFirst(o.audience, o.user);
}


/** Starts a fresh app session for the user (new id: no session fixation). */
export function establishSession(req: Request, userId: string, extra: Partial<SessionData> = {}, alongside?: Along): Promise<void> {
  return regenerateSession(req, { ...extra, userId }, alongside);
}

/**
 * What every new session gets before it is first saved: the app's own (app.ts sets it on the
 * Express app, so two apps in one process keep theirs: the CSRF token). express-session saves a
 * regenerated session a second time after the response headers are out; a browser following the
 * redirect at once may save newer data (a first CSRF token) that this late write would undo. With
 * the token in the session from the start, the late write carries it too.
 */
export const NEW_SESSION_SETTING = "initialize new session";
const initializeSession = (req: Request): void => (req.app.get(NEW_SESSION_SETTING) as ((r: Request) => void) | undefined)?.(req);

/**
 * A fresh session id carrying only `data` (and the account page's sign-in in progress). The new
 * row replaces the old one in one statement, with `alongside`'s writes.
 */
export function regenerateSession(req: Request, data: Partial<SessionData>, alongside?: Along): Promise<void> {
  // The account page's sign-in in progress (state, nonce, PKCE verifier) belongs to this browser and
  // survives the new session id; nothing else of the old session does.
  const accountAuth = req.session.accountAuth;
  const previous = req.session;
  const previousId = req.sessionID;
  return new Promise((resolve, reject) => {
    req.session.regenerate((err) => {
      if (err) return reject(err);
      if (accountAuth) req.session.accountAuth = accountAuth;
      Object.assign(req.session, data);
      initializeSession(req);
      saveSessionWith(req, alongside).then(resolve, (e: unknown) => {
        // Nothing was written (a replayed step, the database): the browser keeps its session as it was.
        req.session = previous;
        req.sessionID = previousId;
        reject(e);
      });
    });
  });
}

export function saveSession(req: Request): Promise<void> {
  return saveSessionWith(req);
}

/**
 * Renders the "check your inbox" page that holds a login step until the address is verified.
 * Notice and error are messages (msg(), translated here) or text already in the page's language.
 */
export function renderCheckInbox(
  deps: Deps,
  req: Request,
  res: Response,
  view: { email: string; audienceName: string | null; loginChallenge: string | null; notice?: Msg | string; error?: Msg | string; status?: number; mailSent?: boolean },
) {
  const t = tOf(res);
  res.status(view.status ?? 200).render("check-inbox", {
    title: t("login:checkInbox.title"),
    csrfToken: deps.csrf.token(req),
    email: view.email,
    audienceName: view.audienceName,
    // false: no new mail now (the address's budget is spent); the page then points to the earlier ones.
    mailSent: view.mailSent ?? true,
    challenge: view.loginChallenge,
    notice: view.notice ? say(t, view.notice) : null,
    error: view.error ? say(t, view.error) : null,
  });
}

/** The verification-mail budget's key: per address, so a new account for it starts no new budget. */
export const verificationMailKey = (email: string) => `address:${normalizeEmail(email)}`;

/**
 * Whether a sign-in that was to go on did: a refusal of the flow itself (4xx: expired, answered
 * already) is a no, and the caller shows its page instead; anything else is thrown on.
 */
export function wentOn(resuming: Promise<unknown>): Promise<boolean> {
  return resuming.then(
    () => true,
    (err: unknown) => {
      if (err instanceof AppError && err.status < 500) return false;
      throw err;
    },
  );
}

/** A verification mail for a held sign-in, counted as "send a new mail" is; false when the budget is spent. */
async function mailForHeldSignIn(deps: Deps, res: Response, user: Pick<User, "id" | "email">): Promise<boolean> {
  const limit = await deps.limits.consume("verificationMail", verificationMailKey(user.email));
  if (!limit.allowed) return false;
  await deps.store.transaction((tx) => queueVerificationMail(tx, deps.env, user, lngOf(res)));
  deps.mailer.kick();
  return true;
}

/**
 * Accepts the login at Hydra and continues the flow, or, when the audience requires a verified
 * address the user does not have yet, holds the step on the "check your inbox" page (the pending
 * step is kept in this browser's session, never in the page).
 */
export async function finishLogin(deps: Deps, req: Request, res: Response, o: LoginOutcome): Promise<void> {
  if (holdsForVerification(o)) {
    const pending = {
      challenge: challengeDigest(o.loginChallenge),
      loginChallenge: o.loginChallenge,
      userId: o.user.id,
      remember: o.remember,
      startSession: o.startSession,
      loginSessionId: o.loginSessionId,
      requireVerified: Boolean(o.requireVerified),
    };
    // A new session id that is not signed in yet: only the held step (a fixation-safe hand-over).
    if (o.startSession) await regenerateSession(req, { ...o.keep, pendingLogin: pending });
    else {
      req.session.pendingLogin = pending;
      await saveSession(req);
    }
    const mailSent = o.mailWhenHeld ? await mailForHeldSignIn(deps, res, o.user) : true;
    return renderCheckInbox(deps, req, res, { email: o.user.email, audienceName: o.audience?.displayName ?? null, loginChallenge: o.loginChallenge, mailSent });
  }
  const accept = () =>
    deps.hydra.acceptLogin(
      o.loginChallenge,
      loginAcceptance({ userId: o.user.id, remember: o.remember, rememberForSeconds: deps.env.LOGIN_REMEMBER_FOR_SECONDS, audienceId: o.audience?.id ?? null }),
    );
  let redirectTo: string;
  if (o.startSession && o.sessionWithClaim) {
    // The user proved who they are: the new session, the claim of the challenge and the step's
    // other writes in one statement (a replay writes none of them), then the answer to Hydra.
    await establishSession(req, o.user.id, {}, { gate: claimGate("login", o.loginChallenge), writes: o.sessionWithClaim.writes });
    redirectTo = await answerClaimed(deps.store, "login", o.loginChallenge, accept);
  } else {
    redirectTo =
      o.skipped && !o.alongside
        ? await answerOnceConcurrently(deps.store, "login", o.loginChallenge, accept)
        : await answerOnce(deps.store, "login", o.loginChallenge, accept, o.alongside);
    if (o.startSession) await establishSession(req, o.user.id);
    else if (req.session?.pendingLogin) {
      delete req.session.pendingLogin;
      await saveSession(req);
    }
  }
  deps.browser.markLoginAnswered(req, res, o.loginSessionId);
  res.redirect(303, redirectTo);
}
