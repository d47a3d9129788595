// npm run bench [-- --quick] [-- --scale] — see bench/README.md.
//
// Starts, per app under test, a real Ory Hydra v2.3.0 on a fresh database and the app on free ports:
// this project's production build (node dist/src/server.js, NODE_ENV=production, LOG_LEVEL=info to
// a file), a no-op login/consent app and a no-op + argon2 app. Drives full authorization-code flows
// (PKCE, token exchange) in three scenarios at concurrency 1 and 8, interleaving the apps over
// several rounds, and reports flows/s, step latencies, DB transactions, CPU and peak RSS per flow,
// the queries of one flow per scenario, and with --scale the consent step and the query plans at
// 1k → 100k → 1M consents. Writes bench/results/latest.{md,json} (--quick: quick.{md,json}).
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type http from "node:http";
import { ROOT } from "../test/support/paths";
import { hashPassword } from "../src/services/passwords";
import { Jar, newAgent } from "./http";
import { expectedPages, runFlow, SCENARIOS, STEPS, STEP_TITLES, type FlowInput, type FlowResult, type RequestLabel, type Scenario, type Step } from "./flow";
import {
  APP_TITLES,

  PASSWORD,
  Resources,
  TxCounter,
  buildAll,
  cpuMs,
  ensureHydraBuilt,
  makeTemplates,
  memMiB,
  resetPeak,
  startAppStack,
  withDb,
  type AppKind,
  type AppStack,
} from "./stacks";
import { captureFlows, explainAll, flaggedSeqScans, type CapturedFlow, type Plan } from "./capture";
import { monotonicUs, newestProfile, summarizeProfile, type ProfileSummary } from "./profile";
import { FILL_AUDIENCES, SCALE_SIZES, fillAudiences, fillConsents, tableSizes } from "./scale";
import {
  aggregate,
  captureDetails,
  captureTable,
  f1,
  fmtDuration,
  markdownTable,
  percentile,
  resultsTable,
  shortSql,
  targets,
  targetsTable,
  type CellResult,
  type ScaleSize,
} from "./report";

// ---- options

interface Options {
  quick: boolean;
  scale: boolean;
  rounds: number;
  durationMs: number;
  /** The warm-up before the measured rounds (each app × scenario at the highest concurrency). */
  warmupMs: number;
  /** The short warm-up after the app restarts (profiling, scale sizes). */
  rewarmMs: number;
  concurrency: number[];
  scenarios: Scenario[];
  apps: AppKind[];
  countTx: boolean;
  profile: boolean;
  out: string;
}

function usage(): never {
  console.log(`npm run bench [-- options]
  --quick              short mode for development: 1 round, 4 s cells, quick.{md,json}
  --scale              also fill 1k → 100k → 1M consents and report the consent step and query plans
  --rounds N           rounds of interleaved cells (default 3)
  --duration S         seconds per cell (default 10)
  --warmup S           warm-up per app and scenario before the rounds (default 15)
  --concurrency 1,8    virtual browsers per cell (default 1,8)
  --scenarios LIST     first-time,returning,remembered (default all)
  --apps LIST          app,noop,argon2 (default all; app is always included)
  --profile            also profile the app's CPU (node --cpu-prof) for one cell per scenario at C=1
  --no-tx              do not count DB transactions (no waits for PostgreSQL's statistics)
  --out DIR            where the report goes (default bench/results)`);
  process.exit(0);
}

