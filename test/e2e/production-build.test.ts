// The production build. `npm run build` compiles src/ and prisma/seed.ts (tsconfig.build.json)
// to JavaScript; the compiled seed applies a configuration file and the compiled server, run with
// plain `node` (no tsx), serves pages and its health probes against a real stack.
// Built into dist/test-build-<pid>/ (not dist/ itself, which may hold a developer's build): the
// compiled code finds views/ and the other files by walking up to the package root (src/paths.ts).
// The compiled server never loads Prisma (its client and WebAssembly query compiler cost about
// 35 MiB): a whole sign-in and consent through it leaves no Prisma module among those it loaded.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { startStack, freePort, type Stack } from "../support/stack";
import { CALLBACK, createUser, demoConfig, runCommand } from "../support/fixtures";
import { Browser } from "../support/browser";
import { callbackParams, exchangeCode, startAuthorization } from "../support/oauth";
import { ROOT } from "../support/paths";
import { findRow } from "../support/db";

jest.setTimeout(300_000);

const outDir = path.join(ROOT, "dist", `test-build-${process.pid}`);
let stack: Stack;
let app: { url: string; proc: ChildProcess; log: () => string; exited: Promise<number | null> } | undefined;
let signInApp: ChildProcess | undefined;

beforeAll(async () => {
  stack = await startStack({ config: demoConfig() });
});
afterAll(async () => {
  for (const proc of [app?.proc, signInApp]) if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
  fs.rmSync(outDir, { recursive: true, force: true });
  await stack?.stop();
});

test("npm run build compiles the server and the seed, not the tests", async () => {
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const build = await runCommand(npm, ["run", "--silent", "build", "--", "--outDir", outDir], process.env);
  expect({ code: build.code, output: build.stdout + build.stderr }).toEqual({ code: 0, output: expect.any(String) });
  expect(fs.existsSync(path.join(outDir, "src", "server.js"))).toBe(true);
  expect(fs.existsSync(path.join(outDir, "prisma", "seed.js"))).toBe(true);
  expect(fs.existsSync(path.join(outDir, "src", "generated", "prisma", "client.js"))).toBe(true);
  expect(fs.existsSync(path.join(outDir, "test"))).toBe(false);
  expect(fs.existsSync(path.join(outDir, "scripts"))).toBe(false);
});

test("the compiled seed applies a configuration file: node <build>/prisma/seed.js --config <file>", async () => {
  const file = path.join(outDir, "seed-config.yaml"); // YAML is a superset of JSON
  fs.writeFileSync(file, JSON.stringify(demoConfig({ name: "Demo Web (compiled seed)" })));
  const seed = await runCommand(process.execPath, [path.join(outDir, "prisma", "seed.js"), "--config", file], {
    PATH: process.env.PATH,
    DATABASE_URL: stack.appVars.DATABASE_URL,
    HYDRA_ADMIN_URL: stack.hydraAdminUrl,
    APP_BASE_URL: stack.appUrl,
    ...stack.secrets,
  });
  expect(seed).toMatchObject({ code: 0, stderr: "" });
  expect(seed.stdout).toContain(`seed: ${file}`);
  expect((await stack.hydra.listClients()).find((c) => c.client_id === "demo-web")?.client_name).toBe("Demo Web (compiled seed)");
});

