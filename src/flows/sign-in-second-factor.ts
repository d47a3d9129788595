// The second step of a sign-in held for it (flows/second-factor-hold.ts): a code from the user's
// authenticator or a recovery code, or the set-up of an authenticator where the audience requires
// one. Codes are counted per account in the shared limits (a locked factor says for how long); a
// code is accepted once. The step then ends like every sign-in, in sign-in-step.ts.
import type { Env } from "../config/env";
import type { AuthenticationResponseJSON } from "@simplewebauthn/server";
import { uiLocalesOf } from "../decisions/login";
import { hasSecondFactor } from "../decisions/second-factor";
import { AppError } from "../errors";
import { msg, type Msg } from "../i18n";
import type { Logger } from "../logger";
import type { Factors } from "../services/factors";
import type { Passkeys } from "../services/passkeys";
import type { Limits } from "../services/limits";
import { verifyPassword } from "../services/passwords";
import type { Store } from "../services/store";
import { challengeDigest, ensureNotHandled, withRestartLink } from "./challenges";
import { confirmEnrolment, queueFactorsChangedMail } from "./factor-mail";
import { page, retryAfter, type Outcome } from "./outcome";
import type { PageLook } from "./page";
import { enrolmentPage, enrolmentStart, factorChoices, recoveryCodesPage, secondFactorPage, secondFactorPasskeyBinding, type SecondFactorHoldDeps } from "./second-factor-hold";
import { checkPasskey, passkeyMethods } from "./sign-in-passkey";
import type { SignInDeps } from "./sign-in";
import { resumedStepFields } from "./session";
import { finishSignIn, type SignInBrowser } from "./sign-in-step";

export interface SecondFactorStepDeps extends SignInDeps, SecondFactorHoldDeps {
  env: SignInDeps["env"] & SecondFactorHoldDeps["env"] & Pick<Env, "BRAND_PRODUCT_NAME">;
  store: SignInDeps["store"] & SecondFactorHoldDeps["store"] & Pick<Store, "getTotp" | "acceptTotpStep" | "useRecoveryCode" | "replaceRecoveryCodes" | "findPasskey" | "usePasskey">;
  passkeys: SignInDeps["passkeys"] & SecondFactorHoldDeps["passkeys"] & Pick<Passkeys, "verifyAuthentication">;
  factors: Factors;
  limits: SignInDeps["limits"] & Pick<Limits, "consume" | "takeBack">;
  logger: Pick<Logger, "info" | "warn">;
}

const noPending = () => new AppError(400, "no_pending_second_factor", msg("factors:error.noPending"), { title: msg("factors:error.noPendingTitle") });

/** The step this browser holds for this challenge, the user, and Hydra's request (refused when answered already). */
async function heldStep(deps: SecondFactorStepDeps, look: PageLook, browser: SignInBrowser, loginChallenge: string) {
  const pending = browser.session?.pendingSecondFactor;
  if (!pending || pending.challenge !== challengeDigest(loginChallenge)) throw noPending();
  await ensureNotHandled(deps.store, "login", loginChallenge, deps.hydra);
  const loginRequest = await deps.hydra.getLoginRequest(loginChallenge);
  look.followUiLocales(uiLocalesOf(loginRequest));
  const membership = await deps.store.getClientMembership(loginRequest.client.client_id ?? "");
  look.useBrand(membership?.audience);
  const user = await deps.store.getUser(pending.userId);
  if (!user || user.disabledAt) throw noPending();
  return { pending, loginRequest, audience: membership?.audience ?? null, user };
}

/**
 * Counts a code typed for the account; a refusal is the page with how long the factor stays locked.
 * Counted before the check (a locked factor refuses even a right code); a right code then gives its
 * attempt back (rightCode), so that only wrong codes add up to SECOND_FACTOR_MAX_FAILURES.
 */
async function counted(deps: SecondFactorStepDeps, userId: string, refused: (error: Msg, status: number) => Outcome | Promise<Outcome>): Promise<Outcome | null> {
  const limit = await deps.limits.consume("secondFactor", userId);
  if (limit.allowed) return null;
  deps.logger.warn({ event: "second_factor_locked", subject: userId }, "second factor locked: too many wrong codes");
  return retryAfter(await refused(msg("factors:error.tooMany", { count: Math.max(1, Math.ceil(limit.retryAfterSeconds / 60)) }), 429), limit.retryAfterSeconds);
}

/** A right code (authenticator, recovery code, or the first code of a set-up): its attempt is not a failure. */
const rightCode = (deps: SecondFactorStepDeps, userId: string) => deps.limits.takeBack("secondFactor", userId);

/** Goes on with the step: what was proved is kept, and the sign-in ends as every sign-in does. */
async function proceed(deps: SecondFactorStepDeps, browser: SignInBrowser, held: Awaited<ReturnType<typeof heldStep>>): Promise<Outcome> {
  const { pending, user, audience, loginRequest } = held;
  return finishSignIn(deps, browser, { loginChallenge: pending.loginChallenge, user, audience, ...resumedStepFields(pending) }).catch(withRestartLink(loginRequest.request_url));
}

