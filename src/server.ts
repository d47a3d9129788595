// Entry point: validate configuration, wire dependencies, listen, shut down cleanly.
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { Pool } from "pg";
import { ConfigError, loadEnv, type Env } from "./config/env";
import { createApp } from "./app";
import { createDb } from "./services/db";
import { createHydra } from "./services/hydra";
import { createStore } from "./services/store";
import { createLimits } from "./services/limits";
import { createMailer } from "./services/mail";
import { createLogger, type Logger } from "./logger";

export interface RunningServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

export async function startServer(env: Env, logger: Logger = createLogger(env.LOG_LEVEL)): Promise<RunningServer> {
  const db = createDb(env.DATABASE_URL);
  const sessionPool = new Pool({ connectionString: env.DATABASE_URL, max: 5, connectionTimeoutMillis: 5000 });
  // An idle client losing its connection (database restarted) must not crash the process.
  sessionPool.on("error", (err) => logger.warn({ err }, "session store connection lost"));
  const hydra = createHydra({ adminUrl: env.HYDRA_ADMIN_URL, timeoutMs: env.HYDRA_TIMEOUT_MS, publicUrl: env.HYDRA_PUBLIC_INTERNAL_URL });
  const limits = createLimits(sessionPool, env);
  const mailer = createMailer({ db, smtpUrl: env.SMTP_URL, from: env.MAIL_FROM, timeoutMs: env.SMTP_TIMEOUT_MS, logger });
  const store = createStore(db);
  // Expired one-time tokens are removed every hour (any replica may do it; it is idempotent).
  const pruner = setInterval(() => void store.pruneOneTimeTokens().catch(() => undefined), 60 * 60 * 1000);
  pruner.unref();
  const app = createApp({ env, hydra, store, logger, sessionPool, limits, mailer });

  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(env.PORT, env.HOST, () => resolve(s));
    s.once("error", reject);
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${env.HOST.includes(":") ? `[${env.HOST}]` : env.HOST}:${port}`;
  logger.info({ url }, "listening");

  return {
    url,
    server,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      clearInterval(pruner);
      await mailer.close();
      await Promise.allSettled([db.$disconnect(), sessionPool.end()]);
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
  const logger = createLogger(env.LOG_LEVEL);
  const running = await startServer(env, logger);
  const stop = (signal: string) => {
    logger.info({ signal }, "shutting down");
    running.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
