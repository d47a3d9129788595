// The admins' configuration: tables audiences, clients (their membership), scopes and claims, written
// by the seed; and config_version, which every write to them raises while sending NOTIFY app_config
// (triggers in the migration). Read from a configuration cache's snapshot when one is given and
// loaded (services/config-cache.ts holds it in memory; loadConfigSnapshot reads it), else from the tables.
import type { ClaimDef } from "../decisions/claims";
import type { DeclaredDescription } from "../decisions/scopes";
import type { Connection, JsonValue, Queryable } from "./sql";
import type { AUDIENCES, Row } from "./tables";

/** An audiences row (its columns: tables.ts AUDIENCES). */
export type Audience = Row<typeof AUDIENCES>;

export interface ClientMembership {
  clientId: string;
  audience: Audience;
}

/** The audiences row `t`'s columns, named with `as` before each (for joins). */
export function audienceColumns(t: string, as = ""): string {
  return `${t}.id AS ${as}id, ${t}.display_name AS ${as}display_name, ${t}.token_audience AS ${as}token_audience,
  ${t}.sign_up_enabled AS ${as}sign_up_enabled, ${t}.invitation_enabled AS ${as}invitation_enabled,
  ${t}.require_verified_email AS ${as}require_verified_email, ${t}.mfa AS ${as}mfa, ${t}.start_url AS ${as}start_url, ${t}.brand_name AS ${as}brand_name,
  ${t}.brand_logo AS ${as}brand_logo, ${t}.consent_ttl_seconds AS ${as}consent_ttl_seconds, ${t}.created_at AS ${as}created_at, ${t}.updated_at AS ${as}updated_at`;
}
const AUDIENCE_COLUMNS = audienceColumns("a");
/** The audience `a` of a join, its columns named a_… (read back with audienceOf(row, "a_")). */
export const JOINED_AUDIENCE_COLUMNS = audienceColumns("a", "a_");

/**
 * An Audience from a row of audienceColumns(…, as). `json`: the row went through row_to_json
 * (timestamps as text, with their offset).
 */
export function audienceOf(r: Record<string, unknown>, as = "", json = false): Audience {
  const at = (k: string) => (json ? new Date(String(r[as + k])) : (r[as + k] as Date));
  return {
    id: r[`${as}id`] as string,
    displayName: r[`${as}display_name`] as string,
    tokenAudience: r[`${as}token_audience`] as string,
    signUpEnabled: r[`${as}sign_up_enabled`] as boolean,
    invitationEnabled: r[`${as}invitation_enabled`] as boolean,
    requireVerifiedEmail: r[`${as}require_verified_email`] as boolean,
    mfa: r[`${as}mfa`] as Audience["mfa"],
    startUrl: r[`${as}start_url`] as string | null,
    brandName: r[`${as}brand_name`] as string | null,
    brandLogo: r[`${as}brand_logo`] as string | null,
    consentTtlSeconds: r[`${as}consent_ttl_seconds`] as number | null,
    createdAt: at("created_at"),
    updatedAt: at("updated_at"),
  };
}

/** A scope's declared description from its columns: one text per language (descriptions), else one text, else none. */
function declaredDescription(description: string | null, descriptions: JsonValue): DeclaredDescription | null {
  const perLanguage = descriptions && typeof descriptions === "object" && !Array.isArray(descriptions) ? (descriptions as Record<string, string>) : null;
  return perLanguage ?? (description || null);
}

export interface ConfigSnapshot {
  version: bigint;
  audiences: ReadonlyMap<string, Audience>;
  /** client id → its audience id. */
  clientAudience: ReadonlyMap<string, string>;
  /** audience id → its client ids. */
  audienceClients: ReadonlyMap<string, readonly string[]>;
  /** scope name → the audience it is limited to (null: every audience). */
  scopeOwners: ReadonlyMap<string, string | null>;
  scopeDescriptions: ReadonlyMap<string, DeclaredDescription>;
  /** Scopes declared optional (the user may untick them). */
  optionalScopes: ReadonlySet<string>;
  /** client id → the scopes it marks optional for itself. */
  clientOptionalScopes: ReadonlyMap<string, readonly string[]>;
  claims: readonly ClaimDef[];
}

