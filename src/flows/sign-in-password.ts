// Signing in with email and password. The attempt is counted before the password is checked
// (atomic in the shared store: parallel guesses cannot overshoot the limit) in the statement that
// reads the account and the browser's session; a right password takes the attempt back in the
// statement that claims the challenge and saves the new session (sign-in-step.ts).
import { PASSWORD_AMR, uiLocalesOf } from "../decisions/login";
import { acrValuesOf } from "../decisions/second-factor";
import type { TicketedLoginRequest } from "../decisions/request-ticket";
import { msg, type Msg } from "../i18n";
import type { Logger } from "../logger";
import type { CountedRow, Limits } from "../services/limits";
import type { Metrics } from "../services/metrics";
import { verifyPassword } from "../services/passwords";
import { normalizeEmail, type Store, type User } from "../services/store";
import { withRestartLink } from "./challenges";
import type { Outcome } from "./outcome";
import type { PageLook } from "./page";
import { signInForm, type SignInDeps } from "./sign-in";
import { finishSignIn, type SignInBrowser } from "./sign-in-step";
import { recordEvent } from "./activity";
import type { ActivityEvent } from "../decisions/activity";
import { nameBrowser, networkOf } from "../decisions/sign-in-place";

/** A refused sign-in of an account from a browser it never signed in on. */
export function failedSignIn(userId: string, browser: Pick<SignInBrowser, "place">, clientId: string | undefined): ActivityEvent {
  const place = browser.place;
  return { userId, kind: "sign_in_failed", detail: { ...nameBrowser(place?.userAgent), network: networkOf(place?.ip), ...(clientId ? { client: clientId } : {}) } };
}

export interface PasswordSignInDeps extends SignInDeps {
  store: SignInDeps["store"] & Pick<Store, "attemptSignIn" | "recordActivity">;
  limits: SignInDeps["limits"] & Pick<Limits, "signInCounters" | "judgeSignIn" | "settleSignIn" | "settleWrites">;
  logger: Pick<Logger, "info" | "warn">;
  metrics: Pick<Metrics, "signIns">;
}

/** The browser as a password sign-in sees it: also the device cookie (which counters an attempt counts against). */
export interface PasswordBrowser extends SignInBrowser {
  trustedDevice(emailNormalized: string): string | null;
  rememberDevice(emailNormalized: string, existing: string | null): void;
}

function tooManySignIns(retryAfterSeconds: number): Msg {
  return msg("login:error.tooMany", { count: Math.max(1, Math.ceil(retryAfterSeconds / 60)) });
}

/** An attempt's counters, and the statement that counts it, reads the account and reads the session (`read`). */
export function passwordAttempt(deps: Pick<PasswordSignInDeps, "store" | "limits">, browser: Pick<PasswordBrowser, "trustedDevice">, input: { email: string; ip: string }) {
  const emailNormalized = normalizeEmail(input.email);
  const device = browser.trustedDevice(emailNormalized);
  const signIn = { ip: input.ip, emailNormalized, device };
  const counters = deps.limits.signInCounters(signIn);
  return { signIn, counters, read: (sessionId: string | null) => deps.store.attemptSignIn(input.email, counters, sessionId) };
}
export type PasswordAttempt = ReturnType<typeof passwordAttempt>;

/**
 * Checks the password of a counted attempt (`counted`: the attempt's statement) once the CSRF check
 * passed (`checked`), while Hydra describes the request (`request`), and signs in.
 */
export async function signInWithPassword(
  deps: PasswordSignInDeps,
  look: PageLook,
  browser: PasswordBrowser,
  input: {
    form: { loginChallenge: string; password: string; remember: boolean };
    attempt: PasswordAttempt;
    counted: Promise<{ counted: CountedRow[]; user: User | null; userHasFactor: boolean }>;
    checked: Promise<void>;
    request: Promise<TicketedLoginRequest>;
    /** What the form shows again after a refusal. */
    again: { email: string; remember: boolean; ticket?: string };
  },
): Promise<Outcome> {
  const { form, attempt, again } = input;
  const checking = (async () => {
    const { counted, user, userHasFactor } = await input.counted;
    await input.checked;
    const count = await deps.limits.judgeSignIn(attempt.signIn, attempt.counters, counted);
    return { count, user, userHasFactor, ok: count.allowed ? await verifyPassword(user?.passwordHash, form.password) : false };
  })();
  const [loginRequest, { count, user, userHasFactor, ok }] = await Promise.all([input.request, checking]);
  look.followUiLocales(uiLocalesOf(loginRequest));
  const refuse = (status: number, error: Msg, headers?: Record<string, string>) =>
    signInForm(deps, look, { loginRequest, invitationPending: Boolean(browser.session?.invitationCode) }, { status, error, headers, ...again });
  if (!count.allowed) {
    deps.logger.warn({ event: "login_throttled", limit: count.refusedBy, client: loginRequest.client.client_id }, "sign-in throttled");
    deps.metrics.signIns.inc({ outcome: "rate_limited" });
    return refuse(429, tooManySignIns(count.retryAfterSeconds), { "Retry-After": String(count.retryAfterSeconds) });
  }
  if (!user || !ok) {
    deps.logger.info({ event: "login_failed", client: loginRequest.client.client_id, knownDevice: Boolean(attempt.signIn.device) }, "sign-in refused");
    // A wrong password for an account from a browser it never signed in on: told in its activity
    // (counted attempts only, so at most the account's failure limit per window).
    if (user && !attempt.signIn.device) await recordEvent(deps, failedSignIn(user.id, browser, loginRequest.client.client_id));
    deps.metrics.signIns.inc({ outcome: "incorrect" });
    return refuse(401, msg("login:error.incorrect"));
  }
  if (user.disabledAt) {
    // Said only to someone who knows the password.
    await deps.limits.settleSignIn(count.counted);
    deps.logger.info({ event: "login_disabled", subject: user.id }, "sign-in refused: account disabled");
    deps.metrics.signIns.inc({ outcome: "disabled" });
    return refuse(403, msg("login:error.disabled"));
  }

  const membership = await deps.store.getClientMembership(loginRequest.client.client_id ?? "");
  browser.rememberDevice(attempt.signIn.emailNormalized, attempt.signIn.device);
  const done = await finishSignIn(deps, browser, {
    loginChallenge: form.loginChallenge,
    loginSessionId: loginRequest.session_id,
    user,
    audience: membership?.audience ?? null,
    remember: form.remember,
    startSession: true,
    // The attempt is taken back in the statement that claims the challenge and saves the session.
    sessionWithClaim: { writes: deps.limits.settleWrites(count.counted) },
    mailWhenHeld: { lng: look.language() },
    methods: PASSWORD_AMR,
    secondFactor: { userHasFactor, acrValues: acrValuesOf(loginRequest) },
    clientId: loginRequest.client.client_id,
    // No device token of this account here: the browser never completed a sign-in of it.
    newBrowser: attempt.signIn.device ? undefined : { lng: look.language() },
  }).catch(withRestartLink(loginRequest.request_url));
  deps.logger.info({ event: "login", subject: user.id, client: loginRequest.client.client_id }, "signed in");
  deps.metrics.signIns.inc({ outcome: "success" });
  return done;
}