function parseOptions(argv: string[]): Options {
  const o: Options = {
    quick: false,
    scale: false,
    rounds: 3,
    durationMs: 10_000,
    warmupMs: 15_000,
    rewarmMs: 3_000,
    concurrency: [1, 8],
    scenarios: [...SCENARIOS],
    apps: ["app", "noop", "argon2"],
    countTx: true,
    profile: false,
    out: path.join(ROOT, "bench", "results"),
  };
  const set = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [k, inline] = a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
    const val = () => inline ?? argv[++i] ?? usage();
    set.add(k);
    switch (k) {
      case "--quick":
        o.quick = true;
        break;
      case "--scale":
        o.scale = true;
        break;
      case "--rounds":
        o.rounds = Math.max(1, Number(val()));
        break;
      case "--duration":
        o.durationMs = Math.max(1, Number(val())) * 1000;
        break;
      case "--warmup":
        o.warmupMs = Math.max(0, Number(val())) * 1000;
        break;
      case "--concurrency":
        o.concurrency = val().split(",").map(Number).filter((n) => n > 0);
        break;
      case "--scenarios":
        o.scenarios = val().split(",").filter((s): s is Scenario => (SCENARIOS as string[]).includes(s));
        break;
      case "--apps":
        o.apps = ["app", ...val().split(",").filter((s): s is AppKind => s === "noop" || s === "argon2")];
        break;
      case "--no-tx":
        o.countTx = false;
        break;
      case "--profile":
        o.profile = true;
        break;
      case "--out":
        o.out = path.resolve(val());
        break;
      case "--help":
      case "-h":
        usage();
        break;
      default:
        console.error(`unknown option ${a}`);
        usage();
    }
  }
  if (o.quick) {
    if (!set.has("--rounds")) o.rounds = 1;
    if (!set.has("--duration")) o.durationMs = 4_000;
    if (!set.has("--warmup")) o.warmupMs = 1_000;
    o.rewarmMs = 1_000;
  }
  return o;
}

// ---- helpers

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const t0 = Date.now();
function log(msg: string) {
  const s = ((Date.now() - t0) / 1000).toFixed(0).padStart(4);
  process.stdout.write(`[${s}s] ${msg}\n`);
}

/** PostgreSQL flushes a busy backend's statistics at most 10 s after it goes idle (PGSTAT_IDLE_INTERVAL). */
const SETTLE_MS = 11_500;
/** A Seq Scan on a table of at least this many rows counts as a query without an index. */
const LARGE_ROWS = 1_000;
const FIRST_TIME_POOL = 20_000;

interface Browser {
  jar: Jar;
  email: string;
}

/** One app under test with its virtual browsers. */
class Runtime {
  readonly agents: http.Agent[] = [];
  readonly returning: Browser[] = [];
  readonly remembered: Browser[] = [];
  private nextFirstTime = 0;
  lastActivity = 0;
  constructor(
    readonly stack: AppStack,
    private readonly maxConc: number,
  ) {
    for (let i = 0; i < maxConc; i++) this.agents.push(newAgent());
  }
  get kind(): AppKind {
    return this.stack.kind;
  }
  firstTimeEmail(): string {
    const n = this.nextFirstTime++;
    if (this.kind === "app" && n >= FIRST_TIME_POOL) throw new Error(`the pool of ${FIRST_TIME_POOL} first-time users is used up`);
    return `ft-${n}@bench.example`;
  }
  input(scenario: Scenario, worker: number): FlowInput {
    const base = { target: this.stack.target, agent: this.agents[worker % this.agents.length]!, password: PASSWORD };
    if (scenario === "first-time") return { ...base, jar: new Jar(), email: this.firstTimeEmail(), remember: false };
    if (scenario === "returning") {
      const b = this.returning[worker]!;
      // The same browser (the app's cookies kept), but Hydra does not remember its sign-in.
      b.jar.clear(new URL(this.stack.target.hydraPublicUrl).origin);
      return { ...base, jar: b.jar, email: b.email, remember: false };
    }
    const b = this.remembered[worker]!;
    return { ...base, jar: b.jar, email: b.email, remember: true };
  }
  /** Sets up the returning and remembered browsers: one first-time flow each (remember ticked for the latter). */
  async prepareBrowsers(): Promise<void> {
    for (let w = 0; w < this.maxConc; w++) {
      for (const kind of ["returning", "remembered"] as const) {
        const b: Browser = { jar: new Jar(), email: `${kind === "returning" ? "ret" : "rem"}-${w}@bench.example` };
        const r = await runFlow({ target: this.stack.target, agent: this.agents[w]!, jar: b.jar, email: b.email, password: PASSWORD, remember: kind === "remembered" });
        const want = expectedPages(this.kind, "first-time");
        if (r.loginForm !== want.loginForm || r.consentPage !== want.consentPage) throw new Error(`${APP_TITLES[this.kind]}: set-up flow showed login=${r.loginForm} consent=${r.consentPage}`);
        (kind === "returning" ? this.returning : this.remembered).push(b);
      }
    }
    this.lastActivity = Date.now();
  }
  dbs(): string[] {
    return [this.stack.appDbName, this.stack.hydra.dbName].filter((x): x is string => !!x);
  }
}

