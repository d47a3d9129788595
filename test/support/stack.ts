// One end-to-end stack per test file: fresh databases, a real Ory Hydra v2.3.0 on free ports,
// the configuration applied by the real seed code, and the app listening on its own port.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { HYDRA_BIN, HYDRA_CONFIG } from "./paths";
import { createDatabase, dropDatabase, uniqueName } from "./pg";
import { parseAppConfig, type ConfigFile } from "../../src/config/audiences";
import { applyConfig } from "../../src/admin/apply-config";
import { loadEnv, type Env } from "../../src/config/env";
import { startServer, type RunningServer } from "../../src/server";
import { createCommandPool } from "../../src/services/db";
import { createStore, type Store } from "../../src/services/store";
import { findRows } from "./db";
import type { Pool } from "pg";
import { createHydra, type Hydra } from "../../src/services/hydra";
import { createLogger } from "../../src/logger";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy";
import { startMailpit, type Mailpit } from "./mailpit";
import { startRoundRobinProxy, type RoundRobinProxy } from "./round-robin-proxy";
import { freePort } from "./ports";

export { freePort };

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs: number, proc?: ChildProcess, log?: () => string) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc && proc.exitCode !== null) throw new Error(`${what} exited with code ${proc.exitCode}:\n${log?.() ?? ""}`);
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not become ready within ${timeoutMs} ms\n${log?.() ?? ""}`);
}

/** Whether every thread of a process is in the stopped state ("T" in /proc/<pid>/task/<tid>/stat). */
async function allThreadsStopped(pid: number): Promise<boolean> {
  const tids = await readdir(`/proc/${pid}/task`);
  for (const tid of tids) {
    const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, "utf8").catch(() => "");
    if (!stat) continue; // the thread ended
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    if (state !== "T") return false;
  }
  return true;
}

export interface HydraProcess {
  publicUrl: string;
  adminUrl: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  /**
   * Freezes the Hydra process (SIGSTOP) and resolves once every one of its threads is stopped.
   * kill(2) returns before that: the kernel wakes one thread to take the stop, and until it runs
   * (late on a loaded machine) Hydra's other threads go on serving requests.
   */
  freeze(): Promise<void>;
  /** Thaws a frozen Hydra (SIGCONT). */
  thaw(): void;
}

/** Starts the real Hydra binary with its public/admin ports and the app's URLs. */
export async function startHydra(opts: { dsn: string; appUrl: string }): Promise<HydraProcess> {
  const publicPort = await freePort();
  const adminPort = await freePort();
  const publicUrl = `http://127.0.0.1:${publicPort}`;
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  let proc: ChildProcess | undefined;
  let output = "";
  const env = {
    ...process.env,
    DSN: opts.dsn,
    SECRETS_SYSTEM: randomBytes(24).toString("hex"),
    SERVE_PUBLIC_PORT: String(publicPort),
    SERVE_ADMIN_PORT: String(adminPort),
    URLS_SELF_ISSUER: publicUrl,
    URLS_LOGIN: `${opts.appUrl}/login`,
    URLS_CONSENT: `${opts.appUrl}/consent`,
    URLS_LOGOUT: `${opts.appUrl}/logout`,
    URLS_POST_LOGOUT_REDIRECT: `${opts.appUrl}/signed-out`,
    URLS_ERROR: `${opts.appUrl}/error`,
    LOG_LEVEL: "warn",
  };
  const handle: HydraProcess = {
    publicUrl,
    adminUrl,
    async start() {
      output = "";
      proc = spawn(HYDRA_BIN, ["serve", "all", "--dev", "--sqa-opt-out", "-c", HYDRA_CONFIG], { env, stdio: ["ignore", "pipe", "pipe"] });
      proc.stdout!.on("data", (d) => (output += d));
      proc.stderr!.on("data", (d) => (output += d));
      await waitFor(async () => (await fetch(`${adminUrl}/health/ready`)).ok, "Hydra", 30_000, proc, () => output);
    },
    async freeze() {
      const pid = proc?.pid;
      if (!pid || proc!.exitCode !== null) throw new Error("Hydra is not running");
      proc!.kill("SIGSTOP");
      await waitFor(async () => allThreadsStopped(pid), "Hydra's threads to stop", 5000);
    },
    thaw() {
      proc?.kill("SIGCONT");
    },
    async stop() {
      const p = proc;
      if (!p || p.exitCode !== null) return;
      p.kill("SIGCONT"); // a frozen process would not see SIGTERM
      await new Promise<void>((resolve) => {
        p.once("exit", () => resolve());
        p.kill("SIGTERM");
        setTimeout(() => p.kill("SIGKILL"), 5000).unref();
      });
    },
  };
  await handle.start();
  return handle;
}

