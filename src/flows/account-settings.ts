// The account page's own forms (the page is account.ts): the name; the password (other sessions
// end, this browser stays signed in); sign out everywhere; delete the account. The email address
// has its own module (email-change.ts). Each form that changes a credential asks for the current
// password, counted like a sign-in.
import { credentialRefusal, decidePasswordChange, splitName, type CredentialCheck } from "../decisions/account-settings";
import { AppError } from "../errors";
import { msg, type Language } from "../i18n";
import type { Logger } from "../logger";
import type { Hydra } from "../services/hydra";
import type { Limits } from "../services/limits";
import type { Mailer } from "../services/mail";
import { queuePasswordChangedMail } from "./mail-links";
import { hashPassword, passwordProblem, personalInputs, verifyPassword } from "../services/passwords";
import type { Store, User } from "../services/store";
import { accountPage, type AccountDeps } from "./account";
import { deleteUserEverywhere, DeleteUserError, endUserAccess, EndUserAccessError } from "./credential-change";
import { page, type Outcome } from "./outcome";
import type { SessionPort } from "./session";
import { recordEvent } from "./activity";

export interface AccountSettingsDeps {
  store: AccountDeps["store"] &
    Pick<Store, "setName" | "transaction" | "setPasswordHash" | "endUserSessions" | "endUserSessionsExcept" | "setDisabled" | "restoreDisabled" | "deleteUser" | "recordActivity">;
  hydra: Pick<Hydra, "revokeLoginSessions" | "revokeConsentSessions">;
  limits: Pick<Limits, "consumeSignIn" | "settleSignIn">;
  mailer: Pick<Mailer, "kick">;
  logger: Pick<Logger, "info" | "warn" | "error">;
}

/** The signed-in browser as the forms see it: its device cookie (which counters a password check counts against). */
export interface AccountBrowser {
  trustedDevice(emailNormalized: string): string | null;
}

/** Who is changing their account, from where, in which language. */
export interface AccountActor {
  userId: string;
  ip: string;
  lng: Language;
  /** This browser's app session (the account page marks its own sign-in). */
  sessionId?: string;
}

export async function signedInUser(deps: { store: Pick<Store, "getUser"> }, userId: string): Promise<User> {
  const user = await deps.store.getUser(userId);
  if (!user) throw new AppError(401, "not_signed_in", msg("account:signIn.accountGone"), { title: msg("account:signIn.notSignedIn") });
  return user;
}

/**
 * Checks the current password typed into an account form, counted against the same limits as a
 * sign-in (this browser's device counter, else per IP and account): a stolen session cannot be
 * used to guess the password. A right password takes its attempt back.
 */
export async function checkCurrentPassword(
  deps: Pick<AccountSettingsDeps, "limits" | "logger">,
  browser: AccountBrowser,
  input: { user: User; ip: string; given: string },
): Promise<CredentialCheck> {
  const { user } = input;
  const device = browser.trustedDevice(user.emailNormalized);
  const count = await deps.limits.consumeSignIn({ ip: input.ip, emailNormalized: user.emailNormalized, device });
  if (!count.allowed) {
    deps.logger.warn({ event: "account_password_throttled", subject: user.id, limit: count.refusedBy }, "account password check throttled");
    return { throttledForSeconds: count.retryAfterSeconds };
  }
  if (!(await verifyPassword(user.passwordHash, input.given))) {
    deps.logger.info({ event: "account_password_wrong", subject: user.id }, "account action refused: wrong current password");
    return "wrong";
  }
  await deps.limits.settleSignIn(count.counted);
  return "right";
}

export async function changeName(deps: Pick<AccountSettingsDeps, "store" | "logger">, input: { userId: string; name: string }): Promise<Outcome> {
  await deps.store.setName(input.userId, splitName(input.name));
  deps.logger.info({ event: "account_name_changed", subject: input.userId }, "name changed");
  return { kind: "redirect", to: "/account?done=name" };
}

