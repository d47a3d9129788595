// /account's passkeys: register one (the current password first, then the browser's authenticator;
// the options' challenge is bound to this account and this session), rename one, remove one. Adding
// or removing mails a notice and ends the user's other sessions.
import type { RegistrationResponseJSON } from "@simplewebauthn/server";
import { credentialRefusal } from "../decisions/account-settings";
import { msg, type Msg } from "../i18n";
import type { Passkeys } from "../services/passkeys";
import type { Store } from "../services/store";
import { accountPage } from "./account";
import { endOtherSessions, type AccountFactorDeps } from "./account-factors";
import { checkCurrentPassword, signedInUser, type AccountActor, type AccountBrowser } from "./account-settings";
import { queueFactorsChangedMail } from "./factor-mail";
import { recordEvent } from "./activity";
import { page, type Outcome } from "./outcome";

export interface AccountPasskeyDeps extends AccountFactorDeps {
  store: AccountFactorDeps["store"] & Pick<Store, "passkeyCredentials" | "addPasskey" | "renamePasskey" | "removePasskey">;
  passkeys: Pick<Passkeys, "registrationOptions" | "verifyRegistration" | "available">;
}

const bindingOf = (userId: string, sessionId: string) => `register:${userId}:${sessionId}`;

/** The page that asks the browser for a new passkey (its options), and the form that brings its answer. */
function registrationPage(view: { name: string; options: string; error?: Msg; status?: number }): Outcome {
  return page("passkey-register", msg("factors:passkey.registerTitle"), { name: view.name, options: view.options, error: view.error ?? null }, { status: view.status, form: true });
}

/** POST /account/passkeys/begin: the name and the current password, then the browser is asked for a passkey. */
export async function beginPasskeyRegistration(
  deps: AccountPasskeyDeps,
  browser: AccountBrowser,
  input: AccountActor & { sessionId: string; name: string; currentPassword: string },
): Promise<Outcome> {
  const user = await signedInUser(deps, input.userId);
  if (!deps.passkeys.available) return accountPage(deps, input, { status: 409, error: { form: "passkey", message: msg("factors:passkey.unavailable") } });
  const refusal = credentialRefusal(await checkCurrentPassword(deps, browser, { user, ip: input.ip, given: input.currentPassword }));
  if (refusal) return accountPage(deps, input, { status: refusal.status, error: { form: "passkey", message: refusal.message, field: "passkey-password" } });
  const options = await deps.passkeys.registrationOptions(user, bindingOf(user.id, input.sessionId), await deps.store.passkeyCredentials(user.id));
  return registrationPage({ name: input.name, options: JSON.stringify(options) });
}

/** POST /account/passkeys/finish: the browser's new credential is checked and kept. */
export async function finishPasskeyRegistration(
  deps: AccountPasskeyDeps,
  input: AccountActor & { sessionId: string; name: string; response: RegistrationResponseJSON },
): Promise<Outcome> {
  const user = await signedInUser(deps, input.userId);
  const bind = bindingOf(user.id, input.sessionId);
  const created = await deps.passkeys.verifyRegistration(input.response, bind);
  const retry = async (error: Msg, status: number) =>
    registrationPage({ name: input.name, options: JSON.stringify(await deps.passkeys.registrationOptions(user, bind, await deps.store.passkeyCredentials(user.id))), error, status });
  if (!created) return retry(msg("factors:passkey.registerFailed"), 400);
  const added = await deps.store.transaction(async (tx) => {
    if (!(await deps.store.addPasskey(user.id, { ...created, name: input.name }, tx))) return false;
    await queueFactorsChangedMail(tx, user, input.lng, { change: "passkey-added", passkey: input.name }, deps.logger);
    return true;
  });
  if (!added) return retry(msg("factors:passkey.registeredAlready"), 409);
  deps.mailer.kick();
  const partly = await endOtherSessions(deps, user.id, input.sessionId, "passkey_added");
  return { kind: "redirect", to: `/account?done=passkey-added${partly}` };
}

/** POST /account/passkeys/rename: a new name for one of the user's passkeys. */
export async function renamePasskey(deps: Pick<AccountPasskeyDeps, "store" | "logger">, input: { userId: string; id: string; name: string }): Promise<Outcome> {
  const renamed = await deps.store.renamePasskey(input.userId, input.id, input.name);
  if (renamed) await recordEvent(deps, { userId: input.userId, kind: "passkey_renamed", detail: { passkey: input.name } });
  return { kind: "redirect", to: renamed ? "/account?done=passkey-renamed" : "/account?done=passkey-gone" };
}

/** POST /account/passkeys/remove: one passkey goes (after the current password); other sessions end. */
export async function removePasskey(deps: AccountPasskeyDeps, browser: AccountBrowser, input: AccountActor & { sessionId: string; id: string; currentPassword: string }): Promise<Outcome> {
  const user = await signedInUser(deps, input.userId);
  const refusal = credentialRefusal(await checkCurrentPassword(deps, browser, { user, ip: input.ip, given: input.currentPassword }));
  if (refusal) return accountPage(deps, input, { status: refusal.status, error: { form: "passkey", message: refusal.message, field: `remove-passkey-password-${input.id}` } });
  const name = await deps.store.transaction(async (tx) => {
    const removed = await deps.store.removePasskey(user.id, input.id, tx);
    if (removed !== null) await queueFactorsChangedMail(tx, user, input.lng, { change: "passkey-removed", passkey: removed }, deps.logger);
    return removed;
  });
  if (name === null) return { kind: "redirect", to: "/account?done=passkey-gone" };
  deps.mailer.kick();
  const partly = await endOtherSessions(deps, user.id, input.sessionId, "passkey_removed");
  return { kind: "redirect", to: `/account?done=passkey-removed${partly}` };
}
