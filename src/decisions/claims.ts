// Pure: which claims go into the ID token / userinfo for a grant.
import { STANDARD_CLAIM_SOURCES } from "./scopes";

export interface ClaimDef {
  name: string;
  scope: string;
  /** A user field ("email", "name", …, "id") or "attributes.<key>". */
  source: string;
  /** null: visible to every audience. */
  audience: string | null;
}

export interface ClaimUser {
  id: string;
  email: string;
  emailVerified: boolean;
  name: string | null;
  givenName: string | null;
  familyName: string | null;
  attributes: unknown;
}

function valueOf(user: ClaimUser, source: string): unknown {
  if (source.startsWith("attributes.")) {
    const attrs = user.attributes;
    if (!attrs || typeof attrs !== "object" || Array.isArray(attrs)) return undefined;
    const key = source.slice("attributes.".length);
    return Object.hasOwn(attrs, key) ? (attrs as Record<string, unknown>)[key] : undefined;
  }
  switch (source) {
    case "id": return user.id;
    case "email": return user.email;
    case "email_verified": return user.emailVerified;
    case "name": return user.name;
    case "given_name": return user.givenName;
    case "family_name": return user.familyName;
    default: return undefined;
  }
}

/**
 * The claims released to a client of `audienceId` for the granted scopes: the standard ones
 * (profile → name, given_name, family_name; email → email, email_verified) and the declared ones
 * whose scope is granted and whose audience is unset or this audience. Empty values are left out.
 */
export function releasedClaims(user: ClaimUser, grantedScopes: readonly string[], audienceId: string, defs: readonly ClaimDef[]): Record<string, unknown> {
  const granted = new Set(grantedScopes);
  const entries: [string, unknown][] = [];
  for (const [name, { scope, source }] of Object.entries(STANDARD_CLAIM_SOURCES)) {
    if (granted.has(scope)) entries.push([name, valueOf(user, source)]);
  }
  for (const def of defs) {
    if (!granted.has(def.scope)) continue;
    if (def.audience !== null && def.audience !== audienceId) continue;
    entries.push([def.name, valueOf(user, def.source)]);
  }
  return Object.fromEntries(entries.filter(([, v]) => v !== undefined && v !== null && v !== ""));
}