/** A new password; every other session ends (this one, `sessionId`, stays). */
export async function changePassword(
  deps: AccountSettingsDeps,
  browser: AccountBrowser,
  input: AccountActor & { sessionId: string; currentPassword: string; newPassword: string },
): Promise<Outcome> {
  const { store, logger } = deps;
  const user = await signedInUser(deps, input.userId);
  const current = await checkCurrentPassword(deps, browser, { user, ip: input.ip, given: input.currentPassword });
  const decision = decidePasswordChange({
    current,
    strengthProblem: current === "right" ? passwordProblem(input.newPassword, personalInputs(user.email, user.name ?? ""), input.lng) : null,
    sameAsCurrent: current === "right" && input.newPassword === input.currentPassword,
  });
  if (decision.kind === "refuse") {
    const field = decision.field === "new_password" ? "new-password" : "current-password";
    return accountPage(deps, input, { status: decision.status, error: { form: "password", message: decision.message, field } });
  }

  const passwordHash = await hashPassword(input.newPassword);
  await store.transaction(async (tx) => {
    await store.setPasswordHash(tx, user.id, passwordHash);
    await queuePasswordChangedMail(tx, user, input.lng, "account", logger);
  });
  deps.mailer.kick();
  // Every other session ends: Hydra's login sessions (remembered browsers) and the app sessions
  // but this browser's. Tokens already given to applications are kept (revoke them below).
  let done = "password";
  try {
    const ended = await endUserAccess({ store, hydra: deps.hydra, userId: user.id, revokeTokens: false, keepSessionId: input.sessionId });
    logger.info({ event: "account_password_changed", subject: user.id, appSessionsEnded: ended.appSessions }, "password changed");
  } catch (err) {
    if (!(err instanceof EndUserAccessError)) throw err;
    logger.error({ event: "account_password_changed_partly", subject: user.id, failures: err.failures }, "password changed, other sessions not all ended");
    done = "password-partly";
  }
  return { kind: "redirect", to: `/account?done=${done}` };
}

/** Ends every session of the user, this browser's last. */
export async function signOutEverywhere(deps: Pick<AccountSettingsDeps, "store" | "hydra" | "logger">, browser: Pick<SessionPort, "destroy">, userId: string): Promise<Outcome> {
  let failures: string[] = [];
  let appSessions = 0;
  try {
    appSessions = (await endUserAccess({ store: deps.store, hydra: deps.hydra, userId, revokeTokens: false })).appSessions;
  } catch (err) {
    if (!(err instanceof EndUserAccessError)) throw err;
    failures = err.failures;
    appSessions = err.ended.appSessions;
  }
  await recordEvent(deps, { userId, kind: "signed_out_everywhere" });
  await browser.destroy();
  deps.logger.info({ event: "account_signed_out_everywhere", subject: userId, appSessions, failures }, "signed out everywhere");
  if (failures.length) return page("message", msg("account:everywhere.failedTitle"), { message: msg("account:everywhere.failed") }, { status: 503 });
  return page("message", msg("account:everywhere.title"), { message: msg("account:everywhere.done", { count: appSessions }) });
}

/** Deletes the account everywhere (after the current password), then this browser's session. */
export async function deleteAccount(
  deps: AccountSettingsDeps,
  browser: AccountBrowser & Pick<SessionPort, "destroy">,
  input: AccountActor & { currentPassword: string },
): Promise<Outcome> {
  const user = await signedInUser(deps, input.userId);
  const refused = credentialRefusal(await checkCurrentPassword(deps, browser, { user, ip: input.ip, given: input.currentPassword }), msg("account:notChanged.delete"));
  if (refused) return accountPage(deps, input, { status: refused.status, error: { form: "delete", message: refused.message, field: "delete-password" } });
  let deleted;
  try {
    deleted = await deleteUserEverywhere({ store: deps.store, hydra: deps.hydra, userId: user.id });
  } catch (err) {
    if (!(err instanceof DeleteUserError)) throw err;
    deps.logger.error({ event: "account_delete_failed", subject: user.id, failures: err.failures }, "account not deleted");
    return accountPage(deps, input, { status: 503, error: { form: "delete", message: msg("account:delete.unavailable"), field: "delete-password" } });
  }
  await browser.destroy();
  deps.logger.info({ event: "account_deleted", subject: user.id, by: "self", ...deleted }, "account deleted");
  return page("message", msg("account:delete.title"), { message: msg("account:delete.done", { email: user.email }) });
}
