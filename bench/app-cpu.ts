// Developer tool: the app's own CPU per request, without Hydra's noise, next to the no-op +
// argon2 reference app's for the same step. Starts the production build and bench/noop-app.ts
// (MODE=argon2) against a stand-in for Hydra's admin API (canned answers; it does not check anything:
// this is NOT a test of the flows, which run against the real Hydra in `npm test` and `npm run
// bench`), then drives remembered, returning and first-time steps one at a time and prints each
// process's CPU per step. Usage: [ONLY=text] npx tsx bench/app-cpu.ts [requests per step]
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { randomBytes, randomUUID } from "node:crypto";
import pg from "pg";
import ts from "typescript";
import { applyConfig } from "../src/admin/apply-config";
import { parseAppConfig } from "../src/config/audiences";
import { createCommandPool } from "../src/services/db";
import { createStore } from "../src/services/store";
import { createHydra } from "../src/services/hydra";
import { hashPassword } from "../src/services/passwords";
import { benchConfig, CLIENT_ID, PASSWORD } from "./stacks";
import { cpuMs } from "./stacks";

const ROOT = path.resolve(__dirname, "..");
const PG = process.env.TEST_PG_URL ?? "postgresql://postgres@127.0.0.1:5432";
const FLOWS = Number(process.argv[2] ?? 300);

/** The process's minor page faults so far (/proc/<pid>/stat field 10): memory it touched anew. */
function minorFaults(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[7]);
}

async function freePort(): Promise<number> {
  return new Promise((r) => { const s = http.createServer().listen(0, "127.0.0.1", () => { const p = (s.address() as { port: number }).port; s.close(() => r(p)); }); });
}

const FAKE_HYDRA = `
const http=require('http');const userId=process.env.USER_ID;
const client={client_id:'${CLIENT_ID}',client_name:'Bench Web',scope:'openid profile email bench.read',metadata:{}};
http.createServer((q,s)=>{let b='';q.on('data',d=>b+=d);q.on('end',()=>{
 const u=new URL(q.url,'http://x');const send=(st,o)=>{s.writeHead(st,{'content-type':'application/json'});s.end(JSON.stringify(o))};
 const ch=u.searchParams.get('login_challenge')||u.searchParams.get('consent_challenge')||'';const br=ch.split('.')[1]||'b';const sub=ch.startsWith('new')?br:userId;
 if(u.pathname==='/health/ready')return send(200,{status:'ok'});
 if(u.pathname.startsWith('/admin/clients')){if(q.method==='GET'&&u.pathname!=='/admin/clients')return send(404,{error:'not_found'});if(q.method==='GET')return send(200,[]);return send(q.method==='POST'?201:200,JSON.parse(b||'{}'));}
 if(u.pathname==='/admin/oauth2/auth/requests/login'&&q.method==='GET')return send(200,{challenge:ch,skip:ch.startsWith('rem'),subject:ch.startsWith('rem')?sub:'',client,request_url:'http://127.0.0.1:4444/oauth2/auth?client_id=bench-web&response_type=code&scope=openid',requested_scope:['openid','profile','email','bench.read'],requested_access_token_audience:[],session_id:'ls-'+br,oidc_context:{}});
 if(u.pathname==='/admin/oauth2/auth/requests/login/accept')return send(200,{redirect_to:'http://127.0.0.1:4444/oauth2/auth?login_verifier=v'});
 if(u.pathname==='/admin/oauth2/auth/requests/consent'&&q.method==='GET')return send(200,{challenge:ch,skip:ch.startsWith('con'),subject:sub,client,request_url:'http://127.0.0.1:4444/oauth2/auth?client_id=bench-web',requested_scope:['openid','profile','email','bench.read'],requested_access_token_audience:[],login_session_id:'ls-'+br,login_challenge:'x',oidc_context:{},context:{}});
 if(u.pathname==='/admin/oauth2/auth/requests/consent/accept')return send(200,{redirect_to:'http://127.0.0.1:4444/oauth2/auth?consent_verifier=v'});
 send(404,{error:'not_found',path:u.pathname});});}).listen(+process.env.PORT,'127.0.0.1',()=>console.log('up'));`;

