// The systems under test: per app one Ory Hydra v2.3.0 with its own fresh database, and the app
// itself — this project's production build (scripts/start.sh: node dist/src/server.js), the no-op app, or the
// no-op + argon2 app. Built from the tests' building blocks (test/support: ports, databases, paths).
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import ts from "typescript";
import { Client } from "pg";
import { freePort } from "../test/support/ports";
import { createDatabase, databaseUrl, dropDatabase, pgAdmin } from "../test/support/pg";
import { HYDRA_BIN, HYDRA_CONFIG, ROOT } from "../test/support/paths";
import { parseAppConfig, type ConfigFile } from "../src/config/audiences";
import { applyConfig, hydraClientFor } from "../src/admin/apply-config";
import { createCommandPool } from "../src/services/db";
import { createStore } from "../src/services/store";
import { createHydra } from "../src/services/hydra";
import type { Target } from "./flow";

export type AppKind = "app" | "noop" | "argon2";
export const APP_TITLES: Record<AppKind, string> = { app: "this app", noop: "no-op", argon2: "no-op+argon2" };

export const CLIENT_ID = "bench-web";
export const AUDIENCE_ID = "bench";
export const REDIRECT_URI = "http://127.0.0.1:9/callback";
export const SCOPE = "openid profile email bench.read";
export const PASSWORD = "bench correct horse battery staple";

/** The audiences configuration of the benchmark: one audience, one confidential web client (PKCE too). */
export function benchConfig(): ConfigFile {
  return {
    audiences: [{ id: AUDIENCE_ID, name: "Bench App" }],
    scopes: [{ name: "bench.read", description: "Read your bench data", audience: AUDIENCE_ID }],
    clients: [
      {
        id: CLIENT_ID,
        name: "Bench Web",
        audience: AUDIENCE_ID,
        "secret-env": "BENCH_WEB_SECRET",
        "redirect-uris": [REDIRECT_URI],
        scopes: ["openid", "profile", "email", "bench.read"],
      },
    ],
  } as ConfigFile;
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs: number, proc?: ChildProcess, log?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc && proc.exitCode !== null) throw new Error(`${what} exited with code ${proc.exitCode}:\n${log?.() ?? ""}`);
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not become ready within ${timeoutMs} ms\n${log?.() ?? ""}`);
}

function tail(file: string, bytes = 3000): string {
  try {
    const s = fs.readFileSync(file, "utf8");
    return s.slice(-bytes);
  } catch {
    return "";
  }
}

async function stopProcess(p: ChildProcess | undefined): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    p.once("exit", () => resolve());
    p.kill("SIGTERM");
    setTimeout(() => p.kill("SIGKILL"), 8000).unref();
  });
}

/** Everything the run created, removed at the end (also after Ctrl-C). */
export class Resources {
  readonly databases: string[] = [];
  readonly processes = new Set<ChildProcess>();
  readonly dirs: string[] = [];
  async cleanup(): Promise<void> {
    await Promise.allSettled([...this.processes].map((p) => stopProcess(p)));
    for (const db of this.databases.splice(0)) await dropDatabase(db).catch(() => undefined);
    for (const d of this.dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  }
}

export interface Build {
  dir: string;
  serverJs: string;
  noopJs: string;
  warnings: string;
}

/**
 * `npm run build` into a temporary folder under dist/ (the compiled code finds views/ by walking up
 * to the package root), plus the no-op apps transpiled next to it.
 */
export function buildAll(res: Resources): Build {
  const dir = path.join(ROOT, "dist", `bench-build-${process.pid}`);
  res.dirs.push(dir);
  let warnings = "";
  try {
    execFileSync(path.join(ROOT, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.build.json", "--outDir", dir], { cwd: ROOT, stdio: "pipe" });
  } catch (err) {
    // tsc still emits on type errors (noEmitOnError is off): go on, but say so.
    warnings = String((err as { stdout?: Buffer }).stdout ?? err).trim();
  }
  const serverJs = path.join(dir, "src", "server.js");
  if (!fs.existsSync(serverJs)) throw new Error(`npm run build produced no ${serverJs}:\n${warnings}`);
  const src = fs.readFileSync(path.join(ROOT, "bench", "noop-app.ts"), "utf8");
  const out = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } });
  const noopJs = path.join(dir, "bench", "noop-app.js");
  fs.mkdirSync(path.dirname(noopJs), { recursive: true });
  fs.writeFileSync(noopJs, out.outputText);
  return { dir, serverJs, noopJs, warnings };
}

export function ensureHydraBuilt(): void {
  execFileSync("bash", [path.join(ROOT, "scripts", "build-hydra.sh")], { stdio: "inherit" });
}

/** A migrated template database for Hydra and the app, copied per stack (CREATE DATABASE … TEMPLATE). */
export async function makeTemplates(res: Resources, runId: string): Promise<{ app: string; hydra: string }> {
  const app = `bench_tpl_app_${runId}`;
  const hydra = `bench_tpl_hydra_${runId}`;
  res.databases.push(app, hydra);
  const appUrl = await createDatabase(app);
  const hydraUrl = await createDatabase(hydra);
  execFileSync(path.join(ROOT, "node_modules", ".bin", "prisma"), ["migrate", "deploy"], { cwd: ROOT, env: { ...process.env, DATABASE_URL: appUrl }, stdio: "pipe" });
  execFileSync(HYDRA_BIN, ["migrate", "sql", "-e", "--yes"], { env: { ...process.env, DSN: `${hydraUrl}?sslmode=disable` }, stdio: "pipe" });
  return { app, hydra };
}

export interface ProcInfo {
  pid(): number | undefined;
}

export interface HydraProc extends ProcInfo {
  publicUrl: string;
  adminUrl: string;
  dbName: string;
}

async function startHydra(res: Resources, opts: { dbName: string; appUrl: string; logFile: string }): Promise<HydraProc> {
  const publicPort = await freePort();
  const adminPort = await freePort();
  const publicUrl = `http://127.0.0.1:${publicPort}`;
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  const out = fs.openSync(opts.logFile, "a");
  const proc = spawn(HYDRA_BIN, ["serve", "all", "--dev", "--sqa-opt-out", "-c", HYDRA_CONFIG], {
    env: {
      ...process.env,
      // The pool size the README and the deployment examples give Hydra (its default is 2 × CPUs:
      // 4 here, and concurrent token exchanges then wait on each other for up to 30 s).
      DSN: `${databaseUrl(opts.dbName)}?sslmode=disable&max_conns=20&max_idle_conns=4`,
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
    },
    stdio: ["ignore", out, out],
  });
  fs.closeSync(out);
  res.processes.add(proc);
  proc.once("exit", () => res.processes.delete(proc));
  await waitFor(async () => (await fetch(`${adminUrl}/health/ready`)).ok, "Hydra", 30_000, proc, () => tail(opts.logFile));
  return { publicUrl, adminUrl, dbName: opts.dbName, pid: () => proc.pid };
}

