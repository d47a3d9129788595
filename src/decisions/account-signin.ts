// /account signs in through its own OAuth 2.0 authorization-code + PKCE flow at Hydra, as a
// first-party client (registered by the seed, consent skipped). So the account session comes from
// Hydra's own browser-bound cookies and the user's credentials, never from a challenge in a URL.
// Pure functions: building the authorization request and judging the ID token.
import { createHash, randomBytes } from "node:crypto";

export interface AccountAuthRequest {
  state: string;
  nonce: string;
  codeVerifier: string;
  url: string;
}

export function accountRedirectUri(appBaseUrl: string): string {
  return `${appBaseUrl}/account/callback`;
}

/** The authorization request to Hydra for /account (prompt=login when a fresh sign-in is needed). */
export function accountAuthRequest(opts: {
  hydraPublicUrl: string;
  clientId: string;
  appBaseUrl: string;
  maxAuthAgeSeconds: number;
  freshSignIn: boolean;
  random?: () => string;
}): AccountAuthRequest {
  const rnd = opts.random ?? (() => randomBytes(32).toString("base64url"));
  const state = rnd();
  const nonce = rnd();
  const codeVerifier = rnd();
  const u = new URL(`${opts.hydraPublicUrl}/oauth2/auth`);
  u.searchParams.set("client_id", opts.clientId);
  u.searchParams.set("response_type", "code");
  u.searchParams.set("scope", "openid");
  u.searchParams.set("redirect_uri", accountRedirectUri(opts.appBaseUrl));
  u.searchParams.set("state", state);
  u.searchParams.set("nonce", nonce);
  u.searchParams.set("code_challenge", createHash("sha256").update(codeVerifier).digest("base64url"));
  u.searchParams.set("code_challenge_method", "S256");
  // A sign-in older than this is not enough for the account page: Hydra asks for the password again.
  u.searchParams.set("max_age", String(opts.maxAuthAgeSeconds));
  if (opts.freshSignIn) u.searchParams.set("prompt", "login");
  return { state, nonce, codeVerifier, url: u.toString() };
}

export type IdTokenVerdict = { ok: true; subject: string; authTime: number } | { ok: false; reason: string };

/**
 * Judges the ID token received straight from Hydra's token endpoint (back channel, so the channel
 * vouches for its origin, OIDC Core 3.1.3.7): issuer, audience, nonce, expiry, subject, and that the
 * authentication is recent enough.
 */
export function judgeIdToken(
  payload: Record<string, unknown>,
  expect: { issuer: string; clientId: string; nonce: string; nowSeconds: number; maxAuthAgeSeconds: number },
): IdTokenVerdict {
  const aud = payload.aud;
  const audiences = Array.isArray(aud) ? aud : [aud];
  if (payload.iss !== expect.issuer && payload.iss !== `${expect.issuer}/`) return { ok: false, reason: "issuer" };
  if (!audiences.includes(expect.clientId)) return { ok: false, reason: "audience" };
  if (payload.nonce !== expect.nonce) return { ok: false, reason: "nonce" };
  if (typeof payload.exp !== "number" || payload.exp < expect.nowSeconds) return { ok: false, reason: "expired" };
  if (typeof payload.sub !== "string" || !payload.sub) return { ok: false, reason: "subject" };
  const authTime = typeof payload.auth_time === "number" ? payload.auth_time : NaN;
  if (!Number.isFinite(authTime) || expect.nowSeconds - authTime > expect.maxAuthAgeSeconds + 60) return { ok: false, reason: "auth_time" };
  return { ok: true, subject: payload.sub, authTime };
}


/** The payload of a JWT, without checking its signature (see judgeIdToken for why that is enough here). */
export function jwtPayload(token: string): Record<string, unknown> | null {
  const part = token.split(".")[1];
  if (!part) return null;
  try {
    const v = JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as unknown;
    return v && typeof v === "object" ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
