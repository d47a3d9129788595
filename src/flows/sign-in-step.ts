// "This person is signed in": the step every way of signing in ends with (a password, Hydra's
// skip, a sign-up, a confirmed address, a recovery). A way of signing in is its own module that
// proves who the person is and hands a SignIn to finishSignIn: the require-verified-email hold,
// then the answer to Hydra, the app session and the browser's flow mark.
import type { Env } from "../config/env";
import { ACR, loginAcceptance, mustVerifyFirst, PASSWORD_AMR } from "../decisions/login";
import { secondFactorStep, strengthOf, type Method } from "../decisions/second-factor";
import { AppError } from "../errors";
import { msg, type Language, type Msg } from "../i18n";
import type { Along, Queryable } from "../services/db";
import type { Hydra } from "../services/hydra";
import type { Limits } from "../services/limits";
import type { Mailer } from "../services/mail";
import { normalizeEmail, recordStrength, strengthWrites, type Audience, type Store, type User } from "../services/store";
import { answerClaimed, answerOnce, answerOnceConcurrently, challengeDigest, claimGate } from "./challenges";
import { queueVerificationMail } from "./mail-links";
import { holdForSecondFactor, type SecondFactorHoldDeps } from "./second-factor-hold";
import { page, type Outcome } from "./outcome";
import { heldStepFields, type AppSession, type SessionPort } from "./session";
import { logActivity } from "./activity";
import { signInRecord, type BrowserPlace } from "./sign-in-record";
import type { Logger } from "../logger";
import { touchAccountSession } from "../services/store";

export { challengeDigest };

export interface SignInStepDeps extends SecondFactorHoldDeps {
  env: SecondFactorHoldDeps["env"] & Pick<Env, "LOGIN_REMEMBER_FOR_SECONDS" | "APP_BASE_URL" | "EMAIL_VERIFICATION_TTL_SECONDS">;
  store: SecondFactorHoldDeps["store"] & Pick<Store, "claimChallenge" | "releaseChallenge" | "bookkeepingTransaction" | "transaction" | "claimSkippedSignIn">;
  hydra: Pick<Hydra, "acceptLogin">;
  limits: Pick<Limits, "consume">;
  mailer: Pick<Mailer, "kick">;
  /** The sign-in's activity line for operators (unset: not logged). */
  logger?: Pick<Logger, "info">;
}

/** The browser as the step sees it: its session, and the cookies that mark the logins it answered. */
export interface SignInBrowser extends Pick<SessionPort, "session" | "save" | "regenerate"> {
  markLoginAnswered(loginSessionId: string | undefined): void;
  /**
   * Marks (true) or unmarks Hydra's login session as signed in with two factors in this browser:
   * a remembered sign-in of a marked session looks up what it reached, others are taken as a password's.
   */
  markStrongSession(loginSessionId: string, strong: boolean): void;
  /** Whether this browser holds the mark of a session signed in with two factors. */
  strongSession(loginSessionId: string | undefined): boolean;
  /** Where the request came from: a completed sign-in keeps it as a place the person is signed in (unset: none kept). */
  place?: BrowserPlace;
}

/** Who signed in to which login step, and how the step goes on. */
export interface SignIn {
  loginChallenge: string;
  /** Hydra's login-session id of the request (the browser's flow mark). */
  loginSessionId: string | undefined;
  user: Pick<User, "id" | "email" | "emailVerified" | "pendingSince">;
  audience: Pick<Audience, "id" | "displayName" | "requireVerifiedEmail" | "mfa"> | null;
  remember: boolean;
  /** The user proved who they are here (password, sign-up): the app session gets the user. */
  startSession: boolean;
  /** Hold the step until the address is verified whatever the audience says (a new sign-up). */
  requireVerified?: boolean;
  /** Kept in the (new) session while the step is held. */
  keep?: AppSession;
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
   * says a mail was sent, so one is, within the address's mail budget, in this language.
   */
  mailWhenHeld?: { lng: Language };
  /** A sign-in Hydra skipped (it knows the browser): the claim runs while Hydra is answered (answerOnceConcurrently). */
  skipped?: boolean;
  /** How the person proved who they are (amr values, RFC 8176); a password when unset. */
  methods?: readonly string[];
  /**
   * Whether a second factor may be needed (decisions/second-factor.ts secondFactorStep): the user
   * has one, and the acr_values of the request. Unset: the step asks for none (what was proved is enough).
   */
  secondFactor?: { userHasFactor: boolean; acrValues: readonly string[] };
  /** The OAuth client the sign-in is for (told in the account's activity). */
  clientId?: string;
  /**
   * The browser held no sign-in of this account (decided where the person proved who they are):
   * once the sign-in completes, the account's address gets the "new sign-in" notice in this language.
   */
  newBrowser?: { lng: Language };
}