test("the production start (scripts/start.sh, as npm start and the image run it) serves pages and its health probes, and stops on SIGTERM with exit code 0", async () => {
  const port = await freePort();
  let output = "";
  const proc = spawn("sh", [path.join(ROOT, "scripts", "start.sh"), path.join(outDir, "src", "server.js")], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, ...stack.appVars, PORT: String(port), LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  proc.stdout!.on("data", (d) => (output += d));
  proc.stderr!.on("data", (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  app = { url: `http://127.0.0.1:${port}`, proc, log: () => output, exited };
  const deadline = Date.now() + 30_000;
  while (!(await fetch(`${app.url}/health/alive`).then((r) => r.ok, () => false))) {
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`the compiled server did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(output).toContain('"msg":"listening"');
  // The script exec'd node (same pid) with the memory settings it is measured with.
  const environ = fs.readFileSync(`/proc/${proc.pid}/environ`, "utf8").split("\0");
  expect(environ).toContain("MALLOC_ARENA_MAX=1");
  expect(environ).toContain("NODE_OPTIONS=--max-semi-space-size=2 --max-old-space-size=96");
  expect(fs.readFileSync(`/proc/${proc.pid}/cmdline`, "utf8").split("\0")[0]).toMatch(/node$/);

  const alive = await fetch(`${app.url}/health/alive`);
  expect([alive.status, await alive.json()]).toEqual([200, { status: "ok" }]);
  const ready = await fetch(`${app.url}/health/ready`);
  expect([ready.status, await ready.json()]).toEqual([200, { status: "ready", database: "ok", hydra: "ok" }]);
  const health = await fetch(`${app.url}/health`);
  expect(health.status).toBe(200);

  // A page from views/ (the error page): /login without a challenge.
  const bad = await fetch(`${app.url}/login`, { headers: { accept: "text/html" } });
  expect(bad.status).toBe(400);
  expect(bad.headers.get("content-type")).toMatch(/^text\/html/);
  expect(await bad.text()).toMatch(/^<!doctype html>[\s\S]*<title>[^<]+<\/title>[\s\S]*<\/html>\s*$/i);

  // The sign-in form of a real login challenge (the app asks Hydra for it).
  const auth = new URL(`${stack.hydraPublicUrl}/oauth2/auth`);
  auth.search = new URLSearchParams({ client_id: "demo-web", response_type: "code", redirect_uri: CALLBACK, scope: "openid", state: "s".repeat(16) }).toString();
  const challenge = new URL((await fetch(auth, { redirect: "manual" })).headers.get("location") ?? "", stack.appUrl).searchParams.get("login_challenge");
  expect(challenge).toBeTruthy();
  const form = await fetch(`${app.url}/login?login_challenge=${encodeURIComponent(challenge!)}`);
  expect(form.status).toBe(200);
  const html = await form.text();
  expect(html).toMatch(/<form[^>]*method="post"/i);
  expect(html).toContain('name="password"');

  proc.kill("SIGTERM");
  expect(await exited).toBe(0);
  expect(output).toContain('"msg":"stopped"');
  expect(output).not.toMatch(/"level":(50|60)/);
});

/**
 * Node runs this before the server (--import, a data: URL: no file to leave behind) and, as the
 * process exits, writes every CommonJS module it loaded (require.cache, which every require shares)
 * to stderr as one line.
 */
const LOADED_MODULES_HOOK = `data:text/javascript;base64,${Buffer.from(
  [
    'import { createRequire } from "node:module";',
    'import { writeSync } from "node:fs";',
    'const require = createRequire(process.cwd() + "/");',
    'process.on("exit", () => writeSync(2, "\\nLOADED_MODULES " + JSON.stringify(Object.keys(require.cache)) + "\\n"));',
  ].join("\n"),
).toString("base64")}`;

test("the compiled server never loads Prisma: a complete sign-in and consent through it leaves no Prisma module loaded", async () => {
  // The compiled server takes the place of the stack's app (same port: Hydra sends browsers there).
  await stack.app.close();
  const user = await createUser(stack.db);
  let output = "";
  const proc = spawn("sh", [path.join(ROOT, "scripts", "start.sh"), `--import=${LOADED_MODULES_HOOK}`, path.join(outDir, "src", "server.js")], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, ...stack.appVars, LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  signInApp = proc;
  proc.stdout!.on("data", (d) => (output += d));
  proc.stderr!.on("data", (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  const deadline = Date.now() + 30_000;
  while (!(await fetch(`${stack.appUrl}/health/ready`).then((r) => r.ok, () => false))) {
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`the compiled server did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }

  // Sign-in form, password, consent page, approval, code, tokens: every step the compiled server's.
  const browser = new Browser();
  const start = await startAuthorization(browser, stack, { clientId: "demo-web", redirectUri: CALLBACK, scope: "openid profile" });
  expect(new URL(start.page.url).pathname).toBe("/login");
  const consent = await browser.submit(start.page, "#login-form", { email: user.email, password: user.password }, { stopAt: [CALLBACK] });
  expect(new URL(consent.url).pathname).toBe("/consent");
  const callback = await browser.submit(consent, "#consent-form", {}, { button: ["decision", "allow"], stopAt: [CALLBACK] });
  const code = callbackParams(callback, CALLBACK, start.state).get("code");
  expect(code).toBeTruthy();
  const tokens = await exchangeCode(stack, { clientId: "demo-web", secret: stack.secrets.DEMO_WEB_SECRET!, code: code!, redirectUri: CALLBACK });
  expect(tokens.access_token).toBeTruthy();
  expect((await findRow(stack.db, "consents", { userId: user.id, audienceId: "demo" }))?.scopes).toEqual(["openid", "profile"]);

  proc.kill("SIGTERM");
  expect(await exited).toBe(0);
  const line = /\nLOADED_MODULES (\[.*\])\n/.exec(output);
  expect(line).not.toBeNull();
  const loaded = JSON.parse(line![1]!) as string[];
  // The hook saw the server's own modules and its database driver…
  expect(loaded).toContain(path.join(outDir, "src", "services", "store.js"));
  expect(loaded).toContain(path.join(outDir, "src", "services", "db.js"));
  expect(loaded.some((m) => m.includes(`${path.sep}node_modules${path.sep}pg${path.sep}`))).toBe(true);
  // …and nothing of Prisma: neither its generated client, nor @prisma/* (client runtime, driver adapter), nor .prisma.
  expect(loaded.filter((m) => /[\\/](generated[\\/]prisma|@prisma|\.prisma)[\\/]/.test(m))).toEqual([]);
  expect(output).not.toMatch(/"level":(50|60)/);
});