export interface Stack {
  appUrl: string;
  hydraPublicUrl: string;
  hydraAdminUrl: string;
  /** Direct access to the app's database, for assertions and fixtures (test/support/db.ts reads and writes rows on it). */
  db: Pool;
  /** The app's store on `db`. */
  store: Store;
  hydra: Hydra;
  hydraProcess: HydraProcess;
  env: Env;
  /** The app's environment variables as strings (what `env` was parsed from), e.g. for a second app process. */
  appVars: Record<string, string>;
  app: RunningServer;
  /** Client secrets the configuration's secret-env names resolve to. */
  secrets: Record<string, string>;
  dbProxy?: TcpProxy;
  /** The stack's own Mailpit (unless `mail: false`): the app's SMTP_URL points at it. */
  mailpit?: Mailpit;
  /** With `replicas: n` (n ≥ 2): every app instance (`app` is the first), each on its own port. */
  replicas?: RunningServer[];
  /** With `replicas: n` (n ≥ 2): the round-robin load balancer in front of them; `appUrl` is its URL. */
  proxy?: RoundRobinProxy;
  stop(): Promise<void>;
}

export interface StackOptions {
  /** The audiences configuration (same shape as config/*.yaml). */
  config: ConfigFile;
  /** Extra environment for the app (e.g. rate-limit settings). */
  appEnv?: Record<string, string>;
  /** Route the app's database connections through a proxy the test can cut (stack.dbProxy). */
  dbProxy?: boolean;
  /** Where the app's log lines go (default: stdout at TEST_LOG_LEVEL, silent by default). */
  logDestination?: { write(line: string): void };
  /**
   * Start a Mailpit for the app's mail (default true; it starts in about 0.1 s). With false the app's
   * SMTP_URL points at a closed port of 127.0.0.1 (never at a Mailpit of `npm run dev`).
   */
  mail?: boolean;
  /**
   * Run this many app instances (default 1) on the same database, Hydra and settings, behind a
   * round-robin HTTP proxy (test/support/round-robin-proxy.ts): `appUrl`, APP_BASE_URL and Hydra's
   * login/consent/logout URLs are the proxy's, each instance listens on a port of its own
   * (`stack.replicas[i].url`), and TRUST_PROXY_HOPS is 1 unless `appEnv` says otherwise.
   */
  replicas?: number;
  /**
   * The host name in the app's public URL (default 127.0.0.1; it listens there either way):
   * "localhost" for passkeys, whose relying-party id must be a domain name, never an IP address.
   */
  appHost?: "127.0.0.1" | "localhost";
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const appTemplate = process.env.TEST_APP_DB_TEMPLATE;
  const hydraTemplate = process.env.TEST_HYDRA_DB_TEMPLATE;
  if (!appTemplate || !hydraTemplate) throw new Error("global setup did not run (TEST_*_DB_TEMPLATE unset)");
  const appDbName = uniqueName("al_test");
  const hydraDbName = uniqueName("hydra_test");
  const appDbUrl = await createDatabase(appDbName, appTemplate);
  const hydraDbUrl = await createDatabase(hydraDbName, hydraTemplate);