/** Whether this login step waits for a verified address. */
export function holdsForVerification(o: Pick<SignIn, "audience" | "user" | "requireVerified">): boolean {
  return o.requireVerified ? !o.user.emailVerified : mustVerifyFirst(o.audience, o.user);
}

/**
 * Starts a fresh app session for the user (new id: no session fixation). `untilBrowserCloses`: its
 * cookie ends with the browser, as Hydra's does for a sign-in without "stay signed in"; unset keeps
 * the current cookie's kind (the account page's sign-in after the login step made it).
 */
export function establishSession(browser: Pick<SessionPort, "regenerate">, userId: string, extra: AppSession = {}, alongside?: Along, untilBrowserCloses?: boolean): Promise<void> {
  return browser.regenerate({ ...extra, userId }, alongside, untilBrowserCloses);
}

/**
 * The "check your inbox" page that holds a login step until the address is verified. Notice and
 * error are messages (msg()) or text already in the page's language.
 */
export function checkInboxPage(view: {
  email: string;
  audienceName: string | null;
  loginChallenge: string | null;
  notice?: Msg | string;
  error?: Msg | string;
  status?: number;
  mailSent?: boolean;
}): Outcome {
  return page(
    "check-inbox",
    msg("login:checkInbox.title"),
    {
      email: view.email,
      audienceName: view.audienceName,
      // false: no new mail now (the address's budget is spent); the page then points to the earlier ones.
      mailSent: view.mailSent ?? true,
      challenge: view.loginChallenge,
      notice: view.notice ?? null,
      error: view.error ?? null,
    },
    { status: view.status, form: true },
  );
}

/** The verification-mail budget's key: per address, so a new account for it starts no new budget. */
export const verificationMailKey = (email: string) => `address:${normalizeEmail(email)}`;

/**
 * Whether a sign-in that was to go on did: a refusal of the flow itself (4xx: expired, answered
 * already) is a no, and the caller shows its page instead; anything else is thrown on.
 */
export function wentOn<T>(resuming: Promise<T>): Promise<T | null> {
  return resuming.then(
    (value) => value,
    (err: unknown) => {
      if (err instanceof AppError && err.status < 500) return null;
      throw err;
    },
  );
}

/** A verification mail for a held sign-in, counted as "send a new mail" is; false when the budget is spent. */
async function mailForHeldSignIn(deps: SignInStepDeps, user: Pick<User, "id" | "email">, lng: Language): Promise<boolean> {
  const limit = await deps.limits.consume("verificationMail", verificationMailKey(user.email));
  if (!limit.allowed) return false;
  await deps.store.transaction((tx) => queueVerificationMail(tx, deps.env, user, lng));
  deps.mailer.kick();
  return true;
}

/**
 * Accepts the login at Hydra and continues the flow (a redirect), or, when the audience requires a
 * verified address the user does not have yet, holds the step on the "check your inbox" page (the
 * pending step is kept in this browser's session, never in the page).
 */
