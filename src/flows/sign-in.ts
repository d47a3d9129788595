// Hydra's login step as the person meets it: the sign-in form, Hydra's skip (it remembers the
// browser), and a step held for verification going on. The ways of proving who one is live in
// their own modules (sign-in-password.ts) and end, like these, in sign-in-step.ts.
import type { Env } from "../config/env";
import { decideLoginStart, PASSWORD_AMR, rememberPeriod, uiLocalesOf } from "../decisions/login";
import { acrValuesOf, asksForTwoFactors, hasSecondFactor } from "../decisions/second-factor";
import { offersSignUp, registrationMode } from "../decisions/registration";
import { issueTicket, loginTicketSubset, readLoginTicket, type TicketedLoginRequest } from "../decisions/request-ticket";
import { AppError } from "../errors";
import { msg, type Msg } from "../i18n";
import type { Hydra } from "../services/hydra";
import type { Passkeys } from "../services/passkeys";
import type { Store, User } from "../services/store";
import { ensureNotHandled, withRestartLink } from "./challenges";
import { page, type Outcome } from "./outcome";
import type { PageLook } from "./page";
import { resumedStepFields } from "./session";
import { challengeDigest, checkInboxPage, finishSignIn, holdsForVerification, type SignInBrowser, type SignInStepDeps } from "./sign-in-step";

export interface SignInDeps extends SignInStepDeps {
  env: SignInStepDeps["env"] & Pick<Env, "LOGIN_REMEMBER_FOR_SECONDS">;
  store: SignInStepDeps["store"] & Pick<Store, "getClientMembership" | "getUser" | "isChallengeHandled" | "secondFactors" | "sessionStrength">;
  hydra: SignInStepDeps["hydra"] & Pick<Hydra, "getLoginRequest" | "getConsentRequest" | "getLogoutRequest">;
  /** The keys of the login form's ticket (decisions/request-ticket.ts), the first one signs. */
  ticketKeys: readonly Buffer[];
  /** The form's passkey options (a passkey signs in alone). */
  passkeys: Pick<Passkeys, "authenticationOptions" | "available">;
}

/** The browser on GET /login: its session is loaded only when the step needs it. */
export interface OpeningBrowser extends SignInBrowser {
  /** Loads the session (a held step waits in it). */
  load(): Promise<void>;
  /** Loads the session for a page, and refuses a challenge answered already (410, leading back to `requestUrl`). */
  loadRefusingReplay(loginChallenge: string, requestUrl: string | undefined): Promise<void>;
}

/**
 * Hydra's description of the login request: from the form's ticket when it holds one for this
 * challenge (one call to Hydra fewer), else from Hydra. `ticket`: the one that was used.
 */
export function describeLogin(deps: Pick<SignInDeps, "hydra" | "ticketKeys">, challenge: string, ticket: string | undefined): { request: Promise<TicketedLoginRequest>; ticket?: string } {
  const ticketed = readLoginTicket(ticket, challenge, deps.ticketKeys, Date.now());
  if (ticketed) return { request: Promise.resolve(ticketed), ticket };
  const request = deps.hydra.getLoginRequest(challenge);
  request.catch(() => undefined); // awaited by the caller, after the CSRF check
  return { request };
}

/** What the challenge of a login page's passkey options is bound to. */
export const loginPasskeyBinding = (loginChallenge: string) => `login:${loginChallenge}`;

/** What the sign-in form shows besides the request: an error, and what was typed. */
export interface FormExtra {
  status?: number;
  error?: Msg;
  email?: string;
  remember?: boolean;
  /** A ticket read from the form, passed on as it is: its age still counts from Hydra's answer. */
  ticket?: string;
  headers?: Record<string, string>;
}

