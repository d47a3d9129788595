// Signing in with a passkey alone: a discoverable credential with user verification (possession of
// the authenticator and its PIN or biometric: two factors, acr aal2). The login form carries the
// options (a challenge bound to the login challenge, services/passkeys.ts); the browser's answer
// names the credential, whose owner is signed in. Like the password form, the step ends in
// sign-in-step.ts.
import type { AuthenticationResponseJSON } from "@simplewebauthn/server";
import { uiLocalesOf } from "../decisions/login";
import { acrValuesOf } from "../decisions/second-factor";
import { msg, type Msg } from "../i18n";
import type { Logger } from "../logger";
import type { Metrics } from "../services/metrics";
import type { Passkeys } from "../services/passkeys";
import type { PasskeyRow, Store } from "../services/store";
import { ensureNotHandled, withRestartLink } from "./challenges";
import type { Outcome } from "./outcome";
import type { PageLook } from "./page";
import { loginPasskeyBinding, signInForm, type SignInDeps } from "./sign-in";
import { finishSignIn, type SignInBrowser } from "./sign-in-step";
import type { PasswordBrowser } from "./sign-in-password";

export interface PasskeySignInDeps extends SignInDeps {
  store: SignInDeps["store"] & Pick<Store, "findPasskey" | "usePasskey">;
  passkeys: SignInDeps["passkeys"] & Pick<Passkeys, "verifyAuthentication">;
  logger: Pick<Logger, "info" | "warn">;
  metrics: Pick<Metrics, "signIns">;
}



/** The amr of a passkey: hardware-bound (hwk) or synced (swk), with user verification (RFC 8176). */
export const passkeyMethods = (p: Pick<PasskeyRow, "deviceType">) => [p.deviceType === "multiDevice" ? "swk" : "hwk", "user"];

/**
 * Checks a passkey's answer for this binding: the credential (its owner) and its new counter
 * recorded, or the reason it is refused.
 */
export async function checkPasskey(
  deps: { store: Pick<Store, "findPasskey" | "usePasskey">; passkeys: Pick<Passkeys, "verifyAuthentication">; logger: Pick<Logger, "warn"> },
  response: AuthenticationResponseJSON,
  bind: string,
): Promise<{ passkey: PasskeyRow } | { refused: Msg }> {
  const passkey = await deps.store.findPasskey(response.id);
  if (!passkey) return { refused: msg("factors:passkey.unknown") };
  const counter = await deps.passkeys.verifyAuthentication(response, bind, passkey);
  if (counter === null) return { refused: msg("factors:passkey.failed") };
  if (!(await deps.store.usePasskey(passkey.id, counter))) {
    // The counter went back: a copy of the authenticator may be in use.
    deps.logger.warn({ event: "passkey_counter_regressed", subject: passkey.userId }, "passkey refused: its counter did not go up");
    return { refused: msg("factors:passkey.failed") };
  }
  return { passkey };
}

/** POST /login/passkey: the login form's passkey answer signs its owner in. */
export async function signInWithPasskey(
  deps: PasskeySignInDeps,
  look: PageLook,
  browser: SignInBrowser & Pick<PasswordBrowser, "trustedDevice" | "rememberDevice">,
  input: { loginChallenge: string; response: AuthenticationResponseJSON; remember: boolean },
): Promise<Outcome> {
  const loginRequest = await deps.hydra.getLoginRequest(input.loginChallenge);
  look.followUiLocales(uiLocalesOf(loginRequest));
  await ensureNotHandled(deps.store, "login", input.loginChallenge, { requestUrl: loginRequest.request_url });
  const refuse = (status: number, error: Msg) =>
    signInForm(deps, look, { loginRequest, invitationPending: Boolean(browser.session?.invitationCode) }, { status, error, remember: input.remember });
  const checked = await checkPasskey(deps, input.response, loginPasskeyBinding(input.loginChallenge));
  if ("refused" in checked) {
    deps.logger.info({ event: "login_failed", method: "passkey", client: loginRequest.client.client_id }, "passkey sign-in refused");
    deps.metrics.signIns.inc({ outcome: "incorrect" });
    return refuse(401, checked.refused);
  }
  const user = await deps.store.getUser(checked.passkey.userId);
  if (!user) return refuse(401, msg("factors:passkey.unknown"));
  if (user.disabledAt) return refuse(403, msg("login:error.disabled"));
  const membership = await deps.store.getClientMembership(loginRequest.client.client_id ?? "");
  // A passkey proves the person as a password does: this browser gets (or keeps) the account's device token.
  const device = browser.trustedDevice(user.emailNormalized);
  browser.rememberDevice(user.emailNormalized, device);
  const done = await finishSignIn(deps, browser, {
    loginChallenge: input.loginChallenge,
    loginSessionId: loginRequest.session_id,
    user,
    audience: membership?.audience ?? null,
    remember: input.remember,
    startSession: true,
    mailWhenHeld: { lng: look.language() },
    methods: passkeyMethods(checked.passkey),
    secondFactor: { userHasFactor: true, acrValues: acrValuesOf(loginRequest) },
    clientId: loginRequest.client.client_id,
    newBrowser: device ? undefined : { lng: look.language() },
  }).catch(withRestartLink(loginRequest.request_url));
  deps.logger.info({ event: "login", method: "passkey", subject: user.id, client: loginRequest.client.client_id }, "signed in with a passkey");
  deps.metrics.signIns.inc({ outcome: "success" });
  return done;
}
