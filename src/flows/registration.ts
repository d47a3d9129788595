// Sign-up during Hydra's login step, governed by the audience's registration mode; and an
// invitation link opened outside an OAuth flow (the code waits in the session for the sign-up).
// A new account signs in through the shared step (sign-in-step.ts), held until its address is
// confirmed unless an invitation vouched for it.
import type { Env } from "../config/env";
import { uiLocalesOf } from "../decisions/login";
import { checkInvitation, decideRegistration, invitationProblem, registrationMode, type InvitationCheck, type RegistrationMode } from "../decisions/registration";
import { AppError } from "../errors";
import { msg, type Language, type Msg } from "../i18n";
import type { Logger } from "../logger";
import type { Hydra, OAuth2LoginRequest } from "../services/hydra";
import { mailDateTime } from "../services/mail";
import { hashPassword, passwordProblem, personalInputs, verifyPassword, PASSWORD_MIN_LENGTH } from "../services/passwords";
import { EmailTakenError, InvitationRedeemedError, normalizeEmail, type Audience, type Store, type User } from "../services/store";
import { ensureNotHandled } from "./challenges";
import { queueAccountExistsMail, queueVerificationMail } from "./mail-links";
import { page, type Outcome } from "./outcome";
import type { PageLook } from "./page";
import type { AppSession } from "./session";
import { challengeDigest, checkInboxPage, finishSignIn, type SignInBrowser, type SignInStepDeps } from "./sign-in-step";
import { acrValuesOf } from "../decisions/second-factor";

export interface RegistrationDeps extends SignInStepDeps {
  store: SignInStepDeps["store"] & Pick<Store, "isChallengeHandled" | "getClientMembership" | "findUserByEmail" | "findInvitation" | "registerUser">;
  hydra: SignInStepDeps["hydra"] & Pick<Hydra, "getLoginRequest" | "getConsentRequest" | "getLogoutRequest">;
  env: SignInStepDeps["env"] & Pick<Env, "APP_BASE_URL" | "EMAIL_VERIFICATION_TTL_SECONDS">;
  logger: Pick<Logger, "info">;
}

/** The sign-up's login step: Hydra's request, its client's name, the audience and its mode. */
export interface Registration {
  loginRequest: OAuth2LoginRequest;
  clientName: string;
  audience: Audience;
  mode: RegistrationMode;
}

export type FormField = "name" | "email" | "password" | "invitation";

/** What the form shows again: the fields but the password, and an error tied to its field (which gets the focus). */
export interface FormExtra {
  status?: number;
  /** A message, or text already in the page's language (several problems of a form, joined). */
  error?: Msg | string;
  errorField?: FormField | null;
  email?: string;
  name?: string;
  invitation?: string;
}

/** The login step a sign-up belongs to; refused when it was answered or its client has no audience. */
export async function loadRegistration(deps: Pick<RegistrationDeps, "store" | "hydra">, look: Pick<PageLook, "followUiLocales" | "useBrand">, loginChallenge: string): Promise<Registration> {
  await ensureNotHandled(deps.store, "login", loginChallenge, deps.hydra);
  const loginRequest = await deps.hydra.getLoginRequest(loginChallenge);
  // The page follows the application's ui_locales, like the sign-in page.
  look.followUiLocales(uiLocalesOf(loginRequest));
  const clientId = loginRequest.client.client_id ?? "";
  const membership = clientId ? await deps.store.getClientMembership(clientId) : null;
  const clientName = loginRequest.client.client_name || clientId;
  if (!membership) {
    throw new AppError(403, "client_without_audience", msg("registration:notSetUp.message", { client: clientName }), { title: msg("registration:notSetUp.title") });
  }
  look.useBrand(membership.audience);
  return { loginRequest, clientName, audience: membership.audience, mode: registrationMode(membership.audience) };
}

/** Refuses a sign-up where the audience takes none. */
export function ensureOpen(reg: Registration): void {
  if (reg.mode === "closed") {
    throw new AppError(403, "registration_closed", msg("registration:closed.message", { audience: reg.audience.displayName }), { title: msg("registration:closed.title") });
  }
}

