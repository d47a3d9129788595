// "Forgot password?": a single-use, hashed link by mail, and the reset it leads to. The request
// answers the same, in about the same time, whether or not the address has an account. The reset
// obeys the sign-up password rules and ends every session and token of the user; on an account
// nobody had confirmed the address of, the mailbox's owner takes it over without what its maker
// typed or allowed. When the recovery began inside an OAuth flow in this browser, the route goes on
// with that flow, signed in.
import type { Env } from "../config/env";
import { AppError, tooManyAttempts } from "../errors";
import { msg, type Language, type Msg } from "../i18n";
import type { Logger } from "../logger";
import type { Hydra } from "../services/hydra";
import type { Limits } from "../services/limits";
import type { Mailer } from "../services/mail";
import { hashPassword, passwordProblem, personalInputs, PASSWORD_MIN_LENGTH } from "../services/passwords";
import { normalizeEmail, type Store, type User } from "../services/store";
import { endUserAccess, EndUserAccessError } from "./credential-change";
import { queuePasswordChangedMail, queueRecoveryMail } from "./mail-links";
import { page, type BrowserSession, type Outcome } from "./outcome";

export interface RecoveryDeps {
  env: Pick<Env, "APP_BASE_URL" | "RECOVERY_TTL_SECONDS">;
  store: Pick<
    Store,
    "findUserByEmail" | "transaction" | "lookupOneTimeToken" | "getUser" | "useOneTimeToken" | "setPasswordHash" | "clearUnconfirmedAccount" | "markEmailVerified" | "endUserSessions" | "endUserSessionsExcept"
  >;
  hydra: Pick<Hydra, "revokeLoginSessions" | "revokeConsentSessions">;
  limits: Pick<Limits, "consume">;
  mailer: Pick<Mailer, "kick">;
  logger: Pick<Logger, "info" | "error">;
}

/** What this browser's session keeps for a recovery begun inside an OAuth flow. */
export interface RecoverySession {
  recoveryFlow?: { challenge: string; email: string };
}

/** The request answers after at least this long either way, so its timing says nothing. */
const MIN_ANSWER_MS = 400;
const LINK_PROBLEMS = { unknown: 404, used: 410, expired: 410 } as const;

/** "Back to sign-in": the sign-in step the recovery began in, else the account page (it asks to sign in). */
export const signInHref = (loginChallenge: string | undefined) => (loginChallenge ? `/login?login_challenge=${encodeURIComponent(loginChallenge)}` : "/account");

/** How long a recovery link works, in whole minutes (pages say it). */
const linkMinutes = (env: Pick<Env, "RECOVERY_TTL_SECONDS">) => Math.max(1, Math.round(env.RECOVERY_TTL_SECONDS / 60));

function linkProblem(env: Pick<Env, "RECOVERY_TTL_SECONDS">, status: keyof typeof LINK_PROBLEMS): AppError {
  return new AppError(LINK_PROBLEMS[status], `recovery_${status}`, msg(`recovery:link.${status}`, { count: linkMinutes(env) }), { title: msg("recovery:title") });
}

/** The form that asks for the address. */
export function requestForm(input: { loginChallenge?: string; email?: string; error?: Msg; status?: number }): Outcome {
  const { loginChallenge, email = "", error = null, status } = input;
  return page("recovery", msg("recovery:title"), { email, challenge: loginChallenge ?? null, error, signInHref: signInHref(loginChallenge) }, { status, form: true });
}

/** Mails a link to the address when it has an account (within the limits); the answer is the same either way. */
export async function requestLink(
  deps: RecoveryDeps,
  input: { email: string; loginChallenge?: string; ip: string; lng: Language; session: BrowserSession<RecoverySession> },
): Promise<Outcome> {
  const started = Date.now();
  const byIp = await deps.limits.consume("recoveryIp", input.ip);
  if (!byIp.allowed) throw tooManyAttempts(msg("recovery:request.tooMany"), byIp.retryAfterSeconds);
  const email = normalizeEmail(input.email);
  // Past the per-address limit nothing is sent, but the answer stays the same.
  const byAddress = await deps.limits.consume("recoveryAddress", email);
  const user = byAddress.allowed ? await deps.store.findUserByEmail(email) : null;
  if (user && !user.disabledAt) {
    await deps.store.transaction((tx) => queueRecoveryMail(tx, deps.env, user, input.lng));
    deps.mailer.kick();
    deps.logger.info({ event: "recovery_requested", subject: user.id }, "password recovery mail queued");
  }
  if (input.loginChallenge) {
    input.session.data.recoveryFlow = { challenge: input.loginChallenge, email };
    await input.session.save();
  }
  const wait = MIN_ANSWER_MS - (Date.now() - started);
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  return page("recovery-sent", msg("recovery:sent.title"), { email: input.email, minutes: linkMinutes(deps.env), signInHref: signInHref(input.loginChallenge) });
}