/** Runs flows of one scenario with `conc` virtual browsers for `durationMs`. */
async function runCell(rt: Runtime, scenario: Scenario, conc: number, durationMs: number, round: number): Promise<CellResult> {
  const want = expectedPages(rt.kind, scenario);
  const results: FlowResult[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const pid = rt.stack.pid();
  const hydraPid = rt.stack.hydra.pid();
  const peakReset = resetPeak(pid);
  let sampled = memMiB(pid).rss;
  const sampler = setInterval(() => (sampled = Math.max(sampled, memMiB(pid).rss)), 200);
  const cpu0 = cpuMs(pid);
  const hcpu0 = cpuMs(hydraPid);
  const log0 = fs.statSync(rt.stack.appLog).size;
  const start = performance.now();
  const deadline = start + durationMs;
  await Promise.all(
    Array.from({ length: conc }, async (_, w) => {
      while (performance.now() < deadline) {
        try {
          const r = await runFlow(rt.input(scenario, w));
          if (r.loginForm !== want.loginForm || r.consentPage !== want.consentPage) {
            throw new Error(`expected login form ${want.loginForm}, consent page ${want.consentPage}; got ${r.loginForm}, ${r.consentPage}`);
          }
          results.push(r);
        } catch (err) {
          errors++;
          firstError ??= (err as Error).message;
          await sleep(20);
        }
      }
    }),
  );
  const elapsedMs = performance.now() - start;
  clearInterval(sampler);
  sampled = Math.max(sampled, memMiB(pid).rss);
  const hwm = memMiB(pid).hwm;
  rt.lastActivity = Date.now();
  const steps = Object.fromEntries(STEPS.map((s) => [s, [] as number[]])) as Record<Step, number[]>;
  const requests: Partial<Record<RequestLabel, number[]>> = {};
  for (const r of results) {
    for (const s of STEPS) if (r.steps[s] !== undefined) steps[s].push(r.steps[s]!);
    for (const [l, t] of r.requests) (requests[l] ??= []).push(t);
  }
  return {
    app: rt.kind,
    scenario,
    concurrency: conc,
    round,
    flows: results.length,
    errors,
    firstError,
    elapsedMs,
    flowsPerSec: (results.length * 1000) / elapsedMs,
    steps,
    requests,
    cpuAppMs: cpuMs(pid) - cpu0,
    cpuHydraMs: cpuMs(hydraPid) - hcpu0,
    rssPeakMiB: peakReset ? Math.max(hwm, sampled) : sampled,
    logBytes: fs.statSync(rt.stack.appLog).size - log0,
  };
}

/**
 * Transactions per cell from pg_stat_database (xact_commit + xact_rollback), read before each cell
 * of an app once its previous activity's statistics have surely been flushed; the background rate
 * (the app's mail worker polls) measured while idle is subtracted.
 */
class TxTracker {
  private snaps = new Map<AppKind, { at: number; values: Map<string, number> }>();
  private pending = new Map<AppKind, CellResult>();
  rates = new Map<string, number>();
  constructor(
    private readonly counter: TxCounter,
    private readonly runtimes: Runtime[],
  ) {}
  async settle(rt: Runtime): Promise<void> {
    const wait = rt.lastActivity + SETTLE_MS - Date.now();
    if (wait > 0) await sleep(wait);
  }
  async measureBackground(ms: number): Promise<void> {
    for (const rt of this.runtimes) await this.settle(rt);
    const dbs = this.runtimes.flatMap((rt) => rt.dbs());
    const a = await this.counter.read(dbs);
    const ta = Date.now();
    await sleep(ms);
    const b = await this.counter.read(dbs);
    const tb = Date.now();
    for (const db of dbs) this.rates.set(db, Math.max(0, ((b.get(db) ?? 0) - (a.get(db) ?? 0)) / ((tb - ta) / 1000)));
  }
  private async snapshot(rt: Runtime): Promise<void> {
    await this.settle(rt);
    const values = await this.counter.read(rt.dbs());
    const at = Date.now();
    const prev = this.snaps.get(rt.kind);
    const cell = this.pending.get(rt.kind);
    if (prev && cell) {
      const delta = (db: string | undefined) =>
        db === undefined ? undefined : (values.get(db) ?? 0) - (prev.values.get(db) ?? 0) - ((this.rates.get(db) ?? 0) * (at - prev.at)) / 1000;
      cell.txApp = delta(rt.stack.appDbName);
      cell.txHydra = delta(rt.stack.hydra.dbName);
    }
    this.pending.delete(rt.kind);
    this.snaps.set(rt.kind, { at, values });
  }
  async before(rt: Runtime): Promise<void> {
    await this.snapshot(rt);
  }
  after(rt: Runtime, cell: CellResult): void {
    this.pending.set(rt.kind, cell);
  }
  async finish(): Promise<void> {
    for (const rt of this.runtimes) if (this.pending.has(rt.kind)) await this.snapshot(rt);
  }
}

async function createBenchUsers(dbName: string, hash: string): Promise<void> {
  await withDb(dbName, async (c) => {
    await c.query(
      `INSERT INTO users (id, email, email_normalized, email_verified, password_hash, name, given_name, family_name, updated_at)
       SELECT gen_random_uuid(), e, e, true, $1, 'Bench User', 'Bench', 'User', now()
       FROM (SELECT 'ft-' || i || '@bench.example' AS e FROM generate_series(0, ${FIRST_TIME_POOL - 1}) i
             UNION ALL SELECT 'ret-' || i || '@bench.example' FROM generate_series(0, 63) i
             UNION ALL SELECT 'rem-' || i || '@bench.example' FROM generate_series(0, 63) i) x`,
      [hash],
    );
  });
}

function gitInfo(): { commit: string; dirty: boolean } {
  try {
    const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT }).toString().trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--", "src", "views", "prisma", "locales", "package.json"], { cwd: ROOT }).toString().trim() !== "";
    return { commit, dirty };
  } catch {
    return { commit: "unknown", dirty: false };
  }
}