export interface AppStack {
  kind: AppKind;
  target: Target;
  hydra: HydraProc;
  /** The app's own database (this app only). */
  appDbName?: string;
  appLog: string;
  pid(): number | undefined;
  /** Restarts the app, optionally with another DATABASE_URL (the query capture) or node options (--cpu-prof). */
  restart(opts?: { databaseUrl?: string; nodeArgs?: string[] }): Promise<void>;
  stop(): Promise<void>;
}

export async function startAppStack(
  res: Resources,
  kind: AppKind,
  o: { runId: string; build: Build; templates: { app: string; hydra: string }; workDir: string; passwordHash: string },
): Promise<AppStack> {
  const port = await freePort();
  const appUrl = `http://127.0.0.1:${port}`;
  const hydraDb = `bench_hydra_${kind}_${o.runId}`;
  res.databases.push(hydraDb);
  await createDatabase(hydraDb, o.templates.hydra);
  const hydra = await startHydra(res, { dbName: hydraDb, appUrl, logFile: path.join(o.workDir, `hydra-${kind}.log`) });
  const secret = randomBytes(24).toString("hex");
  const config = parseAppConfig(benchConfig());
  const appLog = path.join(o.workDir, `${kind}.log`);
  let appDbName: string | undefined;
  let vars: Record<string, string>;
  let script: string;

  if (kind === "app") {
    appDbName = `bench_app_${o.runId}`;
    res.databases.push(appDbName);
    const appDbUrl = await createDatabase(appDbName, o.templates.app);
    const db = createCommandPool(appDbUrl, 2);
    try {
      await applyConfig(config, { store: createStore({ pool: db }), hydra: createHydra({ adminUrl: hydra.adminUrl, timeoutMs: 10_000 }), secrets: { BENCH_WEB_SECRET: secret, APP_BASE_URL: appUrl } });
    } finally {
      await db.end();
    }
    script = o.build.serverJs;
    vars = {
      NODE_ENV: "production",
      HOST: "127.0.0.1",
      PORT: String(port),
      APP_BASE_URL: appUrl,
      DATABASE_URL: appDbUrl,
      HYDRA_ADMIN_URL: hydra.adminUrl,
      HYDRA_PUBLIC_URL: hydra.publicUrl,
      SESSION_SECRETS: randomBytes(32).toString("hex"),
      COOKIE_SECURE: "false",
      LOG_LEVEL: "info",
      SMTP_URL: `smtp://127.0.0.1:${await freePort()}`,
      MAIL_FROM: "Sign-in service <no-reply@localhost>",
    };
  } else {
    const body = { ...hydraClientFor(config.clients[0]!), client_secret: secret, token_endpoint_auth_method: "client_secret_basic" };
    const r = await fetch(`${hydra.adminUrl}/admin/clients`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    if (!r.ok) throw new Error(`creating the client at the ${kind} Hydra: ${r.status} ${await r.text()}`);
    script = o.build.noopJs;
    vars = { MODE: kind, PORT: String(port), HYDRA_ADMIN_URL: hydra.adminUrl, PASSWORD_HASH: o.passwordHash, NODE_ENV: "production" };
  }

  let proc: ChildProcess | undefined;
  const start = async (opts: { databaseUrl?: string; nodeArgs?: string[] } = {}) => {
    const out = fs.openSync(appLog, "a");
    const env = { PATH: process.env.PATH ?? "", ...vars, ...(kind === "app" && process.env.BENCH_APP_ENV ? (JSON.parse(process.env.BENCH_APP_ENV) as Record<string, string>) : {}), ...(opts.databaseUrl ? { DATABASE_URL: opts.databaseUrl } : {}) };
    // This app starts the way production starts it (scripts/start.sh: npm start, the image, the chart).
    const p =
      kind === "app"
        ? spawn("sh", [path.join(ROOT, "scripts", "start.sh"), ...(opts.nodeArgs ?? []), script], { cwd: ROOT, env, stdio: ["ignore", out, out] })
        : spawn(process.execPath, [...(opts.nodeArgs ?? []), script], { cwd: ROOT, env, stdio: ["ignore", out, out] });
    fs.closeSync(out);
    res.processes.add(p);
    p.once("exit", () => res.processes.delete(p));
    proc = p;
    const health = kind === "app" ? `${appUrl}/health/ready` : `${appUrl}/health`;
    await waitFor(async () => (await fetch(health)).ok, `the ${APP_TITLES[kind]} app`, 30_000, p, () => tail(appLog));
  };
  await start();

  return {
    kind,
    target: { appUrl, hydraPublicUrl: hydra.publicUrl, clientId: CLIENT_ID, clientSecret: secret, redirectUri: REDIRECT_URI, scope: SCOPE },
    hydra,
    appDbName,
    appLog,
    pid: () => proc?.pid,
    async restart(opts?: { databaseUrl?: string; nodeArgs?: string[] }) {
      await stopProcess(proc);
      await start(opts);
    },
    async stop() {
      await stopProcess(proc);
    },
  };
}

// ---- measurements of processes and databases

/** CPU time (user + system) of a process in milliseconds, from /proc/<pid>/stat. */
export function cpuMs(pid: number | undefined): number {
  if (!pid) return NaN;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
    return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return NaN;
  }
}