/** What the store reads the configuration from instead of the tables (a configuration cache). */
export interface ConfigSource {
  /** The configuration; null until it could be read once: the store then reads the tables. */
  current(): ConfigSnapshot | null;
}

/** The channel of the migration's NOTIFY on every configuration change. */
export const CONFIG_CHANNEL = "app_config";

const VERSION = "SELECT version::text AS version FROM config_version WHERE id = 1";

/**
 * The whole configuration in one statement: one consistent snapshot (every part of a statement sees
 * the same snapshot), one round trip. Each table comes back as a JSON array (audiences' timestamps
 * as text with their offset).
 */
const SNAPSHOT = `
  SELECT (${VERSION}) AS version,
         (SELECT coalesce(json_agg(x ORDER BY x.id), '[]') FROM (SELECT ${audienceColumns("a")} FROM audiences a) x) AS audiences,
         (SELECT coalesce(json_agg(json_build_object('id', id, 'audienceId', audience_id, 'optionalScopes', coalesce(optional_scopes, '{}')) ORDER BY id), '[]') FROM clients) AS clients,
         (SELECT coalesce(json_agg(json_build_object('name', name, 'audienceId', audience_id, 'description', description, 'descriptions', descriptions, 'optional', optional) ORDER BY name), '[]')
            FROM scopes) AS scopes,
         (SELECT coalesce(json_agg(json_build_object('name', name, 'scope', scope, 'source', source, 'audienceId', audience_id) ORDER BY name), '[]')
            FROM claims) AS claims`;

interface SnapshotRow {
  version: string | null;
  audiences: Record<string, unknown>[];
  clients: { id: string; audienceId: string; optionalScopes: string[] }[];
  scopes: { name: string; audienceId: string | null; description: string | null; descriptions: JsonValue; optional: boolean }[];
  claims: { name: string; scope: string; source: string; audienceId: string | null }[];
}

/** Reads the whole configuration in one consistent snapshot (`q`: the server's pool). */
export async function loadConfigSnapshot(q: Queryable): Promise<ConfigSnapshot> {
  const { rows } = await q.query<SnapshotRow>(SNAPSHOT);
  const { version, clients, scopes, claims } = rows[0]!;
  const audiences = rows[0]!.audiences.map((a) => audienceOf(a, "", true));
  const audienceClients = new Map<string, string[]>();
  for (const c of clients) audienceClients.set(c.audienceId, [...(audienceClients.get(c.audienceId) ?? []), c.id]);
  const scopeDescriptions = new Map<string, DeclaredDescription>();
  for (const s of scopes) {
    const declared = declaredDescription(s.description, s.descriptions);
    if (declared) scopeDescriptions.set(s.name, declared);
  }
  return {
    version: BigInt(version ?? 0),
    audiences: new Map(audiences.map((a) => [a.id, a])),
    clientAudience: new Map(clients.map((c) => [c.id, c.audienceId])),
    audienceClients,
    scopeOwners: new Map(scopes.map((s) => [s.name, s.audienceId])),
    scopeDescriptions,
    optionalScopes: new Set(scopes.filter((s) => s.optional).map((s) => s.name)),
    clientOptionalScopes: new Map(clients.map((c) => [c.id, c.optionalScopes])),
    claims: claims.map((c) => ({ name: c.name, scope: c.scope, source: c.source, audience: c.audienceId })),
  };
}

/** config_version now (one tiny query: has anything changed since a snapshot?). */
export async function readConfigVersion(q: Queryable): Promise<bigint> {
  const { rows } = await q.query<{ version: string }>(VERSION);
  return BigInt(rows[0]?.version ?? 0);
}

/** Subscribes `client` (a connection of its own) to CONFIG_CHANNEL. */
export async function listenForConfigChanges(client: Queryable): Promise<void> {
  await client.query(`LISTEN ${CONFIG_CHANNEL}`);
}

