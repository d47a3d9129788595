// Signing out: Hydra's logout step (confirm, accept, end the app's session), and this browser's own
// sign-out ("Sign out" on /account, "Not you?" on the consent page), which goes through Hydra's
// logout endpoint and so through that step.
import type { Env } from "../config/env";
import { msg } from "../i18n";
import type { Hydra } from "../services/hydra";
import type { Store } from "../services/store";
import { answerOnce, ensureNotHandled } from "./challenges";
import { page, type Outcome } from "./outcome";

/**
 * Set when this browser itself asked to sign out ("Sign out" on /account; "Not you? Use another
 * account" on the consent page, then holding the authorization request to start again with
 * prompt=login). While it is set, the logout at Hydra that follows is answered without asking, and
 * /signed-out continues to that request if there is one.
 *
 * Signing out goes through Hydra's own logout endpoint, never only through the admin API: Hydra then
 * ends this browser's login session and clears its cookie too, where the admin API would leave the
 * cookie naming an ended session (a later sign-in copes with it: decisions/login.ts loginAcceptance).
 */
export const SIGN_OUT_COOKIE = "signing_out";

/** What starting a sign-out writes to the response (an Express response is one). */
export interface SignOutResponse {
  cookie(name: string, value: string, options: { httpOnly: boolean; secure: boolean; sameSite: "lax"; path: string; maxAge: number }): unknown;
  redirect(status: number, url: string): void;
}

/** Starts this browser's own sign-out at Hydra (see SIGN_OUT_COOKIE); `restart`: the request to continue with. */
export function startBrowserSignOut(res: SignOutResponse, env: Pick<Env, "COOKIE_SECURE" | "HYDRA_PUBLIC_URL">, restart: string | null): void {
  res.cookie(SIGN_OUT_COOKIE, restart ?? "", { httpOnly: true, secure: env.COOKIE_SECURE, sameSite: "lax", path: "/", maxAge: 10 * 60 * 1000 });
  res.redirect(303, `${env.HYDRA_PUBLIC_URL}/oauth2/sessions/logout`);
}

/** The authorization request to continue with after a "Not you?" sign-out: only Hydra's own authorization endpoint. */
export function switchAccountTarget(value: unknown, hydraPublicUrl: string): string | null {
  if (typeof value !== "string" || !value.startsWith(`${hydraPublicUrl}/oauth2/auth?`)) return null;
  return value;
}

export interface LogoutDeps {
  store: Pick<Store, "isChallengeHandled" | "bookkeepingTransaction" | "claimChallenge" | "releaseChallenge">;
  /** The login and consent reads only serve ensureNotHandled's type; the logout step reads its own request. */
  hydra: Pick<Hydra, "getLoginRequest" | "getConsentRequest" | "getLogoutRequest" | "acceptLogout" | "rejectLogout">;
}

/** The app's session in this browser, as the logout step sees it: it can only end. */
export interface EndingSession {
  /** Destroys the session and forgets its cookie. */
  end(): Promise<void>;
}

/** GET /logout: the confirmation page; answered at once when this browser itself asked to sign out (`signingOut`). */
export async function logoutStep(deps: LogoutDeps, input: { challenge: string; signingOut: boolean; session: EndingSession }): Promise<Outcome> {
  const { challenge } = input;
  await ensureNotHandled(deps.store, "logout", challenge, deps.hydra);
  const logoutRequest = await deps.hydra.getLogoutRequest(challenge);
  // The browser itself asked to sign out a moment ago ("Not you?" on the consent page; not an application).
  if (input.signingOut && !logoutRequest.rp_initiated) return signOut(deps, challenge, input.session);
  return page("logout", msg("common:logout.title"), { challenge, clientName: logoutRequest.client?.client_name || logoutRequest.client?.client_id || null }, { form: true });
}

/** POST /logout: the person confirmed ("logout") or chose to stay signed in ("stay"). */
export async function logoutDecision(deps: LogoutDeps, input: { challenge: string; decision: "logout" | "stay"; session: EndingSession }): Promise<Outcome> {
  const { challenge } = input;
  await ensureNotHandled(deps.store, "logout", challenge, deps.hydra);
  if (input.decision === "stay") {
    await answerOnce(deps.store, "logout", challenge, () => deps.hydra.rejectLogout(challenge));
    return page("message", msg("common:logout.stillTitle"), { message: msg("common:logout.still") });
  }
  return signOut(deps, challenge, input.session);
}

/** Accepts the logout at Hydra, then ends the app's session; on to where Hydra continues. */
async function signOut(deps: LogoutDeps, challenge: string, session: EndingSession): Promise<Outcome> {
  const redirectTo = await answerOnce(deps.store, "logout", challenge, () => deps.hydra.acceptLogout(challenge));
  await session.end();
  return { kind: "redirect", to: redirectTo };
}
