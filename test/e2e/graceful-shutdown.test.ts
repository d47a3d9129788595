// SIGTERM/SIGINT drain. The real server runs as a child process (node + tsx, src/server.ts)
// whose calls to Hydra's admin API pass through a proxy that can hold them, so requests are in
// flight when the signal arrives: they finish with their normal answers, new connections are
// refused, idle keep-alive connections are closed at once, /health/ready answers 503, exit code 0;
// a request outlasting SHUTDOWN_TIMEOUT_MS is cut and the process still exits 0.
import { spawn, type ChildProcess } from "node:child_process";
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { startStack, freePort, type Stack } from "../support/stack";
import { CALLBACK, demoConfig } from "../support/fixtures";
import { ROOT } from "../support/paths";

jest.setTimeout(120_000);

/** An HTTP proxy in front of Hydra's admin API that parks requests whose path matches until released. */
async function startHoldProxy(target: string) {
  const upstream = new URL(target);
  const rules: RegExp[] = [];
  const parked: { path: string; go: () => void }[] = [];
  const waiters: (() => void)[] = [];
  const server = http.createServer((req, res) => {
    const forward = () => {
      const out = http.request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      out.on("error", () => res.writeHead(502).end());
      req.pipe(out);
    };
    if (rules.some((re) => re.test(req.url ?? ""))) {
      parked.push({ path: req.url ?? "", go: forward });
      waiters.splice(0).forEach((w) => w());
    } else forward();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hold: (re: RegExp) => void rules.push(re),
    /** Resolves once `n` requests are parked. */
    async parked(n: number): Promise<string[]> {
      while (parked.length < n) await new Promise<void>((r) => waiters.push(r));
      return parked.map((p) => p.path);
    },
    /** Stops holding and sends the parked requests on to Hydra. */
    release() {
      rules.length = 0;
      parked.splice(0).forEach((p) => p.go());
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
type HoldProxy = Awaited<ReturnType<typeof startHoldProxy>>;

interface AppProcess {
  url: string;
  port: number;
  proc: ChildProcess;
  log(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts src/server.ts as its own process (node --import tsx) against the stack, Hydra's admin API through `hydraAdminUrl`. */
async function startAppProcess(stack: Stack, vars: Record<string, string>): Promise<AppProcess> {
  const port = await freePort();
  let output = "";
  const proc = spawn(process.execPath, ["--import", "tsx", "src/server.ts"], {
    cwd: ROOT,
    env: { ...process.env, ...stack.appVars, PORT: String(port), LOG_LEVEL: "info", ...vars },
    stdio: ["ignore", "pipe", "pipe"],
  });
  proc.stdout!.on("data", (d) => (output += d));
  proc.stderr!.on("data", (d) => (output += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once("exit", (code, signal) => resolve({ code, signal })));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`the app exited with code ${proc.exitCode}:\n${output}`);
    if (await fetch(`${url}/health/alive`).then((r) => r.ok, () => false)) break;
    if (Date.now() > deadline) throw new Error(`the app did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, port, proc, log: () => output, exited };
}

/** A GET on its own connection; resolves with status, headers and body, or rejects when the connection breaks. */
function get(url: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: new http.Agent({ keepAlive: true }) }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on("error", reject);
    });
    req.on("error", reject);
  });
}

/** A keep-alive connection that made one request and now sits idle; `closed` resolves when the server ends it. */
async function idleKeepAliveConnection(port: number): Promise<{ closed: Promise<void>; socket: net.Socket }> {
  const socket = net.connect(port, "127.0.0.1");
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  socket.on("error", () => undefined);
  let received = "";
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => socket.write("GET /health/alive HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n"));
    socket.on("data", (d) => {
      received += d;
      if (received.includes("\r\n\r\n") && received.endsWith("}")) resolve();
    });
    socket.once("close", () => reject(new Error(`connection closed early: ${received}`)));
  });
  expect(received).toMatch(/^HTTP\/1\.1 200/);
  expect(received.toLowerCase()).toContain("connection: keep-alive");
  return { closed, socket };
}

/** Resolves with the connection error code once a new connection to the port is refused (polling). */
async function refusedWithin(port: number, ms: number): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    const code = await new Promise<string>((resolve) => {
      const s = net.connect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        resolve("connected");
      });
      s.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? "error"));
    });
    if (code !== "connected" || Date.now() > deadline) return code;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A fresh login challenge from Hydra (the authorization endpoint redirects to the app's /login). */
async function loginChallenge(stack: Stack): Promise<string> {
  const u = new URL(`${stack.hydraPublicUrl}/oauth2/auth`);
  u.search = new URLSearchParams({ client_id: "demo-web", response_type: "code", redirect_uri: CALLBACK, scope: "openid", state: "s".repeat(16) }).toString();
  const res = await fetch(u, { redirect: "manual" });
  const challenge = new URL(res.headers.get("location") ?? "", stack.appUrl).searchParams.get("login_challenge");
  if (!challenge) throw new Error(`no login challenge: ${res.status} ${res.headers.get("location")}`);
  return challenge;
}

const within = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms).unref())]);

let stack: Stack;
let proxy: HoldProxy;
const apps: AppProcess[] = [];

beforeAll(async () => {
  stack = await startStack({ config: demoConfig() });
  proxy = await startHoldProxy(stack.hydraAdminUrl);
});
afterAll(async () => {
  proxy?.release();
  for (const app of apps) if (app.proc.exitCode === null && app.proc.signalCode === null) app.proc.kill("SIGKILL");
  await proxy?.close();
  await stack?.stop();
});

async function appThroughProxy(vars: Record<string, string> = {}): Promise<AppProcess> {
  const app = await startAppProcess(stack, { HYDRA_ADMIN_URL: proxy.url, HYDRA_TIMEOUT_MS: "60000", ...vars });
  apps.push(app);
  return app;
}

test("SIGTERM: requests in flight get their normal answers, new connections are refused, idle ones closed, exit code 0", async () => {
  const app = await appThroughProxy({ SHUTDOWN_TIMEOUT_MS: "30000" });
  expect((await get(`${app.url}/health/ready`)).status).toBe(200);
  const idle = await idleKeepAliveConnection(app.port);
  const challenge = await loginChallenge(stack);

  // Two requests in flight, each waiting for Hydra: the sign-in page and the readiness probe.
  proxy.hold(/^\/admin\/oauth2\/auth\/requests\/login\?/);
  proxy.hold(/^\/health\/ready/);
  const page = get(`${app.url}/login?login_challenge=${encodeURIComponent(challenge)}`);
  const ready = get(`${app.url}/health/ready`);
  await within(proxy.parked(2), 20_000, "both requests reach Hydra's proxy");

  app.proc.kill("SIGTERM");
  // The listener closes at once; the idle keep-alive connection is closed without waiting for its timeout (5 s).
  expect(await refusedWithin(app.port, 3000)).toBe("ECONNREFUSED");
  await within(idle.closed, 2000, "the idle keep-alive connection is closed");
  // Still running: its requests are not done.
  await new Promise((r) => setTimeout(r, 300));
  expect(app.proc.exitCode).toBeNull();

  proxy.release();
  const [pageRes, readyRes] = await within(Promise.all([page, ready]), 20_000, "the requests in flight are answered");
  expect(pageRes.status).toBe(200);
  expect(pageRes.body).toMatch(/<form[^>]*method="post"/i);
  expect(pageRes.body).toContain('name="password"');
  expect(pageRes.headers.connection).toBe("close");
  expect(readyRes.status).toBe(503);
  expect(JSON.parse(readyRes.body)).toMatchObject({ status: "draining" });

  expect(await within(app.exited, 15_000, "the process exits")).toEqual({ code: 0, signal: null });
  expect(app.log()).toMatch(/"signal":"SIGTERM".*"msg":"shutting down"/);
  expect(app.log()).toContain('"msg":"stopped"');
  expect(app.log()).not.toMatch(/"level":(50|60)/);
});

test("a request outlasting SHUTDOWN_TIMEOUT_MS is cut and the process still exits 0", async () => {
  const app = await appThroughProxy({ SHUTDOWN_TIMEOUT_MS: "800" });
  const challenge = await loginChallenge(stack);
  proxy.hold(/^\/admin\/oauth2\/auth\/requests\/login\?/);
  const page = get(`${app.url}/login?login_challenge=${encodeURIComponent(challenge)}`).then(
    (r) => `answered ${r.status}`,
    (err: NodeJS.ErrnoException) => `cut: ${err.code ?? err.message}`,
  );
  await within(proxy.parked(1), 20_000, "the request reaches Hydra's proxy");
  const signalled = Date.now();
  app.proc.kill("SIGTERM");
  expect(await within(app.exited, 10_000, "the process exits")).toEqual({ code: 0, signal: null });
  const took = Date.now() - signalled;
  expect(took).toBeGreaterThanOrEqual(700);
  expect(took).toBeLessThan(5000);
  expect(await page).toBe("cut: ECONNRESET");
  expect(app.log()).toMatch(/"requests":1,"timeoutMs":800,"msg":"requests still running after the shutdown timeout/);
  proxy.release();
});

test("SIGINT with nothing in flight: exits 0 at once", async () => {
  const app = await appThroughProxy();
  const signalled = Date.now();
  app.proc.kill("SIGINT");
  expect(await within(app.exited, 10_000, "the process exits")).toEqual({ code: 0, signal: null });
  expect(Date.now() - signalled).toBeLessThan(3000);
  expect(app.log()).toMatch(/"signal":"SIGINT".*"msg":"shutting down"/);
});