/** The configuration reads: from `source`'s snapshot when it has one, else from the tables. */
export function configQueries({ sql }: Connection, source?: ConfigSource) {
  const config = () => source?.current() ?? null;
  return {
    /** The audience a Hydra client belongs to, or null when the client has none. */
    async getClientMembership(clientId: string): Promise<ClientMembership | null> {
      const c = config();
      if (c) {
        const audience = c.audiences.get(c.clientAudience.get(clientId) ?? "");
        return audience ? { clientId, audience } : null;
      }
      const { rows } = await sql.query(`SELECT ${AUDIENCE_COLUMNS} FROM clients c JOIN audiences a ON a.id = c.audience_id WHERE c.id = $1`, [clientId]);
      return rows[0] ? { clientId, audience: audienceOf(rows[0]) } : null;
    },

    async getAudience(id: string): Promise<Audience | null> {
      const c = config();
      if (c) return c.audiences.get(id) ?? null;
      const { rows } = await sql.query(`SELECT ${AUDIENCE_COLUMNS} FROM audiences a WHERE a.id = $1`, [id]);
      return rows[0] ? audienceOf(rows[0]) : null;
    },

    async listAudienceClientIds(audienceId: string): Promise<string[]> {
      const c = config();
      if (c) return [...(c.audienceClients.get(audienceId) ?? [])];
      const { rows } = await sql.query<{ id: string }>("SELECT id FROM clients WHERE audience_id = $1 ORDER BY id", [audienceId]);
      return rows.map((r) => r.id);
    },

    /** Declared scopes among `names`: name → the audience it is limited to (null: all audiences). */
    async getScopeOwners(names: readonly string[]): Promise<Map<string, string | null>> {
      const c = config();
      if (c) return new Map(names.filter((n) => c.scopeOwners.has(n)).map((n) => [n, c.scopeOwners.get(n)!]));
      const { rows } = await sql.query<{ name: string; audience_id: string | null }>("SELECT name, audience_id FROM scopes WHERE name = ANY($1::text[])", [[...names]]);
      return new Map(rows.map((r) => [r.name, r.audience_id]));
    },

    /** Of `names`, the scopes the client's user may untick: declared optional, or optional for this client. */
    async getOptionalScopes(clientId: string, names: readonly string[]): Promise<Set<string>> {
      const c = config();
      if (c) {
        const own = new Set(c.clientOptionalScopes.get(clientId) ?? []);
        return new Set(names.filter((n) => c.optionalScopes.has(n) || own.has(n)));
      }
      const { rows } = await sql.query<{ name: string }>(
        `SELECT name FROM scopes WHERE optional AND name = ANY($2::text[])
         UNION SELECT unnest(optional_scopes) FROM clients WHERE id = $1 INTERSECT SELECT unnest($2::text[])`,
        [clientId, [...names]],
      );
      return new Set(rows.map((r) => r.name));
    },

    /** Declared descriptions of scopes: one text, or one per language. */
    async getScopeDescriptions(names: readonly string[]): Promise<Map<string, DeclaredDescription>> {
      const c = config();
      if (c) return new Map(names.filter((n) => c.scopeDescriptions.has(n)).map((n) => [n, c.scopeDescriptions.get(n)!]));
      const { rows } = await sql.query<{ name: string; description: string | null; descriptions: JsonValue }>(
        "SELECT name, description, descriptions FROM scopes WHERE name = ANY($1::text[])",
        [[...names]],
      );
      const out = new Map<string, DeclaredDescription>();
      for (const r of rows) {
        const declared = declaredDescription(r.description, r.descriptions);
        if (declared) out.set(r.name, declared);
      }
      return out;
    },

    /** Declared claims visible to clients of the audience. */
    async getClaimDefs(audienceId: string): Promise<ClaimDef[]> {
      const c = config();
      if (c) return c.claims.filter((d) => d.audience === null || d.audience === audienceId);
      const { rows } = await sql.query<{ name: string; scope: string; source: string; audience_id: string | null }>(
        "SELECT name, scope, source, audience_id FROM claims WHERE audience_id IS NULL OR audience_id = $1 ORDER BY name ASC",
        [audienceId],
      );
      return rows.map((r) => ({ name: r.name, scope: r.scope, source: r.source, audience: r.audience_id }));
    },
  };
}
