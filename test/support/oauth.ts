// What an OAuth 2.0 client does: build the authorization URL, exchange the code, introspect.
import { randomBytes, createHash } from "node:crypto";
import type { Stack } from "./stack";
import type { Browser, Page } from "./browser";

export interface AuthParams {
  clientId: string;
  redirectUri: string;
  scope: string;
  prompt?: string;
  audience?: string[];
  /** PKCE verifier (public clients). */
  codeVerifier?: string;
  /** Further authorization request parameters, e.g. include_granted_scopes. */
  extra?: Record<string, string>;
}

export function authorizationUrl(stack: Stack, p: AuthParams & { state: string; nonce: string }): string {
  const u = new URL(`${stack.hydraPublicUrl}/oauth2/auth`);
  u.searchParams.set("client_id", p.clientId);
  u.searchParams.set("response_type", "code");
  u.searchParams.set("redirect_uri", p.redirectUri);
  u.searchParams.set("scope", p.scope);
  u.searchParams.set("state", p.state);
  u.searchParams.set("nonce", p.nonce);
  if (p.prompt) u.searchParams.set("prompt", p.prompt);
  if (p.audience?.length) u.searchParams.set("audience", p.audience.join(" "));
  for (const [k, v] of Object.entries(p.extra ?? {})) u.searchParams.set(k, v);
  if (p.codeVerifier) {
    u.searchParams.set("code_challenge", createHash("sha256").update(p.codeVerifier).digest("base64url"));
    u.searchParams.set("code_challenge_method", "S256");
  }
  return u.toString();
}

export interface AuthStart {
  state: string;
  nonce: string;
  page: Page;
}

/** Opens the authorization URL in the browser and follows redirects to the first page (or the callback). */
export async function startAuthorization(browser: Browser, stack: Stack, p: AuthParams): Promise<AuthStart> {
  const state = randomBytes(12).toString("hex");
  const nonce = randomBytes(12).toString("hex");
  const page = await browser.get(authorizationUrl(stack, { ...p, state, nonce }), { stopAt: [p.redirectUri] });
  return { state, nonce, page };
}

/** Reads the callback URL Hydra redirected to; checks the state. */
export function callbackParams(page: Page, redirectUri: string, state: string): URLSearchParams {
  if (!page.url.startsWith(redirectUri)) {
    throw new Error(`expected a redirect to ${redirectUri}, got ${page.url} (status ${page.status}):\n${page.html.slice(0, 1500)}`);
  }
  const params = new URL(page.url).searchParams;
  if (params.get("state") !== state) throw new Error(`state mismatch: ${params.get("state")} !== ${state}`);
  return params;
}

export interface TokenResponse {
  access_token: string;
  id_token?: string;
  refresh_token?: string;
  scope: string;
  token_type: string;
  expires_in: number;
}

export async function tokenRequest(stack: Stack, body: Record<string, string>, auth?: { clientId: string; secret: string }): Promise<{ status: number; json: any }> {
  const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded", accept: "application/json" };
  if (auth) headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(auth.clientId)}:${encodeURIComponent(auth.secret)}`).toString("base64")}`;
  const res = await fetch(`${stack.hydraPublicUrl}/oauth2/token`, { method: "POST", headers, body: new URLSearchParams(body) });
  return { status: res.status, json: await res.json() };
}

export async function exchangeCode(
  stack: Stack,
  p: { clientId: string; secret?: string; code: string; redirectUri: string; codeVerifier?: string },
): Promise<TokenResponse> {
  const body: Record<string, string> = { grant_type: "authorization_code", code: p.code, redirect_uri: p.redirectUri };
  if (p.codeVerifier) body.code_verifier = p.codeVerifier;
  if (!p.secret) body.client_id = p.clientId;
  const { status, json } = await tokenRequest(stack, body, p.secret ? { clientId: p.clientId, secret: p.secret } : undefined);
  if (status !== 200) throw new Error(`token endpoint answered ${status}: ${JSON.stringify(json)}`);
  return json as TokenResponse;
}

export async function introspect(stack: Stack, token: string): Promise<Record<string, any>> {
  const res = await fetch(`${stack.hydraAdminUrl}/admin/oauth2/introspect`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token }),
  });
  if (!res.ok) throw new Error(`introspection answered ${res.status}`);
  return (await res.json()) as Record<string, any>;
}

export async function userinfo(stack: Stack, accessToken: string): Promise<{ status: number; json: Record<string, any> }> {
  const res = await fetch(`${stack.hydraPublicUrl}/userinfo`, { headers: { authorization: `Bearer ${accessToken}` } });
  return { status: res.status, json: (await res.json()) as Record<string, any> };
}

/** The payload of a JWT (the ID token comes straight from Hydra's token endpoint over loopback). */
export function jwtPayload(token: string): Record<string, any> {
  const part = token.split(".")[1];
  if (!part) throw new Error("not a JWT");
  return JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
}
