// The queries of single flows: the app is restarted with its DATABASE_URL pointing at the wire
// proxy (bench/pgwire.ts), one flow per scenario runs alone, and every statement and transaction
// end is attributed to the request during which the app sent it. Then (optionally) every distinct
// statement is run again under EXPLAIN (ANALYZE, BUFFERS) with the parameters the app bound,
// inside a transaction that is rolled back, and Seq Scans are looked up against table sizes.
import { databaseUrl, PG_ADMIN_URL } from "../test/support/pg";
import { startPgCapture, normalizeSql, type CapturedStatement } from "./pgwire";
import { runFlow, STEPS, type FlowInput, type RequestLabel, type Scenario, type Step } from "./flow";
import { withDb, type AppStack } from "./stacks";

export interface CapturedRequest {
  label: RequestLabel;
  ms: number;
  statements: { sql: string; params: (string | null)[]; paramTypes: number[] }[];
  transactions: number;
}

export interface CapturedFlow {
  scenario: Scenario;
  requests: CapturedRequest[];
  /** Per step: transactions and statements the app ran. */
  steps: Record<Step, { transactions: number; statements: number }>;
  transactions: number;
  statements: number;
  /** Statements outside every request of the flow (the mail worker's polls and the like). */
  background: number;
}

export interface Plan {
  sql: string;
  /** How many times one flow of each scenario sends it. */
  perFlow: Partial<Record<Scenario, number>>;
  steps: RequestLabel[];
  plan: string;
  analyzed: boolean;
  error?: string;
  seqScans: { table: string; rows: number }[];
  executionMs?: number;
}

const SKIP = /^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|SET|SHOW|DEALLOCATE|DISCARD|START TRANSACTION|LISTEN|UNLISTEN)\b/i;
const BACKGROUND = /\boutbox\b/i;

const STEP_OF: Partial<Record<RequestLabel, Step>> = {
  "hydra /oauth2/auth": "login",
  "app GET /login": "login",
  "app POST /login": "loginPost",
  "app GET /consent": "consent",
  "app POST /consent": "consent",
  "hydra consent_verifier": "token",
  "hydra /oauth2/token": "token",
};

/** Restarts the app through the wire proxy, runs `prepare()` flows (not recorded), then one recorded flow per scenario. */
export async function captureFlows(
  stack: AppStack,
  flows: { scenario: Scenario; input: () => FlowInput }[],
): Promise<CapturedFlow[]> {
  if (!stack.appDbName) throw new Error("only this app has a database to capture");
  const pg = new URL(PG_ADMIN_URL);
  const cap = await startPgCapture({ host: pg.hostname, port: Number(pg.port || 5432) });
  const url = new URL(databaseUrl(stack.appDbName));
  url.hostname = "127.0.0.1";
  url.port = String(cap.port);
  const out: CapturedFlow[] = [];
  try {
    await stack.restart({ databaseUrl: url.toString() });
    // Warm the app up (connection pools, caches) with one unrecorded flow of each scenario.
    for (const f of flows) await runFlow(f.input());
    await new Promise((r) => setTimeout(r, 300));
    for (const f of flows) {
      const windows: { label: RequestLabel; start: number; end: number }[] = [];
      const from = cap.statements.length;
      const txFrom = cap.txEnds.length;
      const input = f.input();
      await runFlow({ ...input, onRequest: (label, start, end) => windows.push({ label, start, end }) });
      await new Promise((r) => setTimeout(r, 300));
      const stmts = cap.statements.slice(from);
      const txs = cap.txEnds.slice(txFrom);
      const requests: CapturedRequest[] = windows.map((w) => ({ label: w.label, ms: w.end - w.start, statements: [], transactions: 0 }));
      let background = 0;
      // The app's work belongs to the latest request of the app that began before it (work an app
      // finishes after answering lands in the next, Hydra's, request window otherwise).
      const at = (t: number) => {
        for (let i = windows.length - 1; i >= 0; i--) if (windows[i]!.label.startsWith("app ") && windows[i]!.start <= t) return i;
        return -1;
      };
      for (const s of stmts) {
        const i = at(s.t);
        if (i < 0 || BACKGROUND.test(s.sql)) {
          background++;
          continue;
        }
        requests[i]!.statements.push({ sql: s.sql, params: s.params, paramTypes: s.paramTypes });
      }
      // A transaction is the mail worker's (its statements name "outbox") when the last statement
      // on its connection before its end was one: not counted in any request (nor in the total).
      const lastOnConn = (t: { t: number; conn: number }) => {
        let last: (typeof stmts)[number] | undefined;
        for (const s of stmts) if (s.conn === t.conn && s.t <= t.t) last = s;
        return last;
      };
      for (const t of txs) {
        const i = at(t.t);
        const last = lastOnConn(t);
        if (i >= 0 && !(last && BACKGROUND.test(last.sql))) requests[i]!.transactions++;
      }
      const steps = Object.fromEntries(STEPS.map((s) => [s, { transactions: 0, statements: 0 }])) as CapturedFlow["steps"];
      const posted = requests.some((r) => r.label === "app POST /login");
      for (const r of requests) {
        const step = r.label === "hydra login_verifier" ? (posted ? "loginPost" : "login") : STEP_OF[r.label];
        if (!step) continue;
        steps[step].transactions += r.transactions;
        steps[step].statements += r.statements.filter((s) => !SKIP.test(s.sql)).length;
      }
      const transactions = requests.reduce((n, r) => n + r.transactions, 0);
      out.push({ scenario: f.scenario, requests, steps, transactions, statements: requests.reduce((n, r) => n + r.statements.filter((s) => !SKIP.test(s.sql)).length, 0), background });
    }
  } finally {
    await stack.restart();
    await cap.close();
  }
  return out;
}