export function registrationForm(reg: Registration, extra: FormExtra = {}): Outcome {
  const locals = {
    challenge: reg.loginRequest.challenge,
    clientName: reg.clientName,
    audienceName: reg.audience.displayName,
    mode: reg.mode,
    passwordMinLength: PASSWORD_MIN_LENGTH,
    email: extra.email ?? "",
    name: extra.name ?? "",
    invitation: extra.invitation ?? "",
    error: extra.error || null,
    errorField: extra.error ? (extra.errorField ?? null) : null,
  };
  return page("registration", msg("registration:title"), locals, { status: extra.status, form: true });
}

/** The account this browser created earlier in this very flow, when the password matches. */
async function resumableSignUp(deps: Pick<RegistrationDeps, "store">, session: AppSession, loginChallenge: string, email: string, password: string) {
  const pending = session.pendingSignUp;
  if (!pending || pending.challenge !== challengeDigest(loginChallenge)) return null;
  const user = await deps.store.findUserByEmail(email);
  if (!user || user.id !== pending.userId) return null;
  return (await verifyPassword(user.passwordHash, password)) ? user : null;
}

/**
 * Continues the flow as the new account: an address not yet verified holds the step on "check your
 * inbox" (whatever the audience says: a sign-up with a taken address must look the same); one an
 * invitation vouched for goes on. A new session either way: the invitation code is gone.
 */
function finishSignUp(deps: RegistrationDeps, browser: SignInBrowser, reg: Registration, loginChallenge: string, user: User): Promise<Outcome> {
  return finishSignIn(deps, browser, {
    loginChallenge,
    loginSessionId: reg.loginRequest.session_id,
    user,
    audience: reg.audience,
    remember: false,
    startSession: true,
    requireVerified: true,
    keep: { pendingSignUp: browser.session!.pendingSignUp },
    // A new account has no second factor: an audience that requires one leads through its set-up.
    secondFactor: { userHasFactor: false, acrValues: acrValuesOf(reg.loginRequest) },
  });
}

/**
 * A sign-up with an address that already has an account answers exactly like a new one ("check
 * your inbox", same page, same session hand-over, about the same work); the owner gets a mail that
 * someone tried. Nothing about the existing account changes, and nothing here can complete.
 */
async function answerLikeNewSignUp(deps: RegistrationDeps, browser: SignInBrowser, reg: Registration, input: { loginChallenge: string; typedEmail: string; lng: Language }): Promise<Outcome> {
  const email = input.typedEmail.trim();
  const owner = await deps.store.findUserByEmail(email);
  if (owner && (await deps.limits.consume("verificationMail", `sign-up-taken:${normalizeEmail(email)}`)).allowed) {
    await deps.store.transaction((tx) => queueAccountExistsMail(tx, deps.env, owner, input.lng));
    deps.mailer.kick();
  }
  // The same session cookie as a new account's held sign-up (it ends with the browser): nothing differs.
  await browser.regenerate({
    // This browser's own earlier sign-up in this flow stays resumable with its password.
    pendingSignUp: browser.session!.pendingSignUp,
    pendingLogin: {
      challenge: challengeDigest(input.loginChallenge),
      userId: "",
      remember: false,
      startSession: true,
      loginSessionId: reg.loginRequest.session_id,
      requireVerified: true,
      decoy: { email, codeTries: 0 },
    },
  }, undefined, true);
  deps.logger.info({ event: "registration_existing_address", audience: reg.audience.id }, "sign-up with an address that has an account");
  return checkInboxPage({ email, audienceName: reg.audience.displayName, loginChallenge: input.loginChallenge });
}

