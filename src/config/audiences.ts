// The admins' declarative configuration: audiences, scopes, claims, clients, admin.
// Parsed and validated with zod (config/config-file.ts: each field's rule); every error names its path and the rule it broke.
import fs from "node:fs";
import YAML from "yaml";
import { ConfigFileSchema, durationSeconds, RESERVED_CLAIMS } from "./config-file";
import { BUILT_IN_SCOPES, STANDARD_CLAIM_SOURCES } from "../decisions/scopes";

export { AUDIENCE_ID_PATTERN, isAllowedUrl, isNativeAppRedirect, type ConfigFile } from "./config-file";

import type { MfaPolicy } from "../decisions/second-factor";
export type { MfaPolicy };

export interface AudienceConfig {
  id: string;
  name: string;
  tokenAudience: string;
  signUpEnabled: boolean;
  invitationEnabled: boolean;
  requireVerifiedEmail: boolean;
  /** Second factors: off, optional (users who set one up are asked for it), required. */
  mfa: MfaPolicy;
  startUrl: string | null;
  brandName: string | null;
  brandLogo: string | null;
  /** How long a consent lasts, in seconds (null: until revoked). */
  consentTtlSeconds: number | null;
}
export interface ScopeConfig {
  name: string;
  /** One text, or one per language. */
  description: string | Record<string, string> | null;
  audience: string | null;
  /** The user may untick it on the consent page. */
  optional: boolean;
}
export interface ClaimConfig {
  name: string;
  scope: string;
  source: string;
  audience: string | null;
}
export interface ClientConfig {
  id: string;
  name: string;
  audience: string;
  secretEnv: string | null;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  grantTypes: string[];
  responseTypes: string[];
  scopes: string[];
  /** Scopes the user may untick on the consent page for this client (besides the scopes declared optional). */
  optionalScopes: string[];
  /** Token audiences the client may request: its audience's token-audience first, then the extra ones. */
  allowedAudiences: string[];
  tokenEndpointAuthMethod: "client_secret_basic" | "client_secret_post" | "none";
  logoUri: string | null;
  clientUri: string | null;
  policyUri: string | null;
  tosUri: string | null;
}
export interface AppConfig {
  audiences: AudienceConfig[];
  scopes: ScopeConfig[];
  claims: ClaimConfig[];
  clients: ClientConfig[];
  adminAudience: string | null;
}

