// Confirming an email address with the link or the short code from the mail, and asking for a new
// mail. A link is proof of access to the mailbox (it works in any browser that is not signed in as
// somebody else), never of who the browser is: the sign-in held for the address goes on only in the
// browser whose session holds it. A code is typed where the user is signing in, so it needs that
// browser's session (its signed-in user or its login step held for verification).
import type { Env } from "../config/env";
import { AppError } from "../errors";
import { msg, type Language, type Msg } from "../i18n";
import type { Logger } from "../logger";
import type { Limits } from "../services/limits";
import type { Mailer } from "../services/mail";
import { MAX_CODE_ATTEMPTS, normalizeEmail, type Store } from "../services/store";
import { queueAccountExistsMail, queueVerificationMail } from "./mail-links";
import { page, retryAfter, type BrowserSession, type Outcome } from "./outcome";
import type { AppSession } from "./session";
import { challengeDigest, checkInboxPage, verificationMailKey } from "./sign-in-step";

export interface VerificationDeps {
  env: Pick<Env, "APP_BASE_URL" | "EMAIL_VERIFICATION_TTL_SECONDS">;
  store: Pick<Store, "getUser" | "findUserByEmail" | "lookupOneTimeToken" | "useOneTimeToken" | "markEmailVerified" | "useCode" | "transaction">;
  limits: Pick<Limits, "consume">;
  mailer: Pick<Mailer, "kick">;
  logger: Pick<Logger, "info">;
}

/**
 * After a confirmation: the page, or first the sign-in held for this address in this browser (the
 * sign-in flow resumes it). `otherwise`: the page when it cannot go on (expired, answered
 * elsewhere); null: it must go on, its refusal is the answer.
 */
export type VerificationDone = Outcome | { kind: "resume-sign-in"; loginChallenge: string; otherwise: Outcome | null };

const WRONG_CODE = msg("verification:code.wrong");
const TOO_MANY_CODES = msg("verification:code.tooMany");
const LINK_PROBLEMS = { unknown: 404, used: 410, expired: 410 } as const;
const TITLE = msg("verification:title");

function linkProblem(status: keyof typeof LINK_PROBLEMS): AppError {
  return new AppError(LINK_PROBLEMS[status], `verification_${status}`, msg(`verification:link.${status}`), { title: TITLE });
}
const notSignedIn = (key: string) => new AppError(401, "not_signed_in", msg(key), { title: msg("verification:notSignedIn.title") });
const verified = (email: string) => page("verified", msg("verification:verified.title"), { email });

/** Whose address this browser is confirming by code: its login step held for verification, else its signed-in user. */
function browserUserId(session: AppSession, loginChallenge: string | undefined): string | undefined {
  const pending = session.pendingLogin;
  if (pending && (!loginChallenge || pending.challenge === challengeDigest(loginChallenge))) return pending.userId;
  return session.userId;
}

/** The held step of a sign-up with an address that already has an account (flows/registration.ts). */
function decoyOf(session: AppSession, loginChallenge: string | undefined) {
  const pending = session.pendingLogin;
  return pending?.decoy && loginChallenge && pending.challenge === challengeDigest(loginChallenge) ? pending.decoy : null;
}

/** The "check your inbox" page. */
async function inboxPage(
  deps: Pick<VerificationDeps, "store">,
  session: AppSession,
  userId: string | undefined,
  loginChallenge: string | undefined,
  extra: { notice?: Msg; error?: Msg; status?: number },
): Promise<Outcome> {
  const decoy = decoyOf(session, loginChallenge);
  const email = decoy ? decoy.email : userId ? (await deps.store.getUser(userId))?.email : undefined;
  if (!email) throw notSignedIn("verification:notSignedIn.accountGone");
  return checkInboxPage({ email, audienceName: null, loginChallenge: loginChallenge ?? null, ...extra });
}

/** The link from the mail: a page that confirms with a click (mail scanners that open links must not use them up). */
export async function linkPage(deps: Pick<VerificationDeps, "store">, session: AppSession, token: string | undefined): Promise<Outcome> {
  if (!token) {
    const userId = browserUserId(session, undefined);
    if (!userId) throw new AppError(400, "no_verification", msg("verification:noVerification"), { title: TITLE });
    return inboxPage(deps, session, userId, undefined, {});
  }
  const found = await deps.store.lookupOneTimeToken("VERIFY_EMAIL", token);
  if (found.status !== "valid") throw linkProblem(found.status);
  if (session.userId && session.userId !== found.token.userId) {
    throw new AppError(403, "verification_other_account", msg("verification:otherAccount.open"), { title: TITLE });
  }
  return page("verify-confirm", TITLE, { token, email: found.token.email }, { form: true });
}