async function pgVersion(): Promise<string> {
  return withDb("postgres", async (c) => (await c.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v);
}

// ---- main

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const res = new Resources();
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    console.error("\ninterrupted: stopping what the benchmark started…");
    void res.cleanup().finally(() => process.exit(130));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-"));
  const loadAtStart = os.loadavg()[0];
  let ok = false;
  try {
    log(`options: ${opts.rounds} round(s) × ${opts.scenarios.length} scenario(s) × C=${opts.concurrency.join(",")} × ${opts.apps.length} app(s), ${opts.durationMs / 1000} s per cell${opts.scale ? ", --scale" : ""}; logs in ${workDir}`);
    ensureHydraBuilt();
    log("building the app (npm run build into a temporary folder) and the no-op apps");
    const build = buildAll(res);
    if (build.warnings) log(`warning: the build reported type errors (it still emitted JavaScript):\n${build.warnings.split("\n").slice(0, 10).join("\n")}`);
    const runId = `${process.pid}_${randomBytes(3).toString("hex")}`;
    log("databases: migrating the templates");
    const templates = await makeTemplates(res, runId);
    const passwordHash = await hashPassword(PASSWORD);
    const maxConc = Math.max(...opts.concurrency);

    const runtimes: Runtime[] = [];
    for (const kind of opts.apps) {
      log(`starting Hydra and ${APP_TITLES[kind]}`);
      const stack = await startAppStack(res, kind, { runId, build, templates, workDir, passwordHash });
      if (kind === "app") await createBenchUsers(stack.appDbName!, passwordHash);
      const rt = new Runtime(stack, maxConc);
      await rt.prepareBrowsers();
      runtimes.push(rt);
    }
    const ours = runtimes.find((r) => r.kind === "app")!;

    log(`warm-up: ${opts.warmupMs / 1000} s per app and scenario at C=${maxConc}`);
    for (const rt of runtimes) for (const s of opts.scenarios) await runCell(rt, s, maxConc, opts.warmupMs, 0);

    const counter = opts.countTx ? await TxCounter.open() : undefined;
    const tx = counter ? new TxTracker(counter, runtimes) : undefined;
    if (tx) {
      log("measuring the idle transaction rate of each database (the app's mail worker polls)");
      await tx.measureBackground(opts.quick ? 12_000 : 20_000);
      log(`idle: ${[...tx.rates].map(([db, r]) => `${db.replace(`_${runId}`, "")} ${r.toFixed(2)} tx/s`).join(", ")}`);
    }

    const cells: CellResult[] = [];
    for (let round = 1; round <= opts.rounds; round++) {
      for (const scenario of opts.scenarios) {
        for (const conc of opts.concurrency) {
          for (const rt of runtimes) {
            await tx?.before(rt);
            const cell = await runCell(rt, scenario, conc, opts.durationMs, round);
            tx?.after(rt, cell);
            cells.push(cell);
            log(
              `round ${round} ${scenario.padEnd(10)} C=${conc} ${APP_TITLES[rt.kind].padEnd(12)} ${f1(cell.flowsPerSec).padStart(6)} flows/s` +
                `  ${STEPS.map((s) => `${s} ${f1(percentile(cell.steps[s], 50))}`).join("  ")}  RSS ${f1(cell.rssPeakMiB)} MiB` +
                (cell.errors ? `  ${cell.errors} errors: ${cell.firstError}` : ""),
            );
          }
        }
      }
    }
    if (tx) {
      log("waiting for PostgreSQL's statistics of the last cells");
      await tx.finish();
    }
    await counter?.close();

    log("capturing the queries of one flow per scenario (the app restarted through a wire-protocol proxy)");
    const flowsToCapture = (rt: Runtime) => opts.scenarios.map((scenario) => ({ scenario, input: () => rt.input(scenario, 0) }));
    const captured = await captureFlows(ours.stack, flowsToCapture(ours));

    let profiles: { scenario: Scenario; flows: number; summary: ProfileSummary }[] | undefined;
    if (opts.profile) {
      profiles = [];
      for (const scenario of opts.scenarios) {
        log(`profiling the app's CPU: ${scenario}, C=1`);
        const dir = path.join(workDir, `profile-${scenario}`);
        await ours.stack.restart({ nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${dir}`] });
        await runCell(ours, scenario, 1, opts.rewarmMs, 0);
        const fromUs = monotonicUs();
        const cell = await runCell(ours, scenario, 1, opts.durationMs, 0);
        const toUs = monotonicUs();
        await ours.stack.restart(); // the profiled process exits: V8 writes the profile
        const file = newestProfile(dir);
        if (!file) throw new Error(`no CPU profile in ${dir}`);
        const keep = process.env.BENCH_KEEP_PROFILES;
        if (keep) {
          fs.mkdirSync(keep, { recursive: true });
          fs.copyFileSync(file, path.join(keep, `${scenario}.cpuprofile`));
        }
        profiles.push({ scenario, flows: cell.flows, summary: summarizeProfile(file, { fromUs, toUs }) });
      }
    }

    let scale: ScaleSize[] | undefined;
    if (opts.scale) {
      scale = [];
      log(`scale: ${FILL_AUDIENCES} audiences with a client, a scope and a claim each`);
      await fillAudiences(ours.stack.appDbName!);
      let have = 0;
      for (const size of SCALE_SIZES) {
        log(`scale: filling to ${size} consents (and their users and history)`);
        const fillStart = Date.now();
        await fillConsents(ours.stack.appDbName!, have, size, passwordHash);
        log(`scale: filled in ${fmtDuration(Date.now() - fillStart)}`);
        have = size;
        await runCell(ours, "returning", 1, opts.rewarmMs, 0);
        const cell = await runCell(ours, "returning", 1, opts.durationMs, 0);
        const flows = await captureFlows(ours.stack, flowsToCapture(ours));
        const plans = await explainAll(ours.stack.appDbName!, flows);
        const seq = plans.flatMap((p) => p.seqScans.map((s) => ({ sql: p.sql, ...s })));
        const flagged = flaggedSeqScans(plans, LARGE_ROWS);
        const entry: ScaleSize = {
          consents: size,
          tables: await tableSizes(ours.stack.appDbName!),
          consentStep: stat(cell.steps.consent),
          steps: Object.fromEntries(STEPS.map((s) => [s, stat(cell.steps[s])])) as ScaleSize["steps"],
          flowsPerSec: cell.flowsPerSec,
          plans,
          flagged,
          smallSeqScans: seq.filter((s) => s.rows < LARGE_ROWS),
        };
        scale.push(entry);
        console.log(scaleText(entry));
      }
    }

    const aggs = aggregate(cells);
    const tgs = targets(aggs, scale, LARGE_ROWS);
    const meta = {
      date: new Date().toISOString(),
      git: gitInfo(),
      node: process.version,
      postgres: await pgVersion(),
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? "",
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      /** The machine is shared: its load (1-minute average) when the run began and ended. */
      loadAverage: { start: loadAtStart, end: os.loadavg()[0] },
      options: { ...opts, out: undefined },
      durationMs: Date.now() - t0,
      buildWarnings: build.warnings ? build.warnings.split("\n").slice(0, 20) : [],
      idleTxPerSecond: tx ? Object.fromEntries([...tx.rates].map(([db, r]) => [db.replace(`_${runId}`, ""), r])) : undefined,
    };
    const md = markdown(meta, aggs, tgs, captured, scale, profiles);
    console.log(`\n${md}`);
    fs.mkdirSync(opts.out, { recursive: true });
    const base = opts.quick ? "quick" : "latest";
    fs.writeFileSync(path.join(opts.out, `${base}.md`), md);
    fs.writeFileSync(
      path.join(opts.out, `${base}.json`),
      JSON.stringify(
        {
          meta,
          targets: tgs,
          results: aggs,
          cells: cells.map((c) => ({ ...c, steps: undefined, requests: undefined, p50: Object.fromEntries(STEPS.map((s) => [s, percentile(c.steps[s], 50)])) })),
          queriesOfOneFlow: captured.map((f) => ({
            scenario: f.scenario,
            transactions: f.transactions,
            statements: f.statements,
            steps: f.steps,
            requests: f.requests.map((r) => ({ label: r.label, ms: r.ms, transactions: r.transactions, statements: r.statements.map((s) => s.sql.replace(/\s+/g, " ").trim()) })),
          })),
          scale,
          profiles,
        },
        null,
        2,
      ) + "\n",
    );
    log(`written: ${path.relative(ROOT, path.join(opts.out, `${base}.md`))} and .json; the whole run took ${fmtDuration(Date.now() - t0)}`);
    ok = true;
  } finally {
    await res.cleanup();
    if (ok && !process.env.BENCH_KEEP_LOGS) fs.rmSync(workDir, { recursive: true, force: true });
    else console.error(`logs kept in ${workDir}`);
  }
}

function stat(v: number[]) {
  return { p50: percentile(v, 50), p95: percentile(v, 95), n: v.length };
}

function scaleText(s: ScaleSize): string {
  const lines = [
    `\n=== ${s.consents.toLocaleString("en")} consents: consent step (returning, C=1) p50 ${f1(s.consentStep.p50)} ms, p95 ${f1(s.consentStep.p95)} ms; ${f1(s.flowsPerSec)} flows/s`,
    `    tables: ${Object.entries(s.tables).filter(([, n]) => n > 0).map(([t, n]) => `${t} ${n}`).join(", ")}`,
  ];
  for (const p of s.plans) {
    const flag = p.seqScans.some((x) => !(x.rows < LARGE_ROWS)) ? "  <<< Seq Scan on a large table" : "";
    lines.push(`\n--- ${shortSql(p.sql, 400)}${flag}`);
    lines.push(`    (${Object.entries(p.perFlow).map(([k, n]) => `${k} ${n}×`).join(", ")}; ${p.steps.join(", ")})`);
    lines.push(p.plan ? p.plan.replace(/^/gm, "    ") : `    could not explain: ${p.error}`);
  }
  return lines.join("\n");
}

function markdown(
  meta: Record<string, any>,
  aggs: ReturnType<typeof aggregate>,
  tgs: ReturnType<typeof targets>,
  captured: CapturedFlow[],
  scale: ScaleSize[] | undefined,
  profiles: { scenario: Scenario; flows: number; summary: ProfileSummary }[] | undefined,
): string {
  const o = meta.options as Options;
  const out: string[] = [];
  out.push(`# Benchmark: full authorization-code flows`);
  out.push("");
  out.push(
    `${meta.date.slice(0, 16).replace("T", " ")} UTC · commit ${meta.git.commit}${meta.git.dirty ? " + uncommitted changes" : ""} · ${meta.cpus} × ${meta.cpuModel} · Node ${meta.node} · PostgreSQL ${meta.postgres} · load average ${f1(meta.loadAverage.start)} → ${f1(meta.loadAverage.end)} · ` +
      `${o.rounds} round(s) × ${o.scenarios.length} scenarios × C=${o.concurrency.join(",")} × ${o.apps.length} apps, ${o.durationMs / 1000} s per cell, interleaved · whole run ${fmtDuration(meta.durationMs)}`,
  );
  out.push("");
  out.push(
    "Each app has its own Ory Hydra v2.3.0 and fresh databases; this app runs its production build as `npm start` does (`scripts/start.sh`: `node dist/src/server.js` with its memory settings), NODE_ENV=production, LOG_LEVEL=info into a file. " +
      "Flows/s: median over rounds (min–max). Latencies: p50 / p95 in ms over all rounds. Transactions: pg_stat_database of the app's database and of its Hydra's, idle rate subtracted. " +
      "CPU: the process's user + system time per flow. Peak RSS: VmHWM of the app process during the cell. See bench/README.md.",
  );
  out.push("");
  out.push("## Results");
  out.push("");
  out.push(resultsTable(aggs));
  out.push("");
  out.push("## Targets");
  out.push("");
  out.push(targetsTable(tgs));
  out.push("");
  const reqLabels: RequestLabel[] = ["app GET /login", "app POST /login", "app GET /consent", "app POST /consent", "hydra /oauth2/auth", "hydra login_verifier", "hydra consent_verifier", "hydra /oauth2/token"];
  out.push("## Single requests, p50 ms (C=1)");
  out.push("");
  out.push(
    markdownTable(
      ["scenario", "app", ...reqLabels],
      aggs.filter((a) => a.concurrency === Math.min(...o.concurrency)).map((a) => [a.scenario, APP_TITLES[a.app], ...reqLabels.map((l) => (a.requests[l]?.n ? f1(a.requests[l]!.p50) : "—"))]),
    ),
  );
  out.push("");
  out.push(`Log written by this app: ${aggs.filter((a) => a.app === "app").map((a) => `${a.scenario} C=${a.concurrency} ${Math.round(a.logBytesPerFlow)} B/flow`).join(", ")}.`);
  out.push("");
  out.push("## The app's queries of one flow (captured on the wire)");
  out.push("");
  out.push(captureTable(captured));
  out.push("");
  out.push("<details><summary>Statements per request</summary>");
  out.push("");
  out.push(captureDetails(captured));
  out.push("</details>");
  out.push("");
  if (profiles) {
    out.push("## Where the app's CPU goes (node --cpu-prof, C=1, self time per flow)");
    out.push("");
    for (const p of profiles) {
      const perFlow = (x: number) => f1(x / Math.max(1, p.flows));
      out.push(`**${p.scenario}**: ${perFlow(p.summary.busyMs)} ms busy per flow (${p.flows} flows)`);
      out.push("");
      out.push(markdownTable(["where", "ms/flow", "share"], p.summary.buckets.slice(0, 12).map((b) => [b.name, perFlow(b.ms), `${(b.share * 100).toFixed(1)} %`])));
      out.push("");
      out.push("<details><summary>Top functions</summary>");
      out.push("");
      out.push(markdownTable(["function", "where", "ms/flow", "share"], p.summary.functions.slice(0, 20).map((f) => [f.name, f.where, perFlow(f.ms), `${(f.share * 100).toFixed(1)} %`])));
      out.push("");
      out.push("</details>");
      out.push("");
    }
  }
  if (scale) {
    out.push("## Scale: consents in the app's database");
    out.push("");
    out.push(
      markdownTable(
        ["consents", "users", "consent_events", "audiences", "consent step p50 / p95 ms (returning, C=1)", ...STEPS.filter((s) => s !== "consent").map((s) => `${STEP_TITLES[s]} p50`), "flows/s", `Seq Scans on tables ≥ ${LARGE_ROWS} rows`],
        scale.map((s) => [
          s.consents.toLocaleString("en"),
          String(s.tables.users ?? "—"),
          String(s.tables.consent_events ?? "—"),
          String(s.tables.audiences ?? "—"),
          `${f1(s.consentStep.p50)} / ${f1(s.consentStep.p95)}`,
          ...STEPS.filter((x) => x !== "consent").map((x) => f1(s.steps[x].p50)),
          f1(s.flowsPerSec),
          s.flagged.length ? [...new Set(s.flagged.map((x) => `${x.table} (${x.rows})`))].join(", ") : "none",
        ]),
      ),
    );
    out.push("");
    const big = scale[scale.length - 1]!;
    if (big.flagged.length) {
      out.push(`Statements with a Seq Scan on a large table at ${big.consents.toLocaleString("en")} consents:`);
      out.push("");
      for (const f of big.flagged) out.push(`- \`${shortSql(f.sql, 200)}\` → Seq Scan on **${f.table}** (${f.rows} rows)`);
      out.push("");
    }
    if (big.smallSeqScans.length) {
      out.push(`Seq Scans on small tables (the planner's choice for < ${LARGE_ROWS} rows): ${[...new Set(big.smallSeqScans.map((x) => `${x.table} (${x.rows})`))].join(", ")}.`);
      out.push("");
    }
    out.push(`<details><summary>EXPLAIN (ANALYZE, BUFFERS) of every statement of a flow at ${big.consents.toLocaleString("en")} consents</summary>`);
    out.push("");
    for (const p of big.plans) out.push(planBlock(p));
    out.push("</details>");
    out.push("");
  }
  return out.join("\n");
}

function planBlock(p: Plan): string {
  const flag = p.seqScans.some((x) => !(x.rows < LARGE_ROWS)) ? " — **Seq Scan on a large table**" : "";
  return [
    `**${p.steps.join(", ")}** (${Object.entries(p.perFlow).map(([k, n]) => `${k} ${n}×`).join(", ")})${flag}`,
    "",
    "```sql",
    shortSql(p.sql, 2000),
    "```",
    "```",
    p.plan || `could not explain: ${p.error}`,
    "```",
    ...(p.plan && !p.analyzed ? [`(EXPLAIN without ANALYZE: running it again failed with "${p.error ?? ""}")`] : []),
    "",
  ].join("\n");
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);