function literal(v: string | null): string {
  return v === null ? "NULL" : `'${v.replace(/'/g, "''")}'`;
}

/** EXPLAIN (ANALYZE, BUFFERS) of every distinct statement of the captured flows, rolled back. */
export async function explainAll(dbName: string, flows: CapturedFlow[]): Promise<Plan[]> {
  const distinct = new Map<string, { s: CapturedFlow["requests"][number]["statements"][number]; plan: Plan }>();
  for (const f of flows) {
    for (const r of f.requests) {
      for (const s of r.statements) {
        if (SKIP.test(s.sql)) continue;
        const key = normalizeSql(s.sql);
        let d = distinct.get(key);
        if (!d) distinct.set(key, (d = { s, plan: { sql: key, perFlow: {}, steps: [], plan: "", analyzed: false, seqScans: [] } }));
        d.plan.perFlow[f.scenario] = (d.plan.perFlow[f.scenario] ?? 0) + 1;
        if (!d.plan.steps.includes(r.label)) d.plan.steps.push(r.label);
      }
    }
  }
  return withDb(dbName, async (c) => {
    await c.query("SET statement_timeout = '20s'");
    // Current statistics for every table (autovacuum would have them in a running system).
    await c.query("ANALYZE");
    const sizes = new Map(
      (await c.query<{ relname: string; n: string }>("SELECT relname, GREATEST(reltuples, 0)::bigint::text AS n FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace")).rows.map((r) => [
        r.relname,
        Number(r.n),
      ]),
    );
    const typeNames = new Map<number, string>();
    const oids = [...new Set([...distinct.values()].flatMap((d) => d.s.paramTypes.filter((o) => o > 0)))];
    if (oids.length) {
      for (const r of (await c.query<{ oid: number; t: string }>("SELECT oid::int AS oid, format_type(oid, NULL) AS t FROM pg_type WHERE oid = ANY($1::oid[])", [oids])).rows) typeNames.set(r.oid, r.t);
    }
    const plans: Plan[] = [];
    let n = 0;
    for (const { s, plan } of distinct.values()) {
      const name = `bench_explain_${n++}`;
      const types = s.paramTypes.length && s.paramTypes.some((o) => o > 0) ? `(${s.paramTypes.map((o) => typeNames.get(o) ?? "unknown").join(", ")})` : "";
      const exec = s.params.length ? `EXECUTE ${name}(${s.params.map(literal).join(", ")})` : `EXECUTE ${name}`;
      for (const analyze of [true, false]) {
        try {
          await c.query("BEGIN");
          await c.query(`PREPARE ${name}${types} AS ${s.sql}`);
          const r = await c.query<{ "QUERY PLAN": string }>(`EXPLAIN (${analyze ? "ANALYZE, BUFFERS, " : ""}COSTS true) ${exec}`);
          plan.plan = r.rows.map((row) => row["QUERY PLAN"]).join("\n");
          plan.analyzed = analyze;
          if (analyze) plan.error = undefined;
          await c.query("ROLLBACK");
          await c.query(`DEALLOCATE ${name}`).catch(() => undefined);
          break;
        } catch (err) {
          plan.error = (err as Error).message;
          await c.query("ROLLBACK").catch(() => undefined);
          await c.query(`DEALLOCATE ${name}`).catch(() => undefined);
        }
      }
      const m = /Execution Time: ([\d.]+) ms/.exec(plan.plan);
      if (m) plan.executionMs = Number(m[1]);
      for (const scan of plan.plan.matchAll(/Seq Scan on (\S+)/g)) {
        const table = scan[1]!.replace(/^public\./, "").replace(/"/g, "");
        plan.seqScans.push({ table, rows: sizes.get(table) ?? NaN });
      }
      plans.push(plan);
    }
    return plans;
  });
}

export function flaggedSeqScans(plans: Plan[], largeRows: number): { sql: string; table: string; rows: number }[] {
  return plans.flatMap((p) => p.seqScans.filter((s) => !(s.rows < largeRows)).map((s) => ({ sql: p.sql, ...s })));
}

export type { CapturedStatement };
