// Entry point: validate configuration, wire dependencies, listen, shut down cleanly.
// Shutdown (SIGTERM/SIGINT): stop accepting connections, /health/ready answers 503, requests in
// flight finish (at most SHUTDOWN_TIMEOUT_MS) on connections then closed, idle keep-alive
// connections are closed at once; then the mail worker and the database pool close, exit code 0.
// The server's every statement runs on one plain pg pool (as the admin commands' and the seed's do:
// Prisma is the schema and the migrations only), so it never loads Prisma's WebAssembly query compiler.
import type { AddressInfo } from "node:net";
import type { Server, ServerResponse } from "node:http";
import { ConfigError, loadEnv, type Env } from "./config/env";
import { createApp } from "./app";
import { createPool } from "./services/db";
import { PgSessionStore } from "./services/sessions";
import { createHydra } from "./services/hydra";
import { createStore } from "./services/store";
import { createConfigCache } from "./services/config-cache";
import { createMetrics, instrument, NO_METRICS, startMetricsServer } from "./services/metrics";
import { createLimits } from "./services/limits";
import { createMailer } from "./services/mail";
import { createLogger, createServerLogger, type Logger } from "./logger";
import { markDraining } from "./routes/health";
import { setPasswordHashConcurrency, defaultHashConcurrency } from "./services/passwords";

export interface RunningServer {
  url: string;
  server: Server;
  /** The Prometheus endpoint when METRICS_PORT is set. */
  metricsUrl?: string;
  /**
   * Graceful stop: no new connections, /health/ready 503, requests in flight may finish within
   * `timeoutMs` (default SHUTDOWN_TIMEOUT_MS), then every connection is closed and the mail worker
   * and the pool with it. Calling it again returns the same stop. Resolves with the number of requests
   * that were still running when their connections were cut.
   */
  shutdown(timeoutMs?: number): Promise<{ cut: number }>;
  /** Immediate stop (tests): shutdown(0). */
  close(): Promise<void>;
}

