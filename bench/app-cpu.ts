// Developer tool (issue #12): the app's own CPU per request, without Hydra's noise. Starts the
// production build against a stand-in for Hydra's admin API (canned answers; it does not check
// anything: this is NOT a test of the flows, which run against the real Hydra in `npm test` and
// `npm run bench`), then drives remembered and returning steps one at a time and prints the app
// process's CPU per step. Usage: npx tsx bench/app-cpu.ts [flows]
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { randomBytes, randomUUID } from "node:crypto";
import pg from "pg";
import { applyConfig } from "../src/admin/apply-config";
import { parseAppConfig } from "../src/config/audiences";
import { createDb } from "../src/services/db";
import { createHydra } from "../src/services/hydra";
import { hashPassword } from "../src/services/passwords";
import { benchConfig, CLIENT_ID, PASSWORD } from "./stacks";
import { cpuMs } from "./stacks";

const ROOT = path.resolve(__dirname, "..");
const PG = process.env.TEST_PG_URL ?? "postgresql://postgres@127.0.0.1:5432";
const FLOWS = Number(process.argv[2] ?? 300);

async function freePort(): Promise<number> {
  return new Promise((r) => { const s = http.createServer().listen(0, "127.0.0.1", () => { const p = (s.address() as { port: number }).port; s.close(() => r(p)); }); });
}

