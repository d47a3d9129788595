// Pure decisions of the login step (no I/O).
import type { AcceptOAuth2LoginRequest } from "@ory/hydra-client";
import { msg, type Msg } from "../i18n";

export type LoginStart = { kind: "accept"; subject: string } | { kind: "form" };

/** Hydra already knows the user (remembered session) → accept at once; otherwise ask for credentials. */
export function decideLoginStart(req: { skip?: boolean; subject?: string }): LoginStart {
  if (req.skip && req.subject) return { kind: "accept", subject: req.subject };
  return { kind: "form" };
}

/**
 * The authentication context classes a login is accepted with (the ID token's `acr`): `aal1` is
 * one factor (a password), `aal2` two (a password and a second factor) — NIST SP 800-63B's levels,
 * as Ory Kratos names them.
 */
export const ACR = { oneFactor: "aal1", twoFactors: "aal2" } as const;

/** The methods a password sign-in used (the ID token's `amr`, RFC 8176). */
export const PASSWORD_AMR = ["pwd"];

/**
 * What the login step accepts at Hydra: the stable user id as subject, never the email; how the
 * person proved it; how long Hydra remembers the browser. Always remembered: "stay signed in" gives
 * the configured lifetime, unticked remember_for 0 (Hydra's cookie then has no expiry: it ends with
 * the browser). remember false would make Hydra delete the login session its cookie names, which
 * fails when that session was revoked elsewhere, and the person would land at the client with an error.
 */
export function loginAcceptance(opts: {
  userId: string;
  /** "Stay signed in" was ticked. */
  remember: boolean;
  rememberForSeconds: number;
  audienceId: string | null;
  /** How strongly (decisions/second-factor.ts strengthOf); a password's when unset. */
  acr?: string;
  amr?: string[];
}): AcceptOAuth2LoginRequest {
  return {
    subject: opts.userId,
    remember: true,
    remember_for: opts.remember ? opts.rememberForSeconds : 0,
    acr: opts.acr ?? ACR.oneFactor,
    amr: opts.amr ?? PASSWORD_AMR,
    context: { audience: opts.audienceId },
  };
}

/** Whether the login step must wait until the user's address is verified (audience require-verified-email). */
export function mustVerifyFirst(audience: { requireVerifiedEmail: boolean } | null, user: { emailVerified: boolean; pendingSince: Date | null }): boolean {
  // A self sign-up nobody confirmed may be someone else's claim on the address: it signs in nowhere.
  if (user.pendingSince !== null && !user.emailVerified) return true;
  return Boolean(audience?.requireVerifiedEmail) && !user.emailVerified;
}

/** "30 days", "12 hours", "45 minutes": how long "stay signed in" lasts, in words (i18next plurals). */
export function rememberPeriod(seconds: number): Msg {
  if (seconds >= 2 * 86400) return msg("login:period.day", { count: Math.round(seconds / 86400) });
  if (seconds >= 2 * 3600) return msg("login:period.hour", { count: Math.round(seconds / 3600) });
  return msg("login:period.minute", { count: Math.max(1, Math.round(seconds / 60)) });
}

/**
 * The application's ui_locales for this login step: Hydra's oidc_context.ui_locales (a list), else
 * the ui_locales parameter of the original authorization request.
 */
export function uiLocalesOf(loginRequest: { oidc_context?: { ui_locales?: string[] }; request_url: string }): string[] | string | undefined {
  const fromHydra = loginRequest.oidc_context?.ui_locales;
  if (fromHydra?.length) return fromHydra;
  try {
    return new URL(loginRequest.request_url).searchParams.get("ui_locales") ?? undefined;
  } catch {
    return undefined;
  }
}