export class AudienceConfigError extends Error {
  constructor(public readonly problems: string[], source = "configuration") {
    super(`Invalid ${source}:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "AudienceConfigError";
  }
}

function pathOf(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, k) => (typeof k === "number" ? `${acc}[${k}]` : acc ? `${acc}.${String(k)}` : String(k)), "") || "(root)";
}

/** Validates a parsed configuration object; throws AudienceConfigError listing every problem with its path. */
export function parseAppConfig(raw: unknown, source?: string): AppConfig {
  const parsed = ConfigFileSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    throw new AudienceConfigError(parsed.error.issues.map((i) => `${pathOf(i.path)}: ${i.message}`), source);
  }
  const file = parsed.data;
  const problems: string[] = [];
  const prefix = file["identifier-prefix"];

  const audienceIds = new Set<string>();
  file.audiences.forEach((a, i) => {
    if (audienceIds.has(a.id)) problems.push(`audiences[${i}].id: duplicate audience "${a.id}"`);
    audienceIds.add(a.id);
    if (prefix && !a.id.startsWith(prefix)) problems.push(`audiences[${i}].id: "${a.id}" must start with the identifier prefix "${prefix}"`);
  });
  const tokenAudiences = new Map<string, string>();
  for (const a of file.audiences) {
    const ta = a["token-audience"] ?? a.id;
    const other = tokenAudiences.get(ta);
    if (other && other !== a.id) problems.push(`audiences: "${a.id}" and "${other}" share the token-audience "${ta}"`);
    tokenAudiences.set(ta, a.id);
  }
  const knownAudience = (id: string | undefined, path: string) => {
    if (id !== undefined && !audienceIds.has(id)) problems.push(`${path}: unknown audience "${id}" (declare it under audiences)`);
  };

  const admin = file.admin;
  if (admin) knownAudience(admin.audience, "admin.audience");

  const scopes: ScopeConfig[] = [];
  const scopeByName = new Map<string, ScopeConfig>();
  const addScope = (s: { name: string; description?: string | Record<string, string>; audience?: string; optional?: boolean }, path: string) => {
    if (BUILT_IN_SCOPES.has(s.name)) {
      problems.push(`${path}.name: "${s.name}" is a built-in OpenID Connect scope and cannot be redeclared`);
      return;
    }
    if (scopeByName.has(s.name)) {
      problems.push(`${path}.name: duplicate scope "${s.name}"`);
      return;
    }
    const sc = { name: s.name, description: s.description ?? null, audience: s.audience ?? null, optional: s.optional ?? false };
    scopeByName.set(s.name, sc);
    scopes.push(sc);
  };
  file.scopes.forEach((s, i) => {
    knownAudience(s.audience, `scopes[${i}].audience`);
    addScope(s, `scopes[${i}]`);
  });
  admin?.scopes.forEach((s, i) => addScope({ ...s, audience: admin.audience }, `admin.scopes[${i}]`));

  const visibleTo = (scope: string, audience: string): boolean | undefined => {
    if (BUILT_IN_SCOPES.has(scope)) return true;
    const sc = scopeByName.get(scope);
    if (!sc) return undefined;
    return sc.audience === null || sc.audience === audience;
  };

  const claimNames = new Set<string>();
  const claims: ClaimConfig[] = file.claims.map((c, i) => {
    knownAudience(c.audience, `claims[${i}].audience`);
    if (claimNames.has(c.name)) problems.push(`claims[${i}].name: duplicate claim "${c.name}"`);
    if (RESERVED_CLAIMS.has(c.name)) problems.push(`claims[${i}].name: "${c.name}" is reserved (set by Hydra or the token format)`);
    else if (Object.hasOwn(STANDARD_CLAIM_SOURCES, c.name)) problems.push(`claims[${i}].name: "${c.name}" is released by the "${STANDARD_CLAIM_SOURCES[c.name]!.scope}" scope already and cannot be redeclared`);
    claimNames.add(c.name);
    if (!BUILT_IN_SCOPES.has(c.scope) && !scopeByName.has(c.scope)) problems.push(`claims[${i}].scope: unknown scope "${c.scope}"`);
    else if (c.audience && visibleTo(c.scope, c.audience) === false) {
      problems.push(`claims[${i}].scope: scope "${c.scope}" is not visible to the claim's audience "${c.audience}"`);
    }
    return { name: c.name, scope: c.scope, source: c.source, audience: c.audience ?? null };
  });

  const clientIds = new Set<string>();
  const audienceById = new Map(file.audiences.map((a) => [a.id, a]));
  const clients: ClientConfig[] = file.clients.map((c, i) => {
    const path = `clients[${i}]`;
    if (clientIds.has(c.id)) problems.push(`${path}.id: duplicate client "${c.id}"`);
    clientIds.add(c.id);
    knownAudience(c.audience, `${path}.audience`);
    c.scopes.forEach((s, j) => {
      const v = visibleTo(s, c.audience);
      if (v === undefined) problems.push(`${path}.scopes[${j}]: unknown scope "${s}" (declare it under scopes)`);
      else if (!v) problems.push(`${path}.scopes[${j}]: scope "${s}" belongs to audience "${scopeByName.get(s)?.audience}", not to the client's audience "${c.audience}"`);
    });
    c["optional-scopes"].forEach((s, j) => {
      if (s === "openid") problems.push(`${path}.optional-scopes[${j}]: "openid" is what signing in is; it cannot be optional`);
      else if (!c.scopes.includes(s)) problems.push(`${path}.optional-scopes[${j}]: "${s}" is not one of the client's scopes`);
    });
    const authMethod = c["token-endpoint-auth-method"] ?? (c["secret-env"] ? "client_secret_basic" : "none");
    if (authMethod === "none" && c["secret-env"]) problems.push(`${path}.token-endpoint-auth-method: "none" (public client) cannot have a secret-env`);
    if (authMethod !== "none" && !c["secret-env"]) problems.push(`${path}.secret-env: a confidential client (${authMethod}) needs the name of the environment variable holding its secret`);
    if (c["grant-types"].includes("client_credentials") && authMethod === "none") problems.push(`${path}.grant-types: client_credentials needs a confidential client (set secret-env)`);
    if (c["grant-types"].includes("authorization_code") && c["redirect-uris"].length === 0) problems.push(`${path}.redirect-uris: required for the authorization_code grant`);
    const own = audienceById.get(c.audience);
    const ownToken = own ? (own["token-audience"] ?? own.id) : c.audience;
    return {
      id: c.id,
      name: c.name ?? c.id,
      audience: c.audience,
      secretEnv: c["secret-env"] ?? null,
      redirectUris: c["redirect-uris"],
      postLogoutRedirectUris: c["post-logout-redirect-uris"],
      grantTypes: c["grant-types"],
      responseTypes: c["response-types"],
      scopes: [...new Set(c.scopes)],
      optionalScopes: [...new Set(c["optional-scopes"])],
      allowedAudiences: [...new Set([ownToken, ...c["allowed-audiences"]])],
      tokenEndpointAuthMethod: authMethod,
      logoUri: c["logo-uri"] ?? null,
      clientUri: c["client-uri"] ?? null,
      policyUri: c["policy-uri"] ?? null,
      tosUri: c["tos-uri"] ?? null,
    };
  });

  if (problems.length) throw new AudienceConfigError(problems, source);

  return {
    audiences: file.audiences.map((a) => ({
      id: a.id,
      name: a.name ?? a.id,
      tokenAudience: a["token-audience"] ?? a.id,
      signUpEnabled: a["sign-up-enabled"],
      invitationEnabled: a["invitation-enabled"],
      requireVerifiedEmail: a["require-verified-email"],
      mfa: a.mfa,
      startUrl: a["start-url"] ?? null,
      brandName: a.brand?.name ?? null,
      brandLogo: a.brand?.logo ?? null,
      consentTtlSeconds: a["consent-ttl"] ? durationSeconds(a["consent-ttl"]) : null,
    })),
    scopes,
    claims,
    clients,
    adminAudience: admin?.audience ?? null,
  };
}

/** Reads a YAML or JSON configuration file and validates it. */
export function loadAppConfigFile(file: string): AppConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new AudienceConfigError([`cannot read ${file}: ${(err as Error).message}`], file);
  }
  let raw: unknown;
  try {
    raw = file.endsWith(".json") ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    throw new AudienceConfigError([`not valid ${file.endsWith(".json") ? "JSON" : "YAML"}: ${(err as Error).message}`], file);
  }
  return parseAppConfig(raw, file);
}