/** VmRSS and VmHWM (peak) of a process in MiB. */
export function memMiB(pid: number | undefined): { rss: number; hwm: number } {
  if (!pid) return { rss: NaN, hwm: NaN };
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(s)?.[1] ?? NaN);
    return { rss: kb("VmRSS") / 1024, hwm: kb("VmHWM") / 1024 };
  } catch {
    return { rss: NaN, hwm: NaN };
  }
}

/** Resets a process's peak RSS (VmHWM) to its current RSS; false where the kernel refuses. */
export function resetPeak(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

/** Reads committed + rolled-back transactions of databases from pg_stat_database (through the "postgres" database, so the reads count nowhere). */
export class TxCounter {
  private constructor(private readonly client: Client) {}
  static async open(): Promise<TxCounter> {
    const c = new Client({ connectionString: databaseUrl("postgres") });
    await c.connect();
    return new TxCounter(c);
  }
  async read(dbs: string[]): Promise<Map<string, number>> {
    const r = await this.client.query<{ datname: string; n: string }>(
      "SELECT datname, (xact_commit + xact_rollback)::text AS n FROM pg_stat_database WHERE datname = ANY($1)",
      [dbs],
    );
    return new Map(r.rows.map((row) => [row.datname, Number(row.n)]));
  }
  async close(): Promise<void> {
    await this.client.end();
  }
}

/** Runs SQL on a database over a connection of its own that is closed afterwards (its statistics are flushed at once). */
export async function withDb<T>(dbName: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: databaseUrl(dbName) });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export { pgAdmin };