const FAKE_HYDRA = `
const http=require('http');const userId=process.env.USER_ID;
const client={client_id:'${CLIENT_ID}',client_name:'Bench Web',scope:'openid profile email bench.read',metadata:{}};
http.createServer((q,s)=>{let b='';q.on('data',d=>b+=d);q.on('end',()=>{
 const u=new URL(q.url,'http://x');const send=(st,o)=>{s.writeHead(st,{'content-type':'application/json'});s.end(JSON.stringify(o))};
 const ch=u.searchParams.get('login_challenge')||u.searchParams.get('consent_challenge')||'';const br=ch.split('.')[1]||'b';
 if(u.pathname==='/health/ready')return send(200,{status:'ok'});
 if(u.pathname.startsWith('/admin/clients')){if(q.method==='GET'&&u.pathname!=='/admin/clients')return send(404,{error:'not_found'});if(q.method==='GET')return send(200,[]);return send(q.method==='POST'?201:200,JSON.parse(b||'{}'));}
 if(u.pathname==='/admin/oauth2/auth/requests/login'&&q.method==='GET')return send(200,{challenge:ch,skip:ch.startsWith('rem'),subject:ch.startsWith('rem')?userId:'',client,request_url:'http://127.0.0.1:4444/oauth2/auth?client_id=bench-web&response_type=code&scope=openid',requested_scope:['openid','profile','email','bench.read'],requested_access_token_audience:[],session_id:'ls-'+br,oidc_context:{}});
 if(u.pathname==='/admin/oauth2/auth/requests/login/accept')return send(200,{redirect_to:'http://127.0.0.1:4444/oauth2/auth?login_verifier=v'});
 if(u.pathname==='/admin/oauth2/auth/requests/consent'&&q.method==='GET')return send(200,{challenge:ch,skip:false,subject:userId,client,request_url:'http://127.0.0.1:4444/oauth2/auth?client_id=bench-web',requested_scope:['openid','profile','email','bench.read'],requested_access_token_audience:[],login_session_id:'ls-'+br,login_challenge:'x',oidc_context:{},context:{}});
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
    const db = createDb(dbUrl, { max: 2 });
    const appPort = await freePort(); const appUrl = `http://127.0.0.1:${appPort}`;
    await applyConfig(parseAppConfig(benchConfig()), { db, hydra: createHydra({ adminUrl: hydraUrl, timeoutMs: 10_000 }), secrets: { BENCH_WEB_SECRET: "x".repeat(40), APP_BASE_URL: appUrl } });
    await db.$disconnect();
    const c = new pg.Client({ connectionString: dbUrl }); await c.connect();
    await c.query(`INSERT INTO users (id, email, email_normalized, email_verified, password_hash, name, updated_at) VALUES ($1, 'u@bench.example', 'u@bench.example', true, $2, 'U', now())`, [userId, await hashPassword(PASSWORD)]);
    await c.query(`INSERT INTO consents (id, user_id, audience_id, scopes, client_ids, updated_at) VALUES (gen_random_uuid(), $1, 'bench', '{openid,profile,email,bench.read}', '{bench-web}', now())`, [userId]);
    await c.end();
    const log = fs.openSync(path.join(build, "app.log"), "a");
    const app = spawn("sh", [path.join(ROOT, "scripts/start.sh"), ...(process.env.APP_NODE_ARGS?.split(" ").filter(Boolean) ?? []), path.join(build, "src/server.js")], { cwd: ROOT, stdio: ["ignore", log, log], env: { PATH: process.env.PATH ?? "", NODE_ENV: "production", HOST: "127.0.0.1", PORT: String(appPort), APP_BASE_URL: appUrl, DATABASE_URL: dbUrl, HYDRA_ADMIN_URL: hydraUrl, HYDRA_PUBLIC_URL: "http://127.0.0.1:4444", SESSION_SECRETS: randomBytes(32).toString("hex"), COOKIE_SECURE: "false", LOG_LEVEL: "info", SMTP_URL: `smtp://127.0.0.1:${await freePort()}`, MAIL_FROM: "x <x@localhost>", ...(process.env.APP_ENV ? JSON.parse(process.env.APP_ENV) : {}) } });
    procs.push(app);
    for (let i = 0; i < 300; i++) { try { if ((await fetch(`${appUrl}/health/ready`)).ok) break; } catch { /* starting */ } await new Promise((r) => setTimeout(r, 100)); }
    if (app.exitCode !== null || !(await fetch(`${appUrl}/health/ready`).then((r) => r.ok, () => false))) throw new Error(`app did not start:\n${fs.readFileSync(path.join(build, "app.log"), "utf8").slice(-3000)}`);
    const b = new Browser(appUrl);
    let n = 0;
    const steps: Record<string, () => Promise<void>> = {
      "remembered GET /login (skip)": async () => { const r = await b.req("GET", `/login?login_challenge=rem.1.${n}`); if (r.status !== 303) throw new Error(`login ${r.status} ${r.text.slice(0, 300)}`); },
      "GET /consent (silent)": async () => { const r = await b.req("GET", `/consent?consent_challenge=con.1.${n}`); if (r.status !== 303) throw new Error(`consent ${r.status} ${r.text.slice(0, 500)}`); },
      "returning GET /login (page)": async () => { const r = await b.req("GET", `/login?login_challenge=ret.1.${n}`); if (r.status !== 200) throw new Error(`login page ${r.status}`); (b as unknown as { csrf: string }).csrf = /name="_csrf" value="([^"]+)"/.exec(r.text)![1]!; },
      "POST /login (argon2 included)": async () => { const csrf = (b as unknown as { csrf: string }).csrf; const r = await b.req("POST", "/login", `login_challenge=ret.1.${n}&_csrf=${encodeURIComponent(csrf)}&email=u%40bench.example&password=${encodeURIComponent(PASSWORD)}`); if (r.status !== 303) throw new Error(`login post ${r.status} ${r.text.slice(0, 300)}`); },
    };
    const pid = app.pid!;
    // The database's CPU: every backend process connected to the app's database (the app's pools).
    const mon = new pg.Client({ connectionString: `${PG}/postgres` }); await mon.connect();
    const pgCpu = async () => { const { rows } = await mon.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = $1", [tag]); return rows.reduce((s, r) => s + (cpuMs(r.pid) || 0), 0); };
    // warm-up
    for (n = 0; n < 30; n++) for (const s of Object.values(steps)) await s();
    // At rest: what the app spends with no request (timers, the mail outbox's poll, GC).
    const idle0 = cpuMs(pid); const idleDb0 = await pgCpu();
    await new Promise((r) => setTimeout(r, 10_000));
    console.log(`at rest: app CPU ${((cpuMs(pid) - idle0) / 10).toFixed(1)} ms/s, database CPU ${(((await pgCpu()) - idleDb0) / 10).toFixed(1)} ms/s`);
    if (process.env.REST_ONLY) return void (await mon.end());
    const total: Record<string, { cpu: number; wall: number; db: number }> = {};
    for (const k of Object.keys(steps)) total[k] = { cpu: 0, wall: 0, db: 0 };
    // Each step type measured in its own block of FLOWS requests (CPU ticks are 10 ms).
    for (const [k, s] of Object.entries(steps)) {
      const pre = Object.entries(steps).slice(0, Object.keys(steps).indexOf(k));
      const db0 = await pgCpu();
      let unmeasured = 0;
      for (let i = 0; i < FLOWS; i++) {
        n++;
        const u0 = await pgCpu();
        for (const [, p] of pre) await p(); // the steps it needs first (their database CPU is subtracted below)
        unmeasured += (await pgCpu()) - u0;
        const c0 = cpuMs(pid); const t0 = performance.now();
        await s();
        total[k]!.wall += performance.now() - t0; total[k]!.cpu += cpuMs(pid) - c0;
      }
      total[k]!.db = (await pgCpu()) - db0 - unmeasured;
    }
    for (const [k, v] of Object.entries(total)) console.log(`${k.padEnd(32)} app CPU ${(v.cpu / FLOWS).toFixed(2)} ms   database CPU ${(v.db / FLOWS).toFixed(2)} ms   wall ${(v.wall / FLOWS).toFixed(2)} ms`);
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
