// The admins' configuration (audiences, clients' membership, scopes, claims) held in memory, so a
// sign-in or consent step reads none of it from the database. Never stale: every write to those
// tables (the seed, or SQL by hand) raises config_version and sends NOTIFY app_config (triggers in
// the migration); each replica LISTENs on its own connection and reloads at once. A lost LISTEN
// connection is re-opened (with a reload, for what it missed), and the version is also compared
// every `checkEveryMs` as a safety net.
import { Client as PgClient } from "pg";
import type { Logger } from "../logger";
import { CONFIG_CHANNEL, listenForConfigChanges, loadConfigSnapshot, readConfigVersion, type ConfigSnapshot, type ConfigSource } from "../store/configuration";
import type { Queryable } from "../store/sql";
import { oneAtATime } from "./one-at-a-time";

export interface ConfigCache extends ConfigSource {
  /** The configuration; null until it could be read once (the database was down at start-up): callers then read the database. */
  current(): ConfigSnapshot | null;
  /** Reloads now (also what a notification does). */
  reload(): Promise<void>;
  close(): Promise<void>;
}

/** `pool`: where the configuration is read (the server's plain pool); `databaseUrl`: for the LISTEN connection of its own. */
export async function createConfigCache(opts: { pool: Queryable; databaseUrl: string; logger: Logger; checkEveryMs?: number; reconnectMs?: number }): Promise<ConfigCache> {
  const { pool, logger } = opts;
  let snapshot: ConfigSnapshot | null = await loadConfigSnapshot(pool).catch((err) => {
    logger.warn({ err }, "configuration not loaded at start-up; reading it from the database until it is");
    return null;
  });
  let closed = false;
  let listener: PgClient | null = null;
  let reconnectTimer: NodeJS.Timeout | null = null;

  // A change announced while loading loads once more right after.
  const loader = oneAtATime(
    () =>
      loadConfigSnapshot(pool)
        .then((s) => {
          if (s.version !== snapshot?.version) logger.info({ version: String(s.version) }, "configuration reloaded");
          snapshot = s;
        })
        .catch((err) => logger.warn({ err }, "configuration reload failed; keeping the previous one")),
    () => closed,
  );
  const reload = loader.run;

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
      await listenForConfigChanges(client);
      // Anything announced while not listening is picked up now.
      await reload();
    } catch (err) {
      lost(err);
    }
  }

  await listen();
  // Safety net: compare the version now and then (one tiny query), in case a notification was lost.
  const check = setInterval(() => {
    void readConfigVersion(pool)
      .then((version) => {
        if (version !== snapshot?.version) return reload();
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
      await loader.current;
    },
  };
}