export async function startServer(env: Env, logger: Logger = createLogger(env.LOG_LEVEL)): Promise<RunningServer> {
  // argon2id hashes (12 MiB each) at once: one per core beyond the first, at most two, unless configured.
  setPasswordHashConcurrency(env.PASSWORD_HASH_CONCURRENCY ?? defaultHashConcurrency());
  // The app's database, all of it: sessions, attempt counters, answered challenges, consents,
  // users, mail links, the outbox, the configuration (src/services/db.ts).
  const pool = createPool(env.DATABASE_URL, { onError: (err) => logger.warn({ err }, "database connection lost") });
  const sessionStore = new PgSessionStore(pool, { ttlSeconds: env.SESSION_TTL_SECONDS, onError: (err) => logger.warn({ err }, "pruning expired sessions failed") });
  // Measured only when something can read it (METRICS_PORT).
  const metrics = env.METRICS_PORT === undefined ? NO_METRICS : createMetrics();
  const hydra = instrument(createHydra({ adminUrl: env.HYDRA_ADMIN_URL, timeoutMs: env.HYDRA_TIMEOUT_MS, publicUrl: env.HYDRA_PUBLIC_INTERNAL_URL }), metrics.hydraCalls);
  const limits = createLimits(pool, env, metrics);
  const mailer = createMailer({ pool, smtpUrl: env.SMTP_URL, from: env.MAIL_FROM, timeoutMs: env.SMTP_TIMEOUT_MS, logger, productName: env.BRAND_PRODUCT_NAME });
  // Audiences, clients, scopes and claims in memory; a seed run reaches every replica through NOTIFY.
  const configCache = await createConfigCache({ pool, databaseUrl: env.DATABASE_URL, logger });
  const store = instrument(createStore({ pool, configCache }), metrics.dbCalls);
  // Expired one-time tokens are removed every hour (any replica may do it; it is idempotent).
  // So are answered challenges older than a day (instead of on every sign-in step), what login
  // sessions reached once Hydra no longer remembers them, old account activity, and self
  // sign-ups whose address stayed unconfirmed for PENDING_ACCOUNT_TTL_SECONDS (freeing the address).
  const pruner = setInterval(() => {
    void store.pruneOneTimeTokens().catch(() => undefined);
    void store.pruneHandledChallenges().catch(() => undefined);
    void store.pruneSessionStrength(env.LOGIN_REMEMBER_FOR_SECONDS).catch(() => undefined);
    // The account's activity older than ACTIVITY_RETENTION_DAYS, and places whose sign-in ended by itself.
    void store
      .pruneActivity(env.ACTIVITY_RETENTION_DAYS)
      .then((n) => n > 0 && logger.info({ event: "activity_pruned", count: n }, "old account activity deleted"))
      .catch((err: unknown) => logger.warn({ err }, "deleting old account activity failed"));
    void store.pruneAccountSessions().catch(() => undefined);
    void store
      .prunePendingAccounts(env.PENDING_ACCOUNT_TTL_SECONDS)
      .then((n) => n > 0 && logger.info({ event: "pending_accounts_deleted", count: n }, "unconfirmed sign-ups deleted"))
      .catch((err: unknown) => logger.warn({ err }, "deleting unconfirmed sign-ups failed"));
  }, 60 * 60 * 1000);
  pruner.unref();
  const app = createApp({ env, hydra, store, logger, sessionStore, limits, mailer, metrics });
  const metricsServer = env.METRICS_PORT === undefined || !metrics.registry ? null : await startMetricsServer({ ...metrics, registry: metrics.registry }, env.METRICS_HOST, env.METRICS_PORT);
  if (metricsServer) logger.info({ url: metricsServer.url }, "metrics");

  const server = await new Promise<Server>((resolve, reject) => {
    // Express 5 calls back with the error when listening fails (EADDRINUSE, EACCES): refuse to start.
    const s = app.listen(env.PORT, env.HOST, (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${env.HOST.includes(":") ? `[${env.HOST}]` : env.HOST}:${port}`;
  logger.info({ url }, "listening");

  // Responses not finished yet, so that a shutdown can let them end their connections.
  const inFlight = new Set<ServerResponse>();
  let draining = false;
  server.prependListener("request", (_req, res: ServerResponse) => {
    inFlight.add(res);
    if (draining) res.setHeader("Connection", "close");
    res.once("close", () => {
      inFlight.delete(res);
      // A keep-alive connection whose response went out before the shutdown began is idle now.
      if (draining) setImmediate(() => server.closeIdleConnections());
    });
  });

  let stopping: Promise<{ cut: number }> | undefined;
  const shutdown = (timeoutMs = env.SHUTDOWN_TIMEOUT_MS) =>
    (stopping ??= (async () => {
      draining = true;
      markDraining(app);
      // Answers still to be written tell the client that the connection closes after them.
      for (const res of inFlight) if (!res.headersSent) res.setHeader("Connection", "close");
      if (inFlight.size > 0 && timeoutMs > 0) logger.info({ requests: inFlight.size, timeoutMs }, "waiting for requests in flight");
      let cut = 0;
      await new Promise<void>((resolve) => {
        // Stops listening (new connections are refused) and closes idle keep-alive connections;
        // calls back once the last connection has ended.
        server.close(() => resolve());
        server.closeIdleConnections();
        const cutAll = () => {
          cut = inFlight.size;
          server.closeAllConnections();
        };
        if (timeoutMs > 0) setTimeout(cutAll, timeoutMs).unref();
        else cutAll();
      });
      if (cut > 0 && timeoutMs > 0) logger.warn({ requests: cut, timeoutMs }, "requests still running after the shutdown timeout: connections closed");
      clearInterval(pruner);
      sessionStore.close();
      limits.close();
      await mailer.close();
      await configCache.close();
      await metricsServer?.close();
      await pool.end().catch(() => undefined);
      return { cut };
    })());

  return {
    url,
    server,
    metricsUrl: metricsServer?.url,
    shutdown,
    async close() {
      await shutdown(0);
    },
  };
}

async function main(): Promise<void> {
  let env: Env;
  try {
    env = loadEnv();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
  const logger = createServerLogger(env.LOG_LEVEL);
  const running = await startServer(env, logger);
  logger.flush();
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      // A second signal (Ctrl-C again) does not wait for requests in flight any longer.
      logger.warn({ signal }, "shutting down now");
      running.server.closeAllConnections();
      return;
    }
    stopping = true;
    logger.info({ signal, timeoutMs: env.SHUTDOWN_TIMEOUT_MS }, "shutting down");
    running.shutdown().then(
      () => {
        logger.info("stopped");
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
