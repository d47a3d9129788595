// Applies the admins' configuration to the app's store and to Hydra's clients, idempotently.
// First a plan is computed (what would change); then, unless dry-run, it is carried out.
import argon2 from "argon2";
import type { OAuth2Client } from "@ory/hydra-client";
import type { Hydra } from "../services/hydra";
import type { Store } from "../services/store";
import type { AppConfig, ClientConfig } from "../config/audiences";

export type ChangeKind = "create" | "update" | "unchanged" | "remove";
export interface Change {
  kind: ChangeKind;
  what: "audience" | "scope" | "claim" | "client" | "hydra-client";
  id: string;
  /** Fields that differ (for updates). */
  fields?: string[];
}

export interface ApplyOptions {
  /** The app's store, on a durable pool (services/db.ts createCommandPool): the configuration is an admin's decision. */
  store: Pick<Store, "readConfigurationRows" | "writeConfiguration">;
  hydra: Hydra;
  /** Where client secrets are read from (the variables named by secret-env). */
  secrets: NodeJS.ProcessEnv;
  dryRun?: boolean;
  /** Remove audiences, scopes, claims and clients that are no longer in the file. */
  prune?: boolean;
}

export class ApplyConfigError extends Error {}

/**
 * The app's own first-party client: /account signs in through it (authorization code + PKCE, a
 * public client: no secret to manage; its redirect URI is fixed to the app). Consent is skipped by
 * the app for this client id. APP_BASE_URL and ACCOUNT_CLIENT_ID come from the environment (the
 * same values the app runs with).
 */
