// Issue 12: the production build. `npm run build` compiles src/ and prisma/seed.ts (tsconfig.build.json)
// to JavaScript; the compiled seed applies a configuration file and the compiled server, run with
// plain `node` (no tsx), serves pages and its health probes against a real stack.
// Built into dist/test-build-<pid>/ (not dist/ itself, which may hold a developer's build): the
// compiled code finds views/ and the other files by walking up to the package root (src/paths.ts).
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { startStack, freePort, type Stack } from "../support/stack";
import { CALLBACK, demoConfig, runCommand } from "../support/fixtures";
import { ROOT } from "../support/paths";

jest.setTimeout(300_000);

const outDir = path.join(ROOT, "dist", `test-build-${process.pid}`);
let stack: Stack;
let app: { url: string; proc: ChildProcess; log: () => string; exited: Promise<number | null> } | undefined;

beforeAll(async () => {
  stack = await startStack({ config: demoConfig() });
});
afterAll(async () => {
  if (app && app.proc.exitCode === null && app.proc.signalCode === null) app.proc.kill("SIGKILL");
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