/** The reset form a valid link opens. */
export async function resetForm(deps: Pick<RecoveryDeps, "env" | "store">, token: string, extra: { error?: Msg; status?: number } = {}): Promise<Outcome> {
  const found = await deps.store.lookupOneTimeToken("RECOVERY", token);
  if (found.status !== "valid") throw linkProblem(deps.env, found.status);
  return page("recovery-reset", msg("recovery:reset.title"), { token, email: found.token.email, passwordMinLength: PASSWORD_MIN_LENGTH, error: extra.error ?? null }, { status: extra.status, form: true });
}

/** After a reset: the page to show, or first the OAuth flow the recovery began in (then the page when it cannot go on). */
export type ResetDone = Outcome | { kind: "continue-sign-in"; loginChallenge: string; user: User; otherwise: Outcome };

/** Sets the new password and ends every session and token of the user. */
export async function resetPassword(
  deps: RecoveryDeps,
  input: { token: string; password: string; lng: Language; session: BrowserSession<RecoverySession> },
): Promise<ResetDone> {
  const found = await deps.store.lookupOneTimeToken("RECOVERY", input.token);
  if (found.status !== "valid") throw linkProblem(deps.env, found.status);
  const user = await deps.store.getUser(found.token.userId);
  if (!user || user.disabledAt) throw linkProblem(deps.env, "unknown");
  const weak = passwordProblem(input.password, personalInputs(user.email, user.name ?? ""), input.lng);
  if (weak) return resetForm(deps, input.token, { error: weak, status: 400 });

  const passwordHash = await hashPassword(input.password);
  // Someone who resets a password by mail may fear a compromise: every session and every token ends.
  // Hydra first: if it cannot be reached nothing changes, and the link still works for a retry.
  await deps.hydra.revokeLoginSessions(user.id);
  await deps.hydra.revokeConsentSessions(user.id);
  // Nobody had confirmed the address: whoever made the account may not own the mailbox (a
  // pre-account takeover). The mailbox's owner takes it over, without what its maker typed or allowed.
  const takenOver = !user.emailVerified;
  const changed = await deps.store.transaction(async (tx) => {
    const used = await deps.store.useOneTimeToken(tx, "RECOVERY", input.token);
    if (!used) return false;
    await deps.store.setPasswordHash(tx, user.id, passwordHash);
    if (takenOver) await deps.store.clearUnconfirmedAccount(tx, user.id);
    // The link reached the mailbox: the address is verified too (when it is still the account's).
    await deps.store.markEmailVerified(tx, user.id, used.email);
    await queuePasswordChangedMail(tx, user, input.lng, "recovery", deps.logger);
    return true;
  });
  if (!changed) throw linkProblem(deps.env, "used");
  deps.mailer.kick();
  try {
    // Again after the change: a session or token made in between ends too.
    await endUserAccess({ store: deps.store, hydra: deps.hydra, userId: user.id, revokeTokens: true });
  } catch (err) {
    if (!(err instanceof EndUserAccessError)) throw err;
    deps.logger.error({ event: "recovery_sessions", subject: user.id, failures: err.failures }, "password reset, but not every session ended");
  }
  deps.logger.info({ event: "password_reset", subject: user.id, takenOver }, "password reset by recovery link");

  const flow = input.session.data.recoveryFlow;
  const inFlow = flow && flow.email === normalizeEmail(user.email) ? flow.challenge : undefined;
  if (takenOver) {
    // Said before anything goes on: the account's earlier details and permissions are gone.
    return page("message", msg("recovery:changed.title"), { message: msg("recovery:changed.takenOver"), link: { href: signInHref(inFlow), label: msg("recovery:sent.backToSignIn") } });
  }
  const done = page("message", msg("recovery:changed.title"), { message: msg("recovery:changed.message") });
  // Began inside an OAuth flow in this browser, for this account: it goes on, signed in.
  return inFlow ? { kind: "continue-sign-in", loginChallenge: inFlow, user, otherwise: done } : done;
}