  const replicaCount = options.replicas ?? 1;
  const proxy = replicaCount > 1 ? await startRoundRobinProxy() : undefined;
  const appPort = proxy ? 0 : await freePort();
  const appUrl = proxy ? proxy.url : `http://${options.appHost ?? "127.0.0.1"}:${appPort}`;
  const hydraProcess = await startHydra({ dsn: `${hydraDbUrl}?sslmode=disable`, appUrl });
  const mailpit = options.mail === false ? undefined : await startMailpit();

  const secrets: Record<string, string> = {};
  const config = parseAppConfig(options.config);
  for (const c of config.clients) if (c.secretEnv) secrets[c.secretEnv] = randomBytes(24).toString("hex");

  // The seed's pool (durable, as `npm run seed` has it): the configuration is applied by the real seed code.
  const db = createCommandPool(appDbUrl, 4);
  const store = createStore({ pool: db });
  const hydra = createHydra({ adminUrl: hydraProcess.adminUrl, timeoutMs: 10_000 });
  await applyConfig(config, { store, hydra, secrets: { ...secrets, APP_BASE_URL: appUrl } });

  const appVars: Record<string, string> = {
    NODE_ENV: "test",
    HOST: "127.0.0.1",
    PORT: String(appPort),
    APP_BASE_URL: appUrl,
    DATABASE_URL: appDbUrl,
    HYDRA_ADMIN_URL: hydraProcess.adminUrl,
    HYDRA_PUBLIC_URL: hydraProcess.publicUrl,
    SESSION_SECRETS: randomBytes(32).toString("hex"),
    COOKIE_SECURE: "false",
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? (options.logDestination ? "debug" : "silent"),
    SMTP_URL: mailpit?.smtpUrl ?? `smtp://127.0.0.1:${await freePort()}`,
    MAIL_FROM: "Sign-in service <no-reply@localhost>",
    ...(proxy ? { TRUST_PROXY_HOPS: "1" } : {}),
    ...options.appEnv,
  };
  const env = loadEnv(appVars);
  let dbProxy: TcpProxy | undefined;
  if (options.dbProxy) {
    const target = new URL(appDbUrl);
    dbProxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
    target.port = String(dbProxy.port);
    env.DATABASE_URL = appVars.DATABASE_URL = target.toString();
  }
  const app = await startServer(env, createLogger(env.LOG_LEVEL, options.logDestination));
  const replicas = proxy ? [app] : undefined;
  if (proxy && replicas) {
    while (replicas.length < replicaCount) replicas.push(await startServer(env, createLogger(env.LOG_LEVEL, options.logDestination)));
    proxy.targets = replicas.map((r) => r.url);
  }

  return {
    appUrl,
    hydraPublicUrl: hydraProcess.publicUrl,
    hydraAdminUrl: hydraProcess.adminUrl,
    db,
    store,
    hydra,
    hydraProcess,
    env,
    appVars,
    app,
    secrets,
    dbProxy,
    mailpit,
    replicas,
    proxy,
    async stop() {
      await Promise.all((replicas ?? [app]).map((r) => r.close()));
      await proxy?.close();
      await dbProxy?.close();
      await mailpit?.stop();
      await hydraProcess.stop();
      await db.end();
      await dropDatabase(appDbName);
      await dropDatabase(hydraDbName);
    },
  };
}

/** Everything the seed writes (the app's store and Hydra's clients, secrets left out), for before/after comparisons. */
export async function configSnapshot(stack: Pick<Stack, "db" | "hydra">) {
  const [audiences, scopes, claims, clients] = await Promise.all([
    findRows(stack.db, "audiences", {}, "id"),
    findRows(stack.db, "scopes", {}, "name"),
    findRows(stack.db, "claims", {}, "name"),
    findRows(stack.db, "clients", {}, "id"),
  ]);
  const hydraClients = (await stack.hydra.listClients()).map((c) => ({ ...c, client_secret: undefined })).sort((a, b) => a.client_id!.localeCompare(b.client_id!));
  return { audiences, scopes, claims, clients, hydraClients };
}
