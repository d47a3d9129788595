// /account's second factor: setting up an authenticator (its QR code, confirmed by a first code and
// the current password), new recovery codes, and removing it. Each asks for the current password
// (counted like a sign-in), mails a notice, and a change of the factor ends the user's other sessions.
import { credentialRefusal } from "../decisions/account-settings";
import { msg, type Msg } from "../i18n";
import type { Env } from "../config/env";
import type { Factors } from "../services/factors";
import type { Store } from "../services/store";
import { accountPage } from "./account";
import { checkCurrentPassword, signedInUser, type AccountActor, type AccountBrowser, type AccountSettingsDeps } from "./account-settings";
import { endUserAccess, EndUserAccessError } from "./credential-change";
import { confirmEnrolment, queueFactorsChangedMail } from "./factor-mail";
import type { Outcome } from "./outcome";
import { enrolmentPage, recoveryCodesPage } from "./second-factor-hold";

export interface AccountFactorDeps extends AccountSettingsDeps {
  env: Pick<Env, "BRAND_PRODUCT_NAME">;
  store: AccountSettingsDeps["store"] & Pick<Store, "startTotp" | "getTotp" | "acceptTotpStep" | "replaceRecoveryCodes" | "removeSecondFactors" | "secondFactors">;
  factors: Factors;
}

const SETUP_ACTION = "/account/second-factor/setup";

/** POST /account/second-factor/start: a new authenticator secret and its set-up page. */
export async function startAccountEnrolment(deps: AccountFactorDeps, input: { userId: string }): Promise<Outcome> {
  const user = await signedInUser(deps, input.userId);
  const enrolment = await deps.factors.enrolment(user, deps.env.BRAND_PRODUCT_NAME);
  if (!(await deps.store.startTotp(user.id, enrolment.sealedSecret))) return { kind: "redirect", to: "/account" };
  return enrolmentPage({ action: SETUP_ACTION, qr: enrolment.qr, secret: enrolment.secret, askPassword: true });
}

/** Ends the user's other sessions after a factor changed; the notice to show. */
export async function endOtherSessions(deps: AccountFactorDeps, userId: string, sessionId: string, event: string): Promise<string> {
  try {
    const ended = await endUserAccess({ store: deps.store, hydra: deps.hydra, userId, revokeTokens: false, keepSessionId: sessionId });
    deps.logger.info({ event, subject: userId, appSessionsEnded: ended.appSessions }, "second factor changed");
    return "";
  } catch (err) {
    if (!(err instanceof EndUserAccessError)) throw err;
    deps.logger.error({ event: `${event}_partly`, subject: userId, failures: err.failures }, "second factor changed, other sessions not all ended");
    return "-partly";
  }
}

/** POST /account/second-factor/setup: the first code and the current password turn the authenticator on. */
export async function confirmAccountEnrolment(
  deps: AccountFactorDeps,
  browser: AccountBrowser,
  input: AccountActor & { sessionId: string; code: string; currentPassword: string },
): Promise<Outcome> {
  const user = await signedInUser(deps, input.userId);
  const totp = await deps.store.getTotp(user.id);
  if (!totp || totp.confirmed) return { kind: "redirect", to: "/account" };
  const again = async (error: Msg, status: number, errorField?: "password") =>
    enrolmentPage({ action: SETUP_ACTION, ...(await deps.factors.shown(user, deps.env.BRAND_PRODUCT_NAME, totp.sealedSecret)), askPassword: true, error, errorField, status });
  const refusal = credentialRefusal(await checkCurrentPassword(deps, browser, { user, ip: input.ip, given: input.currentPassword }));
  if (refusal) return again(refusal.message, refusal.status, "password");
  const step = deps.factors.checkCode(user.id, totp.sealedSecret, input.code, totp.lastStep);
  if (step === null) return again(msg("factors:error.wrongCode"), 400);
  const codes = await confirmEnrolment(deps, user, step, { language: () => input.lng });
  if (!codes) return { kind: "redirect", to: "/account" };
  const partly = await endOtherSessions(deps, user.id, input.sessionId, "second_factor_added");
  return recoveryCodesPage({ codes, action: `/account?done=factor-added${partly}`, heading: "new" });
}

/** POST /account/second-factor/recovery-codes: ten new codes replace the old ones. */
export async function replaceRecoveryCodes(deps: AccountFactorDeps, browser: AccountBrowser, input: AccountActor & { currentPassword: string }): Promise<Outcome> {
  const user = await signedInUser(deps, input.userId);
  const refusal = credentialRefusal(await checkCurrentPassword(deps, browser, { user, ip: input.ip, given: input.currentPassword }));
  if (refusal) return accountPage(deps, input, { status: refusal.status, error: { form: "factor", message: refusal.message, field: "codes-password" } });
  const factors = await deps.store.secondFactors(user.id);
  if (!factors.totp?.confirmed) return { kind: "redirect", to: "/account" };
  const { codes, hashes } = deps.factors.newRecoveryCodes(user.id);
  await deps.store.transaction(async (tx) => {
    await deps.store.replaceRecoveryCodes(user.id, hashes, tx);
    await queueFactorsChangedMail(tx, user, input.lng, { change: "codes-replaced" }, deps.logger);
  });
  deps.mailer.kick();
  deps.logger.info({ event: "recovery_codes_replaced", subject: user.id }, "recovery codes replaced");
  return recoveryCodesPage({ codes, action: "/account", heading: "replaced" });
}

/** POST /account/second-factor/remove: the authenticator and its recovery codes go; other sessions end. */
export async function removeAccountFactor(deps: AccountFactorDeps, browser: AccountBrowser, input: AccountActor & { sessionId: string; currentPassword: string }): Promise<Outcome> {
  const user = await signedInUser(deps, input.userId);
  const refusal = credentialRefusal(await checkCurrentPassword(deps, browser, { user, ip: input.ip, given: input.currentPassword }));
  if (refusal) return accountPage(deps, input, { status: refusal.status, error: { form: "factor", message: refusal.message, field: "remove-factor-password" } });
  const had = await deps.store.transaction(async (tx) => {
    const removed = await deps.store.removeSecondFactors(user.id, tx);
    if (removed) await queueFactorsChangedMail(tx, user, input.lng, { change: "removed" }, deps.logger);
    return removed;
  });
  if (!had) return { kind: "redirect", to: "/account?done=factor-none" };
  deps.mailer.kick();
  const partly = await endOtherSessions(deps, user.id, input.sessionId, "second_factor_removed");
  return { kind: "redirect", to: `/account?done=factor-removed${partly}` };
}
