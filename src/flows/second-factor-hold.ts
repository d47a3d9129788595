// A login step held for the second factor: the pending step kept in this browser's session (never
// in the page), and the pages that ask for a code, set up an authenticator, or show recovery codes.
// The step goes on in flows/sign-in-second-factor.ts.
import type { Env } from "../config/env";
import { msg, type Language, type Msg } from "../i18n";
import type { Factors } from "../services/factors";
import type { Passkeys } from "../services/passkeys";
import type { Along } from "../services/db";
import type { Store } from "../services/store";
import { page, type Outcome } from "./outcome";
import { heldStepFields, type AppSession, type PendingSecondFactor, type SessionPort } from "./session";

export interface SecondFactorHoldDeps {
  env: Pick<Env, "BRAND_PRODUCT_NAME">;
  store: Pick<Store, "startTotp" | "secondFactors" | "passkeyCredentials">;
  factors: Pick<Factors, "enrolment">;
  passkeys: Pick<Passkeys, "authenticationOptions" | "available">;
}

/** Which factors the page offers: the authenticator's code, the user's passkeys (their options, JSON). */
export interface FactorChoices {
  totp: boolean;
  passkeyOptions: string | null;
}

/** What the challenge of a second-factor page's passkey options is bound to. */
export const secondFactorPasskeyBinding = (loginChallenge: string) => `second-factor:${loginChallenge}`;

/** The factors the user has, as the second-factor page offers them. */
export async function factorChoices(deps: Pick<SecondFactorHoldDeps, "store" | "passkeys">, userId: string, loginChallenge: string): Promise<FactorChoices> {
  const [factors, credentials] = await Promise.all([deps.store.secondFactors(userId), deps.store.passkeyCredentials(userId)]);
  return {
    totp: Boolean(factors.totp?.confirmed),
    passkeyOptions: credentials.length && deps.passkeys.available ? JSON.stringify(await deps.passkeys.authenticationOptions(secondFactorPasskeyBinding(loginChallenge), credentials)) : null,
  };
}

/** The page asking for the authenticator's code, or a recovery code. */
export function secondFactorPage(view: {
  loginChallenge: string;
  audienceName: string | null;
  choices: FactorChoices;
  error?: Msg;
  status?: number;
  recovery?: boolean;
  headers?: Record<string, string>;
}): Outcome {
  return page(
    "second-factor",
    msg("factors:ask.title"),
    { challenge: view.loginChallenge, audienceName: view.audienceName, error: view.error ?? null, recovery: Boolean(view.recovery), totp: view.choices.totp, passkeyOptions: view.choices.passkeyOptions },
    { status: view.status, form: true, headers: view.headers },
  );
}

/** Setting up an authenticator: the QR code, the secret as text, and the first code that confirms it. */
export function enrolmentPage(view: {
  action: string;
  loginChallenge?: string;
  qr: string;
  secret: string;
  /** Outside a sign-in that just checked it: the current password is asked too. */
  askPassword: boolean;
  required?: boolean;
  error?: Msg;
  /** The field the error is about (marked invalid, described by the error, focused): the code unless said. */
  errorField?: "code" | "password";
  status?: number;
}): Outcome {
  return page(
    "totp-setup",
    msg("factors:setup.title"),
    {
      action: view.action,
      challenge: view.loginChallenge ?? null,
      qr: view.qr,
      // In groups of four, as apps show it and people type it.
      secretGroups: view.secret.match(/.{1,4}/g)!.join(" "),
      askPassword: view.askPassword,
      required: Boolean(view.required),
      error: view.error ?? null,
      errorField: view.error ? (view.errorField ?? "code") : null,
    },
    { status: view.status, form: true },
  );
}

/** The recovery codes, shown once; Continue goes on (`action`). */
export function recoveryCodesPage(view: { codes: string[]; action: string; loginChallenge?: string; heading: "new" | "replaced" }): Outcome {
  return page("recovery-codes", msg("factors:codes.title"), { codes: view.codes, action: view.action, challenge: view.loginChallenge ?? null, heading: view.heading }, { form: true });
}

/**
 * Holds the login step for the user's second factor (`ask`) or its set-up (`enrol`). A step whose
 * user just proved who they are gets a new session id that is not signed in yet, holding only the
 * step (`writes`: the sign-in's own, in its save); otherwise the browser's session keeps it.
 */
export async function holdForSecondFactor(
  deps: SecondFactorHoldDeps,
  browser: Pick<SessionPort, "session" | "save" | "regenerate">,
  o: {
    loginChallenge: string;
    loginSessionId: string | undefined;
    user: { id: string; email: string };
    audience: { displayName: string } | null;
    remember: boolean;
    startSession: boolean;
    keep?: AppSession;
    sessionWithClaim?: { writes?: Along["writes"] };
    clientId?: string;
    newBrowser?: { lng: Language };
  } & { methods?: readonly string[] },
  mode: "ask" | "enrol",
): Promise<Outcome> {
  const pending: PendingSecondFactor = { ...heldStepFields(o), methods: [...(o.methods ?? ["pwd"])], mode };
  if (o.startSession) await browser.regenerate({ ...o.keep, pendingSecondFactor: pending }, o.sessionWithClaim?.writes ? { writes: o.sessionWithClaim.writes } : undefined, !o.remember);
  else {
    browser.session!.pendingSecondFactor = pending;
    await browser.save();
  }
  const audienceName = o.audience?.displayName ?? null;
  if (mode === "ask") return secondFactorPage({ loginChallenge: o.loginChallenge, audienceName, choices: await factorChoices(deps, o.user.id, o.loginChallenge) });
  return enrolmentStart(deps, o.user, { loginChallenge: o.loginChallenge, askPassword: !o.startSession });
}

/** A new authenticator secret for the user (kept unconfirmed) and its set-up page in the sign-in. */
export async function enrolmentStart(
  deps: SecondFactorHoldDeps,
  user: { id: string; email: string },
  view: { loginChallenge: string; askPassword: boolean; error?: Msg; errorField?: "code" | "password"; status?: number },
): Promise<Outcome> {
  const enrolment = await deps.factors.enrolment(user, deps.env.BRAND_PRODUCT_NAME);
  if (!(await deps.store.startTotp(user.id, enrolment.sealedSecret))) {
    // Set up meanwhile (another tab): ask for it instead.
    return secondFactorPage({ loginChallenge: view.loginChallenge, audienceName: null, choices: await factorChoices(deps, user.id, view.loginChallenge) });
  }
  return enrolmentPage({ action: "/login/second-factor/setup", loginChallenge: view.loginChallenge, qr: enrolment.qr, secret: enrolment.secret, askPassword: view.askPassword, required: true, error: view.error, errorField: view.errorField, status: view.status });
}
