// The admins' configuration (audiences, clients' membership, scopes, claims) held in memory, so a
// sign-in or consent step reads none of it from the database. Never stale: every write to those
// tables (the seed, or SQL by hand) raises config_version and sends NOTIFY app_config (triggers in
// the migration); each replica LISTENs on its own connection and reloads at once. A lost LISTEN
// connection is re-opened (with a reload, for what it missed), and the version is also compared
// every `checkEveryMs` as a safety net.
import { Client as PgClient } from "pg";
import type { Queryable } from "./db";
import type { Logger } from "../logger";
import { audienceColumns, audienceOf, type Audience, type JsonValue } from "./store";
import type { ClaimDef } from "../decisions/claims";
import type { DeclaredDescription } from "../decisions/scopes";

export const CONFIG_CHANNEL = "app_config";

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
  claims: readonly ClaimDef[];
}

export interface ConfigCache {
  /** The configuration; null until it could be read once (the database was down at start-up): callers then read the database. */
  current(): ConfigSnapshot | null;
  /** Reloads now (also what a notification does). */
  reload(): Promise<void>;
  close(): Promise<void>;
}

const VERSION = "SELECT version::text AS version FROM config_version WHERE id = 1";

/**
 * The whole configuration in one statement: one consistent snapshot (every part of a statement sees
 * the same snapshot), one round trip. Each table comes back as a JSON array (audiences' timestamps
 * as text with their offset).
 */
const SNAPSHOT = `
  SELECT (${VERSION}) AS version,
         (SELECT coalesce(json_agg(x ORDER BY x.id), '[]') FROM (SELECT ${audienceColumns("a")} FROM audiences a) x) AS audiences,
         (SELECT coalesce(json_agg(json_build_object('id', id, 'audienceId', audience_id) ORDER BY id), '[]') FROM clients) AS clients,
         (SELECT coalesce(json_agg(json_build_object('name', name, 'audienceId', audience_id, 'description', description, 'descriptions', descriptions) ORDER BY name), '[]')
            FROM scopes) AS scopes,
         (SELECT coalesce(json_agg(json_build_object('name', name, 'scope', scope, 'source', source, 'audienceId', audience_id) ORDER BY name), '[]')
            FROM claims) AS claims`;

interface SnapshotRow {
  version: string | null;
  audiences: Record<string, unknown>[];
  clients: { id: string; audienceId: string }[];
  scopes: { name: string; audienceId: string | null; description: string | null; descriptions: JsonValue }[];
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
    const perLanguage = s.descriptions && typeof s.descriptions === "object" && !Array.isArray(s.descriptions) ? (s.descriptions as Record<string, string>) : null;
    if (perLanguage) scopeDescriptions.set(s.name, perLanguage);
    else if (s.description) scopeDescriptions.set(s.name, s.description);
  }
  return {
    version: BigInt(version ?? 0),
    audiences: new Map(audiences.map((a) => [a.id, a])),
    clientAudience: new Map(clients.map((c) => [c.id, c.audienceId])),
    audienceClients,
    scopeOwners: new Map(scopes.map((s) => [s.name, s.audienceId])),
    scopeDescriptions,
    claims: claims.map((c) => ({ name: c.name, scope: c.scope, source: c.source, audience: c.audienceId })),
  };
}

/** `pool`: where the configuration is read (the server's plain pool); `databaseUrl`: for the LISTEN connection of its own. */
export async function createConfigCache(opts: { pool: Queryable; databaseUrl: string; logger: Logger; checkEveryMs?: number; reconnectMs?: number }): Promise<ConfigCache> {
  const { pool, logger } = opts;
  let snapshot: ConfigSnapshot | null = await loadConfigSnapshot(pool).catch((err) => {
    logger.warn({ err }, "configuration not loaded at start-up; reading it from the database until it is");
    return null;
  });
  let closed = false;
  let loading: Promise<void> | null = null;
  let again = false;
  let listener: PgClient | null = null;
  let reconnectTimer: NodeJS.Timeout | null = null;

  function reload(): Promise<void> {
    if (loading) {
      again = true; // a change announced while loading: load once more right after
      return loading;
    }
    loading = loadConfigSnapshot(pool)
      .then((s) => {
        if (s.version !== snapshot?.version) logger.info({ version: String(s.version) }, "configuration reloaded");
        snapshot = s;
      })
      .catch((err) => logger.warn({ err }, "configuration reload failed; keeping the previous one"))
      .finally(() => {
        loading = null;
        if (again && !closed) {
          again = false;
          void reload();
        }
      });
    return loading;
  }

  async function listen(): Promise<void> {
    if (closed) return;
    const client = new PgClient({ connectionString: opts.databaseUrl, connectionTimeoutMillis: 5000 });
    const lost = (err?: unknown) => {
      if (listener !== client) return;
      listener = null;
      client.removeAllListeners();
      void client.end().catch(() => undefined);
      if (closed) return;
      logger.warn({ err }, "configuration change listener lost; reconnecting");
      reconnectTimer = setTimeout(() => void listen(), opts.reconnectMs ?? 1000);
      reconnectTimer.unref();
    };
    try {
      listener = client;
      client.on("error", lost);
      client.on("end", () => lost());
      client.on("notification", (n) => {
        if (n.channel === CONFIG_CHANNEL) void reload();
      });
      await client.connect();
      await client.query(`LISTEN ${CONFIG_CHANNEL}`);
      // Anything announced while not listening is picked up now.
      await reload();
    } catch (err) {
      lost(err);
    }
  }

  await listen();
  // Safety net: compare the version now and then (one tiny query), in case a notification was lost.
  const check = setInterval(() => {
    void pool
      .query<{ version: string }>(VERSION)
      .then(({ rows }) => {
        if (BigInt(rows[0]?.version ?? 0) !== snapshot?.version) return reload();
      })
      .catch(() => undefined);
  }, opts.checkEveryMs ?? 30_000);
  check.unref();

  return {
    current: () => snapshot,
    reload,
    async close() {
      closed = true;
      clearInterval(check);
      if (reconnectTimer) clearTimeout(reconnectTimer);
      const l = listener;
      listener = null;
      if (l) {
        l.removeAllListeners();
        l.on("error", () => undefined);
        await l.end().catch(() => undefined);
      }
      await loading;
    },
  };
}