/** The sign-in form (email, password, "stay signed in"), in the audience's brand. */
export async function signInForm(
  deps: Pick<SignInDeps, "env" | "store" | "ticketKeys" | "passkeys">,
  look: Pick<PageLook, "useBrand">,
  input: { loginRequest: TicketedLoginRequest; invitationPending: boolean },
  extra: FormExtra = {},
): Promise<Outcome> {
  const { loginRequest } = input;
  const clientId = loginRequest.client.client_id ?? "";
  const membership = clientId ? await deps.store.getClientMembership(clientId) : null;
  look.useBrand(membership?.audience);
  const locals = {
    challenge: loginRequest.challenge,
    loginTicket: extra.ticket ?? issueTicket(deps.ticketKeys[0]!, loginTicketSubset(loginRequest), Date.now()),
    clientName: loginRequest.client.client_name || clientId,
    audienceName: membership?.audience.displayName ?? null,
    signUpUrl: membership && offersSignUp(registrationMode(membership.audience)) ? `/registration?login_challenge=${encodeURIComponent(loginRequest.challenge)}` : null,
    invitationPending: input.invitationPending,
    email: extra.email ?? loginRequest.oidc_context?.login_hint ?? "",
    remember: extra.remember ?? false,
    rememberFor: rememberPeriod(deps.env.LOGIN_REMEMBER_FOR_SECONDS),
    error: extra.error ?? null,
    // Any passkey of this site, chosen in the browser (no account named before it is proved).
    passkeyOptions: deps.passkeys.available ? JSON.stringify(await deps.passkeys.authenticationOptions(loginPasskeyBinding(loginRequest.challenge))) : null,
  };
  return page("login", msg("login:title"), locals, { status: extra.status, form: true, headers: extra.headers });
}

/** GET /login: Hydra's skip when it knows the browser, else the form. */
export async function openSignIn(deps: SignInDeps, look: PageLook, browser: OpeningBrowser, loginChallenge: string): Promise<Outcome> {
  const loginRequest = await deps.hydra.getLoginRequest(loginChallenge);
  // The application asked for a language (OIDC ui_locales): the pages of this step follow it,
  // unless the person chose one on the switcher.
  look.followUiLocales(uiLocalesOf(loginRequest));
  const step = decideLoginStart(loginRequest);
  // A replayed challenge: the skipped sign-in below is refused when it is answered (its claim);
  // a page is not shown for one. Only a page needs this browser's session (its CSRF token).
  if (step.kind !== "accept") {
    await browser.loadRefusingReplay(loginChallenge, loginRequest.request_url);
    return signInForm(deps, look, { loginRequest, invitationPending: Boolean(browser.session?.invitationCode) });
  }
  const membership = await deps.store.getClientMembership(loginRequest.client.client_id ?? "");
  const audience = membership?.audience ?? null;
  // What Hydra's session reached: read only when two factors are asked for, or when this browser
  // marked the session as signed in with two (a password-only sign-in reads nothing more).
  const acrValues = acrValuesOf(loginRequest);
  const twoAsked = audience?.mfa === "required" || asksForTwoFactors(acrValues);
  const sid = loginRequest.session_id;
  const reached = sid && (twoAsked || browser.strongSession(sid)) ? await deps.store.sessionStrength(sid, step.subject) : null;
  const methods = reached ? reached.amr.filter((m) => m !== "mfa") : PASSWORD_AMR;
  const stepUp = twoAsked && !hasSecondFactor(methods);
  // Only an audience that requires a verified address, or a step-up, needs the user's row here (a
  // pending account never completed a sign-in, so Hydra remembers no browser of one).
  const user = (audience?.requireVerifiedEmail || stepUp ? await deps.store.getUser(step.subject) : null) ?? { id: step.subject, email: "", emailVerified: true, pendingSince: null };
  // Held until the address is verified or the second factor is given: the step waits in this browser's session.
  if (holdsForVerification({ audience, user }) || stepUp) await browser.load();
  const secondFactor = stepUp ? await secondFactorOf(deps, step.subject, loginRequest) : undefined;
  // Hydra vouches for this browser (its own session cookie): the flow continues. The app's own
  // session is NOT created here: a login challenge in a URL is no proof of who the browser is.
  return finishSignIn(deps, browser, { loginChallenge, loginSessionId: sid, user, audience, remember: false, startSession: false, skipped: true, methods, secondFactor }).catch(
    withRestartLink(loginRequest.request_url),
  );
}