/** Creates the account (with its verification mail) and signs it in to the step. `keep`: the fields as typed. */
export async function register(
  deps: RegistrationDeps,
  browser: SignInBrowser,
  reg: Registration,
  input: { loginChallenge: string; email: string; name: string; password: string; invitation?: string; lng: Language; keep: Pick<FormExtra, "email" | "name" | "invitation"> },
): Promise<Outcome> {
  const { loginChallenge, keep } = input;
  const email = normalizeEmail(input.email);
  // This browser already created the account earlier in this very flow, and answering Hydra failed
  // then: the same email and password continue the flow (instead of "already exists").
  const earlier = await resumableSignUp(deps, browser.session!, loginChallenge, email, input.password);
  if (earlier) return finishSignUp(deps, browser, reg, loginChallenge, earlier);

  let check: InvitationCheck = { status: "none" };
  let invitationId: string | null = null;
  if (input.invitation) {
    const invitation = await deps.store.findInvitation(input.invitation);
    check = checkInvitation(invitation, { audienceId: reg.audience.id, email, now: new Date() });
    if (check.status === "valid") invitationId = invitation!.id;
  }
  const decision = decideRegistration(reg.mode, check, reg.audience.displayName);
  if (decision.kind === "refuse") {
    deps.logger.info({ event: "registration_refused", reason: decision.reason, audience: reg.audience.id }, "registration refused");
    return registrationForm(reg, { status: decision.status, error: decision.message, errorField: reg.mode !== "open" ? "invitation" : null, ...keep });
  }
  const weak = passwordProblem(input.password, personalInputs(input.email, input.name), input.lng);
  if (weak) return registrationForm(reg, { status: 400, error: weak, errorField: "password", ...keep });

  let user;
  try {
    user = await deps.store.registerUser(
      // Self sign-up: pending until the address is confirmed, unless an email-bound invitation vouched for it.
      { email: input.email, name: input.name, passwordHash: await hashPassword(input.password), emailVerified: decision.emailVerified, pending: !decision.emailVerified },
      decision.useInvitation ? invitationId : null,
      // The verification mail is written with the account (outbox): no account without its mail.
      decision.emailVerified ? undefined : (tx, created) => queueVerificationMail(tx, deps.env, created, input.lng),
    );
  } catch (err) {
    if (err instanceof EmailTakenError) return answerLikeNewSignUp(deps, browser, reg, { loginChallenge, typedEmail: input.email, lng: input.lng });
    if (err instanceof InvitationRedeemedError) {
      return registrationForm(reg, { status: 400, error: invitationProblem("used", reg.audience.displayName), errorField: "invitation", ...keep });
    }
    throw err;
  }
  // Noted in this browser's session: which account this flow created (until Hydra has been answered).
  browser.session!.pendingSignUp = { challenge: challengeDigest(loginChallenge), userId: user.id };
  await browser.save();
  deps.logger.info({ event: "registered", subject: user.id, audience: reg.audience.id, invitation: decision.useInvitation }, "user registered");
  deps.mailer.kick();
  return finishSignUp(deps, browser, reg, loginChallenge, user);
}

/** An invitation link opened outside an OAuth flow: what to do next; the code waits in the session for the sign-up. */
export async function invitationPage(deps: { store: Pick<Store, "findInvitation"> }, session: AppSession, code: string, lng: Language): Promise<Outcome> {
  const invitation = await deps.store.findInvitation(code);
  const check = checkInvitation(invitation, { audienceId: null, email: null, now: new Date() });
  if (check.status !== "valid") {
    const status = check.status === "unknown" ? 404 : 410;
    const problem = check.status === "none" ? "unknown" : check.status;
    throw new AppError(status, `invitation_${problem}`, invitationProblem(problem as Exclude<InvitationCheck["status"], "valid" | "none">, invitation?.audience.displayName ?? ""), {
      title: msg("registration:invitationPage.errorTitle"),
    });
  }
  const audience = invitation!.audience;
  const accepted = audience.invitationEnabled;
  // Saved with the response (express-session saves a changed session at its end).
  if (accepted) session.invitationCode = code;
  return page("invitation", msg("registration:invitationPage.title", { audience: audience.displayName }), {
    audienceName: audience.displayName,
    startUrl: audience.startUrl,
    boundEmail: invitation!.email,
    expiresAt: invitation!.expiresAt,
    // In UTC naming the zone (the page's script shows it in local time). Not formatDateTime from
    // src/i18n.ts for now: Intl refuses its dateStyle/timeStyle together with timeZoneName (TypeError).
    expiresText: mailDateTime(invitation!.expiresAt, lng),
    accepted,
  });
}