/** POST /login/second-factor: the authenticator's code, a recovery code, or a passkey's answer. */
export async function answerSecondFactor(
  deps: SecondFactorStepDeps,
  look: PageLook,
  browser: SignInBrowser,
  input: { loginChallenge: string; method: "totp" | "recovery" | "passkey"; code: string; passkey?: AuthenticationResponseJSON },
): Promise<Outcome> {
  const held = await heldStep(deps, look, browser, input.loginChallenge);
  const { pending, user, audience } = held;
  if (pending.mode !== "ask" || hasSecondFactor(pending.methods)) throw noPending();
  const recovery = input.method === "recovery";
  const choices = await factorChoices(deps, user.id, input.loginChallenge);
  const again = (error: Msg, status: number) => secondFactorPage({ loginChallenge: input.loginChallenge, audienceName: audience?.displayName ?? null, choices, error, status, recovery });
  if (input.method === "totp" && !/^\d{6}$/.test(input.code.replace(/\s/g, ""))) return again(msg("factors:error.codeFormat"), 400);
  const locked = await counted(deps, user.id, again);
  if (locked) return locked;

  if (input.method === "passkey") {
    const checked = input.passkey ? await checkPasskey(deps, input.passkey, secondFactorPasskeyBinding(input.loginChallenge)) : { refused: msg("factors:passkey.failed") };
    if ("refused" in checked || checked.passkey.userId !== user.id) {
      deps.logger.info({ event: "second_factor_failed", subject: user.id, method: "passkey" }, "passkey refused as second factor");
      return again("refused" in checked ? checked.refused : msg("factors:passkey.otherAccount"), 401);
    }
    await rightCode(deps, user.id);
    pending.methods = [...pending.methods, passkeyMethods(checked.passkey)[0]!];
    return proceed(deps, browser, held);
  }

  if (recovery) {
    const hash = deps.factors.recoveryCodeHash(user.id, input.code);
    const left = hash ? await deps.store.transaction(async (tx) => {
      const n = await deps.store.useRecoveryCode(user.id, hash, tx);
      if (n !== null) await queueFactorsChangedMail(tx, user, look.language(), { change: "code-used", left: n }, deps.logger);
      return n;
    }) : null;
    if (left === null) {
      deps.logger.info({ event: "second_factor_failed", subject: user.id, method: "recovery" }, "wrong recovery code");
      return again(msg("factors:error.wrongRecoveryCode"), 401);
    }
    await rightCode(deps, user.id);
    deps.mailer.kick();
    deps.logger.info({ event: "recovery_code_used", subject: user.id, left }, "recovery code used");
    pending.methods = [...pending.methods, "otp"];
    await browser.save();
    // Says how many are left before going on.
    return page("recovery-code-used", msg("factors:used.title"), { left, challenge: input.loginChallenge }, { form: true });
  }

  const totp = await deps.store.getTotp(user.id);
  const step = totp?.confirmed ? deps.factors.checkCode(user.id, totp.sealedSecret, input.code, totp.lastStep) : null;
  if (step === null || !(await deps.store.acceptTotpStep(user.id, step, false))) {
    deps.logger.info({ event: "second_factor_failed", subject: user.id, method: "totp" }, "wrong authenticator code");
    return again(msg("factors:error.wrongCode"), 401);
  }
  await rightCode(deps, user.id);
  pending.methods = [...pending.methods, "otp"];
  return proceed(deps, browser, held);
}

/** POST /login/second-factor/setup: the first code of the authenticator set up in the sign-in (and the password, when not just typed). */
export async function confirmSetupInSignIn(
  deps: SecondFactorStepDeps,
  look: PageLook,
  browser: SignInBrowser,
  input: { loginChallenge: string; code: string; password?: string },
): Promise<Outcome> {
  const held = await heldStep(deps, look, browser, input.loginChallenge);
  const { pending, user } = held;
  if (pending.mode !== "enrol" || hasSecondFactor(pending.methods)) throw noPending();
  const askPassword = !pending.startSession;
  const totp = await deps.store.getTotp(user.id);
  const again = async (error: Msg, status: number, errorField?: "password"): Promise<Outcome> => {
    if (!totp || totp.confirmed) return enrolmentStart(deps, user, { loginChallenge: input.loginChallenge, askPassword, error, errorField, status });
    const shown = await deps.factors.shown(user, deps.env.BRAND_PRODUCT_NAME, totp.sealedSecret);
    return enrolmentPage({ action: "/login/second-factor/setup", loginChallenge: input.loginChallenge, ...shown, askPassword, required: true, error, errorField, status });
  };
  // Locked: the set-up page again, with how long (its form works again after that).
  const locked = await counted(deps, user.id, (error, status) => again(error, status));
  if (locked) return locked;
  if (askPassword && !(await verifyPassword(user.passwordHash, input.password ?? ""))) return again(msg("factors:error.password"), 401, "password");
  if (!totp || totp.confirmed) return again(msg("factors:error.setupGone"), 409);
  const step = deps.factors.checkCode(user.id, totp.sealedSecret, input.code, totp.lastStep);
  if (step === null) return again(msg("factors:error.wrongCode"), 401);
  const codes = await confirmEnrolment(deps, user, step, look);
  if (!codes) return again(msg("factors:error.setupGone"), 409);
  await rightCode(deps, user.id);
  pending.methods = [...pending.methods, "otp"];
  await browser.save();
  return recoveryCodesPage({ codes, action: "/login/second-factor/continue", loginChallenge: input.loginChallenge, heading: "new" });
}

/** POST /login/second-factor/continue: after the recovery codes were shown, or a recovery code used. */
export async function continueAfterSecondFactor(deps: SecondFactorStepDeps, look: PageLook, browser: SignInBrowser, loginChallenge: string): Promise<Outcome> {
  const held = await heldStep(deps, look, browser, loginChallenge);
  if (!hasSecondFactor(held.pending.methods)) throw noPending();
  return proceed(deps, browser, held);
}