class Browser {
  cookies = new Map<string, string>();
  agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  constructor(private readonly base: string) {}
  req(method: string, p: string, body?: string): Promise<{ status: number; location?: string; text: string }> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; "), "accept-language": "en" };
      if (body !== undefined) { headers["content-type"] = "application/x-www-form-urlencoded"; headers["sec-fetch-site"] = "same-origin"; }
      const r = http.request(this.base + p, { method, headers, agent: this.agent }, (res) => {
        for (const c of ([] as string[]).concat(res.headers["set-cookie"] ?? [])) { const [kv] = c.split(";"); const i = kv!.indexOf("="); this.cookies.set(kv!.slice(0, i), kv!.slice(i + 1)); }
        let text = ""; res.setEncoding("utf8"); res.on("data", (d) => (text += d)); res.on("end", () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, text }));
      });
      r.on("error", reject); r.end(body);
    });
  }
}

async function main(): Promise<void> {
  const tag = `appcpu_${process.pid}`;
  const admin = new pg.Client({ connectionString: `${PG}/postgres` }); await admin.connect();
  await admin.query(`CREATE DATABASE ${tag}`);
  const dbUrl = `${PG}/${tag}`;
  const build = path.join(ROOT, "dist", `appcpu-${process.pid}`);
  const procs: ReturnType<typeof spawn>[] = [];
  try {
    execFileSync(path.join(ROOT, "node_modules/.bin/prisma"), ["migrate", "deploy"], { cwd: ROOT, env: { ...process.env, DATABASE_URL: dbUrl }, stdio: "pipe" });
    execFileSync(path.join(ROOT, "node_modules/.bin/tsc"), ["-p", "tsconfig.build.json", "--outDir", build], { cwd: ROOT, stdio: "inherit" });
    const userId = randomUUID();
    const hydraPort = await freePort();
    const hy = spawn(process.execPath, ["-e", FAKE_HYDRA], { env: { PORT: String(hydraPort), USER_ID: userId }, stdio: ["ignore", "pipe", "inherit"] });
    procs.push(hy); await new Promise((r) => hy.stdout!.once("data", r));
    const hydraUrl = `http://127.0.0.1:${hydraPort}`;
    const db = createCommandPool(dbUrl, 2);
    const appPort = await freePort(); const appUrl = `http://127.0.0.1:${appPort}`;
    await applyConfig(parseAppConfig(benchConfig()), { store: createStore({ pool: db }), hydra: createHydra({ adminUrl: hydraUrl, timeoutMs: 10_000 }), secrets: { BENCH_WEB_SECRET: "x".repeat(40), APP_BASE_URL: appUrl } });
    await db.end();
    const c = new pg.Client({ connectionString: dbUrl }); await c.connect();
    const hash = await hashPassword(PASSWORD);
    await c.query(`INSERT INTO users (id, email, email_normalized, email_verified, password_hash, name, updated_at) VALUES ($1, 'u@bench.example', 'u@bench.example', true, $2, 'U', now())`, [userId, hash]);
    // First-time flows: a user each (f<i>@bench.example), who has never consented.
    const firstCount = 2 * (30 + 4 * FLOWS);
    const { rows: firsts } = await c.query<{ id: string; email: string }>(`INSERT INTO users (id, email, email_normalized, email_verified, password_hash, name, updated_at) SELECT gen_random_uuid(), 'f' || i || '@bench.example', 'f' || i || '@bench.example', true, $1, 'F', now() FROM generate_series(0, $2::int - 1) i RETURNING id, email`, [hash, firstCount]);
    const firstIds: string[] = [];
    for (const r of firsts) firstIds[Number(/^f(\d+)@/.exec(r.email)![1])] = r.id;
    await c.query(`INSERT INTO consents (id, user_id, audience_id, scopes, client_ids, updated_at) VALUES (gen_random_uuid(), $1, 'bench', '{openid,profile,email,bench.read}', '{bench-web}', now())`, [userId]);
    await c.end();
    const log = fs.openSync(path.join(build, "app.log"), "a");
    const app = spawn("sh", [path.join(ROOT, "scripts/start.sh"), ...(process.env.APP_NODE_ARGS?.split(" ").filter(Boolean) ?? []), path.join(build, "src/server.js")], { cwd: ROOT, stdio: ["ignore", log, log], env: { PATH: process.env.PATH ?? "", NODE_ENV: "production", HOST: "127.0.0.1", PORT: String(appPort), APP_BASE_URL: appUrl, DATABASE_URL: dbUrl, HYDRA_ADMIN_URL: hydraUrl, HYDRA_PUBLIC_URL: "http://127.0.0.1:4444", SESSION_SECRETS: randomBytes(32).toString("hex"), COOKIE_SECURE: "false", LOG_LEVEL: "info", SMTP_URL: `smtp://127.0.0.1:${await freePort()}`, MAIL_FROM: "x <x@localhost>", ...(process.env.APP_ENV ? JSON.parse(process.env.APP_ENV) : {}) } });
    procs.push(app);
    for (let i = 0; i < 300; i++) { try { if ((await fetch(`${appUrl}/health/ready`)).ok) break; } catch { /* starting */ } await new Promise((r) => setTimeout(r, 100)); }
    if (app.exitCode !== null || !(await fetch(`${appUrl}/health/ready`).then((r) => r.ok, () => false))) throw new Error(`app did not start:\n${fs.readFileSync(path.join(build, "app.log"), "utf8").slice(-3000)}`);
    // The no-op + argon2 reference app (bench/noop-app.ts, as `npm run bench` runs it) on the same stand-in.
    const noopJs = path.join(build, "bench", "noop-app.js");
    fs.mkdirSync(path.dirname(noopJs), { recursive: true });
    fs.writeFileSync(noopJs, ts.transpileModule(fs.readFileSync(path.join(ROOT, "bench", "noop-app.ts"), "utf8"), { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } }).outputText);
    const noopPort = await freePort();
    const noop = spawn("sh", [path.join(ROOT, "scripts/start.sh"), noopJs], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"], env: { PATH: process.env.PATH ?? "", MODE: "argon2", PORT: String(noopPort), HYDRA_ADMIN_URL: hydraUrl, PASSWORD_HASH: hash } });
    procs.push(noop); await new Promise((r) => noop.stdout!.once("data", r));
    const targets = { "this app": { url: appUrl, pid: app.pid! }, "no-op+argon2": { url: `http://127.0.0.1:${noopPort}`, pid: noop.pid! } };

    // Each group is a sequence of steps; measuring a step runs the steps before it in its group first
    // (unmeasured). A group's state: its browser and, between steps, the last page's hidden form fields.
    interface Ctx { b: Browser; n: number; form: string; user: number }
    // The page's hidden fields (CSRF token, challenge, ticket), sent back as a browser would.
    const field = (html: string) => [...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map(([, k, v]) => `${k}=${encodeURIComponent(v!.replace(/&#34;|&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&"))}`).filter((kv, i, a) => a.indexOf(kv) === i).join("&");
    const expect = (r: { status: number; text: string }, status: number, what: string) => { if (r.status !== status && !(status === 303 && r.status === 302)) throw new Error(`${what}: ${r.status} ${r.text.slice(0, 300)}`); };
    let firstUser = 0;
    const groups: { name: string; fresh: boolean; steps: [string, (c: Ctx) => Promise<void>][] }[] = [
      { name: "remembered", fresh: false, steps: [["GET /login (skip)", async (c) => expect(await c.b.req("GET", `/login?login_challenge=rem.1.${c.n}`), 303, "login")]] },
      { name: "returning", fresh: false, steps: [
        ["GET /login (page)", async (c) => { const r = await c.b.req("GET", `/login?login_challenge=ret.1.${c.n}`); expect(r, 200, "login page"); c.form = field(r.text); }],
        ["POST /login (argon2 included)", async (c) => expect(await c.b.req("POST", "/login", `${c.form}&email=u%40bench.example&password=${encodeURIComponent(PASSWORD)}`), 303, "login post")],
        ["GET /consent (silent)", async (c) => expect(await c.b.req("GET", `/consent?consent_challenge=con.1.${c.n}`), 303, "consent")],
      ] },
      { name: "first-time", fresh: true, steps: [
        ["GET /login (page, new browser)", async (c) => { const r = await c.b.req("GET", `/login?login_challenge=new.${firstIds[c.user]}.${c.n}`); expect(r, 200, "login page"); c.form = field(r.text); }],
        ["POST /login (argon2 included)", async (c) => expect(await c.b.req("POST", "/login", `${c.form}&email=f${c.user}%40bench.example&password=${encodeURIComponent(PASSWORD)}`), 303, "login post")],
        ["GET /consent (page)", async (c) => { const r = await c.b.req("GET", `/consent?consent_challenge=new.${firstIds[c.user]}.${c.n}`); expect(r, 200, "consent page"); c.form = field(r.text); }],
        ["POST /consent (allow)", async (c) => expect(await c.b.req("POST", "/consent", `${c.form}&decision=allow`), 303, "consent post")],
      ] },
    ];
    const mon = new pg.Client({ connectionString: `${PG}/postgres` }); await mon.connect();
    const pgCpu = async () => { const { rows } = await mon.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = $1", [tag]); return rows.reduce((s, r) => s + (cpuMs(r.pid) || 0), 0); };
    const only = process.env.ONLY;
    const results: { target: string; step: string; cpu: number; db: number; wall: number; faults: number }[] = [];
    for (const [tname, target] of Object.entries(targets)) {
      const kept = new Browser(target.url);
      let n = 0;
      const ctx = (fresh: boolean): Ctx => ({ b: fresh ? new Browser(target.url) : kept, n: ++n, form: "", user: fresh ? firstUser++ : 0 });
      // warm-up: every group's steps
      for (let i = 0; i < 30; i++) for (const g of groups) { const c = ctx(g.fresh); for (const [, s] of g.steps) await s(c); }
      if (tname === "this app") {
        // At rest: what the app spends with no request (timers, the mail outbox's poll, GC), measured
        // after the warm-up's own tail has settled (V8 compiles and collects for seconds after a burst).
        await new Promise((r) => setTimeout(r, Number(process.env.REST_SETTLE_MS ?? 15_000)));
        const idle0 = cpuMs(target.pid); const idleDb0 = await pgCpu();
        await new Promise((r) => setTimeout(r, 10_000));
        console.log(`at rest: app CPU ${((cpuMs(target.pid) - idle0) / 10).toFixed(1)} ms/s, database CPU ${(((await pgCpu()) - idleDb0) / 10).toFixed(1)} ms/s`);
        if (process.env.REST_ONLY) break;
      }
      // Each step measured in its own block of FLOWS requests (CPU ticks are 10 ms).
      for (const g of groups) for (let k = 0; k < g.steps.length; k++) {
        const [sname, s] = g.steps[k]!;
        if (only && !`${g.name} ${sname}`.includes(only)) continue;
        let cpu = 0; let wall = 0; let unmeasured = 0; let faults = 0;
        const db0 = await pgCpu();
        for (let i = 0; i < FLOWS; i++) {
          const c = ctx(g.fresh);
          const u0 = await pgCpu();
          for (const [, p] of g.steps.slice(0, k)) await p(c); // the steps it needs first (their database CPU is subtracted below)
          unmeasured += (await pgCpu()) - u0;
          const c0 = cpuMs(target.pid); const f0 = minorFaults(target.pid); const t0 = performance.now();
          await s(c);
          wall += performance.now() - t0; cpu += cpuMs(target.pid) - c0; faults += minorFaults(target.pid) - f0;
        }
        results.push({ target: tname, step: `${g.name} ${sname}`, cpu: cpu / FLOWS, wall: wall / FLOWS, db: ((await pgCpu()) - db0 - unmeasured) / FLOWS, faults: faults / FLOWS });
      }
    }
    const steps = [...new Set(results.map((r) => r.step))];
    console.log(`${"step (ms per request)".padEnd(46)} ${"this app: CPU".padStart(13)} ${"(db)".padStart(6)} ${"wall".padStart(7)} ${"faults".padStart(7)}   ${"no-op+argon2: CPU".padStart(17)} ${"wall".padStart(7)} ${"faults".padStart(7)}   CPU gap`);
    for (const st of steps) {
      const a = results.find((r) => r.target === "this app" && r.step === st);
      const o = results.find((r) => r.target === "no-op+argon2" && r.step === st);
      if (!a || !o) continue;
      console.log(`${st.padEnd(46)} ${a.cpu.toFixed(2).padStart(13)} ${a.db.toFixed(2).padStart(6)} ${a.wall.toFixed(2).padStart(7)} ${a.faults.toFixed(0).padStart(7)}   ${o.cpu.toFixed(2).padStart(17)} ${o.wall.toFixed(2).padStart(7)} ${o.faults.toFixed(0).padStart(7)}   ${(a.cpu - o.cpu).toFixed(2).padStart(7)}`);
    }
    await mon.end();
  } finally {
    for (const p of procs) p.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 500));
    await admin.query(`DROP DATABASE IF EXISTS ${tag} WITH (FORCE)`);
    await admin.end();
    fs.rmSync(build, { recursive: true, force: true });
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