export function accountClientFor(source: NodeJS.ProcessEnv): OAuth2Client {
  const base = (source.APP_BASE_URL?.trim() || "http://127.0.0.1:3000").replace(/\/+$/, "");
  if (!/^https?:\/\//.test(base)) throw new ApplyConfigError(`APP_BASE_URL must be an http(s) URL, got "${base}"`);
  return {
    client_id: source.ACCOUNT_CLIENT_ID?.trim() || "account",
    client_name: "Your account",
    redirect_uris: [`${base}/account/callback`],
    post_logout_redirect_uris: [`${base}/`],
    grant_types: ["authorization_code"],
    response_types: ["code"],
    scope: "openid",
    audience: [],
    token_endpoint_auth_method: "none",
    skip_consent: true,
    metadata: { first_party: true },
  };
}

/** Hydra client body for a configured client (without the secret). */
export function hydraClientFor(c: ClientConfig): OAuth2Client {
  return {
    client_id: c.id,
    client_name: c.name,
    redirect_uris: c.redirectUris,
    post_logout_redirect_uris: c.postLogoutRedirectUris,
    grant_types: c.grantTypes,
    response_types: c.responseTypes,
    scope: c.scopes.join(" "),
    audience: c.allowedAudiences,
    token_endpoint_auth_method: c.tokenEndpointAuthMethod,
    skip_consent: false,
    metadata: { audience: c.audience },
    ...(c.logoUri ? { logo_uri: c.logoUri } : {}),
    ...(c.clientUri ? { client_uri: c.clientUri } : {}),
    ...(c.policyUri ? { policy_uri: c.policyUri } : {}),
    ...(c.tosUri ? { tos_uri: c.tosUri } : {}),
  };
}

function sameSet(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  const sa = new Set(a ?? []);
  const sb = new Set(b ?? []);
  return sa.size === sb.size && [...sa].every((x) => sb.has(x));
}

function hydraClientDiff(want: OAuth2Client, have: OAuth2Client): string[] {
  const diff: string[] = [];
  if ((have.client_name ?? "") !== want.client_name) diff.push("client_name");
  for (const k of ["redirect_uris", "post_logout_redirect_uris", "grant_types", "response_types", "audience"] as const) {
    if (!sameSet(want[k], have[k])) diff.push(k);
  }
  if (!sameSet(want.scope?.split(" "), have.scope?.split(" ").filter(Boolean))) diff.push("scope");
  if (have.token_endpoint_auth_method !== want.token_endpoint_auth_method) diff.push("token_endpoint_auth_method");
  if (JSON.stringify(have.metadata ?? {}) !== JSON.stringify(want.metadata ?? {})) diff.push("metadata");
  if (Boolean(have.skip_consent) !== Boolean(want.skip_consent)) diff.push("skip_consent");
  for (const k of ["logo_uri", "client_uri", "policy_uri", "tos_uri"] as const) if ((have[k] ?? "") !== (want[k] ?? "")) diff.push(k);
  return diff;
}

/**
 * A JSON value as canonical text, null when empty. Object keys are sorted: PostgreSQL's jsonb keeps
 * keys in an order of its own, so the file's order would otherwise never compare equal.
 */
function jsonText(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  const sorted = (_key: string, x: unknown) =>
    x && typeof x === "object" && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x;
  return JSON.stringify(v, sorted);
}

function fieldsDiffer<T extends object>(want: T, have: { [K in keyof T]?: unknown } | null | undefined, keys: (keyof T)[]): string[] | null {
  if (!have) return null;
  return keys.filter((k) => want[k] !== have[k]).map(String);
}

export async function applyConfig(config: AppConfig, opts: ApplyOptions): Promise<Change[]> {
  const { store, hydra } = opts;
  const changes: Change[] = [];
  const record = (what: Change["what"], id: string, diff: string[] | null) => {
    const kind: ChangeKind = diff === null ? "create" : diff.length ? "update" : "unchanged";
    changes.push(diff && diff.length ? { kind, what, id, fields: diff } : { kind, what, id });
    return kind;
  };

  // Secrets first: a missing one stops everything before anything is written.
  const secrets = new Map<string, string>();
  const missing: string[] = [];
  for (const c of config.clients) {
    if (!c.secretEnv) continue;
    const v = opts.secrets[c.secretEnv];
    if (!v) missing.push(`${c.secretEnv} (client ${c.id})`);
    else if (v.length < 16) missing.push(`${c.secretEnv} (client ${c.id}) must be at least 16 characters`);
    else secrets.set(c.id, v);
  }
  if (missing.length) throw new ApplyConfigError(`Client secrets missing or too short in the environment: ${missing.join(", ")}`);

  // ---- plan against the app's store
  const { audiences, scopes, claims, clients } = await store.readConfigurationRows();
  const audRows = new Map(audiences.map((a) => [a.id, a]));
  const scopeRows = new Map(scopes.map((s) => [s.name, s]));
  const claimRows = new Map(claims.map((c) => [c.name, c]));
  const clientRows = new Map(clients.map((c) => [c.id, c]));

  const audienceData = config.audiences.map((a) => ({
    id: a.id,
    displayName: a.name,
    tokenAudience: a.tokenAudience,
    signUpEnabled: a.signUpEnabled,
    invitationEnabled: a.invitationEnabled,
    requireVerifiedEmail: a.requireVerifiedEmail,
    mfa: a.mfa,
    startUrl: a.startUrl,
    brandName: a.brandName,
    brandLogo: a.brandLogo,
    consentTtlSeconds: a.consentTtlSeconds,
  }));
  const audienceWrites = audienceData.filter(
    (a) =>
      record(
        "audience",
        a.id,
        fieldsDiffer(a, audRows.get(a.id), ["displayName", "tokenAudience", "signUpEnabled", "invitationEnabled", "requireVerifiedEmail", "mfa", "startUrl", "brandName", "brandLogo", "consentTtlSeconds"]),
      ) !== "unchanged",
  );
  // A description per language is kept whole (descriptions) and, for plain readers, its English text (description).
  const scopeData = config.scopes.map((s) => {
    const perLanguage = s.description && typeof s.description === "object" ? s.description : null;
    return {
      name: s.name,
      description: perLanguage ? (perLanguage.en ?? Object.values(perLanguage)[0] ?? null) : (s.description as string | null),
      descriptions: perLanguage ? jsonText(perLanguage) : null,
      audienceId: s.audience,
      optional: s.optional,
    };
  });
  // The stored descriptions (JSON) are compared as text; a scope without a row is created.
  const scopeRow = (name: string) => {
    const row = scopeRows.get(name);
    return row && { ...row, descriptions: jsonText(row.descriptions) };
  };
  const scopeWrites = scopeData
    .filter((s) => record("scope", s.name, fieldsDiffer(s, scopeRow(s.name), ["description", "descriptions", "audienceId", "optional"])) !== "unchanged")
    .map((s) => ({ ...s, descriptions: s.descriptions === null ? null : (JSON.parse(s.descriptions) as Record<string, string>) }));
  const claimData = config.claims.map((c) => ({ name: c.name, scope: c.scope, source: c.source, audienceId: c.audience }));
  const claimWrites = claimData.filter((c) => record("claim", c.name, fieldsDiffer(c, claimRows.get(c.name), ["scope", "source", "audienceId"])) !== "unchanged");

  // ---- plan against Hydra
  const hydraWrites: { config: ClientConfig; body: OAuth2Client; exists: boolean; secretHash: string | null }[] = [];
  const clientWrites: { id: string; audienceId: string; displayName: string; secretHash: string | null; optionalScopes: string[] }[] = [];
  for (const c of config.clients) {
    const body = hydraClientFor(c);
    const secret = secrets.get(c.id);
    const row = clientRows.get(c.id);
    const have = await hydra.getClient(c.id);
    const secretChanged = secret !== undefined && !(row?.secretHash && (await argon2.verify(row.secretHash, secret).catch(() => false)));
    const diff = have ? hydraClientDiff(body, have) : null;
    if (diff && secretChanged) diff.push("client_secret");
    const kind = record("hydra-client", c.id, diff);
    const secretHash = secret === undefined ? null : secretChanged ? await argon2.hash(secret) : row!.secretHash;
    if (kind !== "unchanged") hydraWrites.push({ config: c, body: secret !== undefined ? { ...body, client_secret: secret } : body, exists: !!have, secretHash });
    // The optional scopes are compared as one text (arrays compare by identity).
    const optional = c.optionalScopes.join(" ");
    const stored = row && { ...row, optionalScopes: (row.optionalScopes ?? []).join(" ") };
    const membershipKind = record("client", c.id, fieldsDiffer({ audienceId: c.audience, displayName: c.name, secretHash, optionalScopes: optional }, stored, ["audienceId", "displayName", "secretHash", "optionalScopes"]));
    if (membershipKind !== "unchanged") clientWrites.push({ id: c.id, audienceId: c.audience, displayName: c.name, secretHash, optionalScopes: c.optionalScopes });
  }

  // ---- the app's own client for /account (not in the file: it belongs to no audience)
  const account = accountClientFor(opts.secrets);
  if (config.clients.some((c) => c.id === account.client_id)) {
    throw new ApplyConfigError(`clients: the id "${account.client_id}" is reserved for the account page's own client (ACCOUNT_CLIENT_ID); choose another id`);
  }
  const haveAccount = await hydra.getClient(account.client_id!);
  if (record("hydra-client", account.client_id!, haveAccount ? hydraClientDiff(account, haveAccount) : null) !== "unchanged") {
    hydraWrites.push({ config: { id: account.client_id! } as ClientConfig, body: account, exists: !!haveAccount, secretHash: null });
  }

  // ---- things in the store but not in the file
  const inFile = {
    audience: new Set(config.audiences.map((a) => a.id)),
    scope: new Set(config.scopes.map((s) => s.name)),
    claim: new Set(config.claims.map((c) => c.name)),
    client: new Set(config.clients.map((c) => c.id)),
  };
  const removals = {
    clients: clients.filter((c) => !inFile.client.has(c.id)).map((c) => c.id),
    claims: claims.filter((c) => !inFile.claim.has(c.name)).map((c) => c.name),
    scopes: scopes.filter((s) => !inFile.scope.has(s.name)).map((s) => s.name),
    audiences: audiences.filter((a) => !inFile.audience.has(a.id)).map((a) => a.id),
  };
  removals.clients.forEach((id) => changes.push({ kind: "remove", what: "client", id }));
  removals.claims.forEach((id) => changes.push({ kind: "remove", what: "claim", id }));
  removals.scopes.forEach((id) => changes.push({ kind: "remove", what: "scope", id }));
  removals.audiences.forEach((id) => changes.push({ kind: "remove", what: "audience", id }));

  if (opts.dryRun) return changes;

  // ---- apply: the store in one transaction, then Hydra (idempotent, so a rerun completes a partial run)
  await store.writeConfiguration({
    audiences: audienceWrites,
    scopes: scopeWrites,
    claims: claimWrites,
    clients: clientWrites,
    remove: opts.prune ? removals : undefined,
  });
  for (const w of hydraWrites) {
    if (w.exists) await hydra.setClient(w.config.id, w.body);
    else await hydra.createClient(w.body);
  }
  if (opts.prune) {
    for (const id of removals.clients) {
      if (await hydra.getClient(id)) await hydra.deleteClient(id);
    }
  }
  return changes;
}

export function formatChanges(changes: Change[], dryRun: boolean, prune: boolean): string {
  const lines = changes
    .filter((c) => c.kind !== "unchanged")
    .map((c) => {
      const verb = c.kind === "remove" ? (prune ? (dryRun ? "would remove" : "removed") : "not in the file (kept; use --prune to remove)") : dryRun ? `would ${c.kind}` : `${c.kind}d`;
      return `  ${c.what} ${c.id}: ${verb}${c.fields ? ` (${c.fields.join(", ")})` : ""}`;
    });
  const unchanged = changes.filter((c) => c.kind === "unchanged").length;
  return [...lines, `  ${unchanged} unchanged`].join("\n");
}
