// Pure: does an introspected token satisfy a resource server (active, its audience, its scopes)?

export interface Introspection {
  active: boolean;
  aud?: string[];
  scope?: string;
  exp?: number;
  sub?: string;
  client_id?: string;
  token_use?: string;
}

export type TokenVerdict =
  | { ok: true; scopes: string[] }
  | { ok: false; status: 401 | 403; error: "invalid_token" | "insufficient_scope"; description: string; missingScopes?: string[] };

export function judgeToken(info: Introspection, required: { audience: string; scopes: readonly string[]; nowSeconds: number }): TokenVerdict {
  if (!info.active) return { ok: false, status: 401, error: "invalid_token", description: "The access token is not active (unknown, expired or revoked)." };
  if (info.token_use && info.token_use !== "access_token") return { ok: false, status: 401, error: "invalid_token", description: "This is not an access token." };
  if (typeof info.exp === "number" && info.exp <= required.nowSeconds) return { ok: false, status: 401, error: "invalid_token", description: "The access token has expired." };
  if (!(info.aud ?? []).includes(required.audience)) {
    return { ok: false, status: 401, error: "invalid_token", description: `The access token is not meant for this service (audience ${required.audience}).` };
  }
  const scopes = (info.scope ?? "").split(" ").filter(Boolean);
  const missing = required.scopes.filter((s) => !scopes.includes(s));
  if (missing.length) {
    return { ok: false, status: 403, error: "insufficient_scope", description: `The access token lacks the scope ${missing.join(" ")}.`, missingScopes: missing };
  }
  return { ok: true, scopes };
}

/** RFC 6750 §3 WWW-Authenticate header value. */
export function wwwAuthenticate(realm: string, verdict?: Extract<TokenVerdict, { ok: false }> | { error: "invalid_request"; description: string }, requiredScopes: readonly string[] = []): string {
  const q = (v: string) => `"${v.replace(/["\\]/g, "")}"`;
  const parts = [`realm=${q(realm)}`];
  if (verdict) {
    parts.push(`error=${q(verdict.error)}`, `error_description=${q(verdict.description)}`);
    if (verdict.error === "insufficient_scope" && requiredScopes.length) parts.push(`scope=${q(requiredScopes.join(" "))}`);
  }
  return `Bearer ${parts.join(", ")}`;
}