/** The second factor's part of a sign-in step: whether the user has one, and what the request asks for. */
async function secondFactorOf(deps: Pick<SignInDeps, "store">, userId: string, loginRequest: Parameters<typeof acrValuesOf>[0]) {
  const factors = await deps.store.secondFactors(userId);
  return { userHasFactor: Boolean(factors.totp?.confirmed) || factors.passkeys > 0, acrValues: acrValuesOf(loginRequest) };
}

/** A form without email or password: asked again (a replayed step is refused first). */
export async function missingCredentials(
  deps: SignInDeps,
  look: PageLook,
  browser: Pick<SignInBrowser, "session">,
  input: { loginChallenge: string; request: Promise<TicketedLoginRequest> },
  extra: FormExtra,
): Promise<Outcome> {
  const loginRequest = await input.request;
  look.followUiLocales(uiLocalesOf(loginRequest));
  await ensureNotHandled(deps.store, "login", input.loginChallenge, { requestUrl: loginRequest.request_url });
  return signInForm(deps, look, { loginRequest, invitationPending: Boolean(browser.session?.invitationCode) }, { status: 400, error: msg("login:error.missing"), ...extra });
}

/** Continues a login step held for verification, in the browser that holds it. */
export async function resumeHeldSignIn(deps: SignInDeps, look: PageLook, browser: SignInBrowser, loginChallenge: string): Promise<Outcome> {
  const pending = browser.session?.pendingLogin;
  if (!pending || pending.challenge !== challengeDigest(loginChallenge)) {
    throw new AppError(400, "no_pending_sign_in", msg("login:pending.none"), { title: msg("login:pending.title") });
  }
  await ensureNotHandled(deps.store, "login", loginChallenge, deps.hydra);
  const loginRequest = await deps.hydra.getLoginRequest(loginChallenge);
  look.followUiLocales(uiLocalesOf(loginRequest));
  const membership = await deps.store.getClientMembership(loginRequest.client.client_id ?? "");
  const audience = membership?.audience ?? null;
  const user = pending.decoy ? null : await deps.store.getUser(pending.userId);
  if (!pending.decoy && !user) throw new AppError(400, "no_pending_sign_in", msg("login:pending.accountGone"), { title: msg("login:pending.title") });
  if (!user || holdsForVerification({ audience, user, requireVerified: pending.requireVerified })) {
    return checkInboxPage({ email: user?.email ?? pending.decoy!.email, audienceName: audience?.displayName ?? null, loginChallenge, status: 409, error: msg("login:pending.notVerified") });
  }
  return finishSignIn(deps, browser, { loginChallenge, user, audience, ...resumedStepFields(pending), secondFactor: await secondFactorOf(deps, user.id, loginRequest) });
}

/**
 * A password reset by a recovery link that began inside an OAuth flow in this browser, for this
 * account: the step goes on, signed in (without "stay signed in").
 */
export async function signInAfterRecovery(deps: SignInDeps, browser: SignInBrowser, input: { loginChallenge: string; user: User }): Promise<Outcome> {
  const { loginChallenge } = input;
  await ensureNotHandled(deps.store, "login", loginChallenge, deps.hydra);
  const loginRequest = await deps.hydra.getLoginRequest(loginChallenge);
  const membership = await deps.store.getClientMembership(loginRequest.client.client_id ?? "");
  const user = (await deps.store.getUser(input.user.id)) ?? input.user;
  // A reset by mail proves the mailbox only: a user with a second factor is still asked for it.
  return finishSignIn(deps, browser, {
    loginChallenge,
    loginSessionId: loginRequest.session_id,
    user,
    audience: membership?.audience ?? null,
    remember: false,
    startSession: true,
    methods: PASSWORD_AMR,
    secondFactor: await secondFactorOf(deps, user.id, loginRequest),
  });
}