/** The click on the link's page: the address is confirmed. */
export async function confirmLink(deps: VerificationDeps, session: AppSession, token: string): Promise<VerificationDone> {
  const { store } = deps;
  const found = await store.lookupOneTimeToken("VERIFY_EMAIL", token);
  if (found.status === "valid" && session.userId && session.userId !== found.token.userId) {
    throw new AppError(403, "verification_other_account", msg("verification:otherAccount.confirm"), { title: TITLE });
  }
  const used = await store.transaction(async (tx) => {
    const t = await store.useOneTimeToken(tx, "VERIFY_EMAIL", token);
    return t && (await store.markEmailVerified(tx, t.userId, t.email)) ? t : null;
  });
  if (!used) throw linkProblem(found.status === "valid" ? "used" : found.status);
  deps.logger.info({ event: "email_verified", subject: used.userId, via: "link" }, "email address verified");
  // Confirmed in the browser that waits on "check your inbox" for this account: the sign-in goes on
  // here, as "I confirmed it, continue" would. When it cannot (the flow expired or went on
  // elsewhere), the address is confirmed all the same and the page says so.
  const held = session.pendingLogin;
  if (held?.loginChallenge && held.userId === used.userId) return { kind: "resume-sign-in", loginChallenge: held.loginChallenge, otherwise: verified(used.email) };
  return verified(used.email);
}

/** The short code typed on "check your inbox". */
export async function confirmCode(
  deps: VerificationDeps,
  input: { code: string; loginChallenge?: string; ip: string; session: BrowserSession<AppSession> },
): Promise<VerificationDone> {
  const { store } = deps;
  const session = input.session.data;
  const userId = browserUserId(session, input.loginChallenge);
  const decoy = decoyOf(session, input.loginChallenge);
  if (!userId && !decoy) throw notSignedIn("verification:notSignedIn.code");
  const again = (extra: { error: Msg; status: number }) => inboxPage(deps, session, userId, input.loginChallenge, extra);
  if (!/^\d{6}$/.test(input.code)) return again({ status: 400, error: msg("verification:code.format") });
  const address = decoy ? decoy.email : userId ? (await store.getUser(userId))?.email : undefined;
  if (!address) throw notSignedIn("verification:notSignedIn.accountGone");
  // Counted for the address and the client's IP, never for the account: an account deleted and made
  // again starts no new budget of guesses. The same for an address that has an account (the decoy).
  for (const [kind, key] of [["verificationCodeIp", input.ip], ["verificationCodeAddress", normalizeEmail(address)]] as const) {
    const limit = await deps.limits.consume(kind, key);
    if (!limit.allowed) {
      const error = msg("verification:code.tooManyTries", { count: Math.max(1, Math.ceil(limit.retryAfterSeconds / 60)) });
      return retryAfter(await again({ status: 429, error }), limit.retryAfterSeconds);
    }
  }
  if (decoy) {
    // Answers exactly as a wrong code for a new account would: there is nothing to verify here.
    decoy.codeTries++;
    await input.session.save();
    return again({ status: 400, error: decoy.codeTries >= MAX_CODE_ATTEMPTS ? TOO_MANY_CODES : WRONG_CODE });
  }
  if (!userId) throw notSignedIn("verification:notSignedIn.code");
  const result = await store.useCode("VERIFY_EMAIL", userId, input.code);
  if (result.status !== "ok") {
    return again({ status: 400, error: result.status === "wrong" ? WRONG_CODE : result.status === "locked" ? TOO_MANY_CODES : msg("verification:code.none") });
  }
  await store.transaction((tx) => store.markEmailVerified(tx, userId, result.email));
  deps.logger.info({ event: "email_verified", subject: userId, via: "code" }, "email address verified");
  if (input.loginChallenge && session.pendingLogin?.userId === userId) return { kind: "resume-sign-in", loginChallenge: input.loginChallenge, otherwise: null };
  return verified(result.email);
}

/** "Send a new mail", within the address's mail budget. */
export async function resendMail(deps: VerificationDeps, input: { loginChallenge?: string; lng: Language; session: AppSession }): Promise<Outcome> {
  const { store } = deps;
  const { session, loginChallenge } = input;
  const userId = browserUserId(session, loginChallenge);
  const decoy = decoyOf(session, loginChallenge);
  if (!userId && !decoy) throw notSignedIn("verification:notSignedIn.resend");
  const user = decoy ? null : await store.getUser(userId!);
  if (!decoy && !user) throw notSignedIn("verification:notSignedIn.accountGone");
  const inbox = (extra: { notice?: Msg; error?: Msg; status?: number }) => inboxPage(deps, session, userId, loginChallenge, extra);
  // Per address, as the codes: a new account for the address gets no new budget of mails.
  const limit = await deps.limits.consume("verificationMail", verificationMailKey(decoy ? decoy.email : user!.email));
  if (!limit.allowed) return retryAfter(await inbox({ status: 429, error: msg("verification:resend.tooMany") }), limit.retryAfterSeconds);
  if (decoy) {
    // The address's owner hears that someone tried; the page says what it says for a new account.
    const owner = await store.findUserByEmail(decoy.email);
    if (owner) await store.transaction((tx) => queueAccountExistsMail(tx, deps.env, owner, input.lng));
    deps.mailer.kick();
    return inbox({ notice: msg("verification:resend.sent", { email: decoy.email }) });
  }
  if (!user) throw notSignedIn("verification:notSignedIn.accountGone");
  if (user.emailVerified) return inbox({ notice: msg("verification:resend.alreadyConfirmed") });
  await store.transaction((tx) => queueVerificationMail(tx, deps.env, user, input.lng));
  deps.mailer.kick();
  return inbox({ notice: msg("verification:resend.sent", { email: user.email }) });
}