export async function finishSignIn(deps: SignInStepDeps, browser: SignInBrowser, o: SignIn): Promise<Outcome> {
  if (holdsForVerification(o)) {
    const pending = {
      ...heldStepFields(o),
      requireVerified: Boolean(o.requireVerified),
      ...(o.methods ? { methods: [...o.methods] } : {}),
    };
    // A new session id that is not signed in yet: only the held step (a fixation-safe hand-over).
    if (o.startSession) await browser.regenerate({ ...o.keep, pendingLogin: pending }, undefined, !o.remember);
    else {
      browser.session!.pendingLogin = pending;
      await browser.save();
    }
    const mailSent = o.mailWhenHeld ? await mailForHeldSignIn(deps, o.user, o.mailWhenHeld.lng) : true;
    return checkInboxPage({ email: o.user.email, audienceName: o.audience?.displayName ?? null, loginChallenge: o.loginChallenge, mailSent });
  }
  const methods = (o.methods ?? PASSWORD_AMR) as Method[];
  if (o.secondFactor) {
    const step = secondFactorStep({ mfa: o.audience?.mfa ?? "optional", userHasFactor: o.secondFactor.userHasFactor, methods, acrValues: o.secondFactor.acrValues });
    if (step !== "done") return holdForSecondFactor(deps, browser, o, step);
  }
  const strength = strengthOf(methods);
  const accept = () =>
    deps.hydra.acceptLogin(
      o.loginChallenge,
      loginAcceptance({ userId: o.user.id, remember: o.remember, rememberForSeconds: deps.env.LOGIN_REMEMBER_FOR_SECONDS, audienceId: o.audience?.id ?? null, ...strength }),
    );
  // What Hydra's login session reached is kept when it is two factors, and forgotten when a session
  // this browser marked as such is signed in again with less. A password-only sign-in writes nothing.
  const strong = strength.acr === ACR.twoFactors;
  const sid = o.skipped ? undefined : o.loginSessionId;
  const keepStrength = sid && (strong || browser.strongSession(sid)) ? strengthWrites(sid, o.user.id, strong ? strength : null) : [];
  const alongside = keepStrength.length
    ? async (q: Queryable) => {
        await o.alongside?.(q);
        await recordStrength(q, sid!, o.user.id, strong ? strength : null);
      }
    : o.alongside;
  // A remembered sign-in Hydra skipped: its place was seen now (written with the claim, never on its own).
  const seen = o.skipped && o.loginSessionId ? o.loginSessionId : undefined;
  const withSeen = (writes: (q: Queryable) => Promise<void>, loginSessionId: string) => async (q: Queryable) => {
    await writes(q);
    await touchAccountSession(q, loginSessionId, o.user.id);
  };
  // A new session for someone who proved who they are: its place, event and notice ride in its save.
  const record = o.startSession && browser.place ? signInRecord(deps.env, browser.place, { ...o, methods }) : null;
  const recordWrites = record?.writes ?? [];
  let redirectTo: string;
  if (o.startSession && o.sessionWithClaim) {
    // The user proved who they are: the new session, the claim of the challenge and the step's
    // other writes in one statement (a replay writes none of them), then the answer to Hydra.
    await establishSession(browser, o.user.id, {}, { gate: claimGate("login", o.loginChallenge), writes: [...(o.sessionWithClaim.writes ?? []), ...keepStrength, ...recordWrites] }, !o.remember);
    redirectTo = await answerClaimed(deps.store, "login", o.loginChallenge, accept);
  } else {
    const claim = seen ? () => deps.store.claimSkippedSignIn(o.loginChallenge, seen, o.user.id) : undefined;
    redirectTo =
      o.skipped && !alongside
        ? await answerOnceConcurrently(deps.store, "login", o.loginChallenge, accept, claim)
        : await answerOnce(deps.store, "login", o.loginChallenge, accept, seen && alongside ? withSeen(alongside, seen) : alongside);
    if (o.startSession) await establishSession(browser, o.user.id, {}, recordWrites.length ? { writes: recordWrites } : undefined, !o.remember);
    else if (browser.session?.pendingLogin || browser.session?.pendingSecondFactor) {
      delete browser.session.pendingLogin;
      delete browser.session.pendingSecondFactor;
      await browser.save();
    }
  }
  browser.markLoginAnswered(o.loginSessionId);
  if (sid && keepStrength.length) browser.markStrongSession(sid, strong);
  if (record && deps.logger) logActivity(deps.logger, record.event);
  return { kind: "redirect", to: redirectTo };
}
