// Body-parser errors are clear 4xx answers; state-changing posts must be
// same-origin; /account never echoes request text; a frozen Hydra gets a 503 within the timeout; a
// sign-up whose Hydra step failed can be retried in the same flow.
import { Browser } from "../support/browser";
import { startStack, type Stack } from "../support/stack";
import { CALLBACK, appSessionUser, createUser, demoConfig } from "../support/fixtures";
import { createStore } from "../../src/services/store";
import { startAuthorization } from "../support/oauth";
import { startHttpFaultProxy, type HttpFaultProxy } from "../support/http-fault-proxy";
import { startServer, type RunningServer } from "../../src/server";
import { createLogger } from "../../src/logger";
import { countRows } from "../support/db";

jest.setTimeout(90_000);

let stack: Stack;
const logLines: string[] = [];

beforeAll(async () => {
  stack = await startStack({
    // Invitations on: an email-bound invitation vouches for the address, so its sign-up answers Hydra at once.
    config: { ...demoConfig(), audiences: [{ id: "demo", name: "Demo App", "invitation-enabled": true }] },
    appEnv: { HYDRA_TIMEOUT_MS: "1000" },
    logDestination: { write: (line: string) => void logLines.push(line) },
  });
});
afterAll(async () => stack?.stop());

const web = { clientId: "demo-web", redirectUri: CALLBACK, scope: "openid profile" };

describe("request bodies the parser cannot read", () => {
  const cases: [string, Record<string, string>, number][] = [
    ["gzip that is not gzip", { "content-encoding": "gzip" }, 400],
    ["deflate that is not deflate", { "content-encoding": "deflate" }, 400],
    ["br that is not brotli", { "content-encoding": "br" }, 400],
    ["an unknown content encoding", { "content-encoding": "zstd-ish" }, 415],
    ["an unsupported charset", { "content-type": "application/x-www-form-urlencoded; charset=koi8-r" }, 415],
  ];
  test.each(cases)("%s → %p page, JSON when asked, logged at warn", async (_label, headers, status) => {
    for (const path of ["/login", "/consent", "/registration", "/logout", "/account/consents/revoke"]) {
      const before = logLines.length;
      const html = await fetch(`${stack.appUrl}${path}`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", accept: "text/html", ...headers },
        body: "login_challenge=abc&email=a%40b.c",
      });
      expect([path, html.status]).toEqual([path, status]);
      expect(await html.text()).toMatch(/could not be read|format this site does not accept|unsupported/);
      const json = await fetch(`${stack.appUrl}${path}`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json", ...headers },
        body: "login_challenge=abc",
      });
      expect(json.status).toBe(status);
      expect(await json.json()).toMatchObject({ error: "invalid_body" });
      const logged = logLines.slice(before).map((l) => JSON.parse(l) as { level: number; code?: string });
      expect(logged.some((l) => l.level === 40 && l.code === "invalid_body")).toBe(true);
      expect(logged.some((l) => l.level >= 50)).toBe(false);
    }
  });
});

describe("state-changing posts must come from this site", () => {
  const post = (headers: Record<string, string>) =>
    fetch(`${stack.appUrl}/login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json", ...headers },
      body: "login_challenge=abc&email=x%40example.com&password=whatever",
    }).then(async (r) => ({ status: r.status, error: ((await r.json()) as { error: string }).error }));

  test.each<[string, Record<string, string>, string]>([
    ["Sec-Fetch-Site: cross-site", { "sec-fetch-site": "cross-site" }, "cross_site_request"],
    ["Sec-Fetch-Site: same-site (another subdomain)", { "sec-fetch-site": "same-site" }, "cross_site_request"],
    ["a foreign Origin", { origin: "https://evil.example" }, "cross_site_request"],
    ["a foreign Origin even with a same-origin looking port", { origin: "http://127.0.0.1:1" }, "cross_site_request"],
    // Passed on to the CSRF check (no token here), which refuses in its own words.
    ["Sec-Fetch-Site: same-origin", { "sec-fetch-site": "same-origin" }, "invalid_csrf_token"],
    ["Origin: null with Sec-Fetch-Site: same-origin (no-referrer pages)", { origin: "null", "sec-fetch-site": "same-origin" }, "invalid_csrf_token"],
    ["no such headers (older clients)", {}, "invalid_csrf_token"],
  ])("%s", async (_label, headers, error) => {
    expect(await post(headers)).toEqual({ status: 403, error });
  });

  test("a real same-origin sign-in with the browser's headers goes through", async () => {
    const user = await createUser(stack.db);
    const browser = new Browser();
    const { page } = await startAuthorization(browser, stack, web);
    const body = new URLSearchParams({
      _csrf: page.$("input[name=_csrf]").attr("value")!,
      login_challenge: page.$("input[name=login_challenge]").attr("value")!,
      email: user.email,
      password: user.password,
    });
    const res = await browser.fetch(`${stack.appUrl}/login`, { method: "POST", body, headers: { origin: "null", "sec-fetch-site": "same-origin" } });
    expect(res.status).toBe(303);
  });
});

test("/account names a revoked audience from the store and never echoes the URL's text", async () => {
  const user = await createUser(stack.db);
  const browser = new Browser();
  const form = await browser.get(`${stack.appUrl}/account`);
  await browser.submit(form, "#login-form", { email: user.email, password: user.password });
  const evil = await browser.get(`${stack.appUrl}/account?revoked=${encodeURIComponent('<img src=x onerror=alert(1)>Your bank')}`);
  expect(evil.status).toBe(200);
  expect(evil.html).not.toContain("Your bank");
  expect(evil.$("#notice").length).toBe(0);
  const real = await browser.get(`${stack.appUrl}/account?revoked=demo`);
  expect(real.text("#notice")).toContain("Demo App");
});

test("a frozen Hydra gets a clear 503 within the configured timeout, and the app recovers when it thaws", async () => {
  await stack.hydraProcess.freeze();
  try {
    const started = Date.now();
    const res = await fetch(`${stack.appUrl}/login?login_challenge=frozen-0123456789`, { headers: { accept: "text/html" } });
    const elapsed = Date.now() - started;
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBeTruthy();
    expect(await res.text()).toContain("temporarily unavailable");
    expect(elapsed).toBeLessThan(2000); // HYDRA_TIMEOUT_MS=1000 here; the default is 2000
  } finally {
    stack.hydraProcess.thaw();
  }
  const after = await fetch(`${stack.appUrl}/login?login_challenge=frozen-0123456789`, { headers: { accept: "application/json" } });
  expect(after.status).toBe(404); // Hydra answers again: an unknown challenge
});

describe("sign-up when Hydra fails after the account was written", () => {
  let proxy: HttpFaultProxy;
  let replica: RunningServer;
  beforeAll(async () => {
    proxy = await startHttpFaultProxy(stack.hydraAdminUrl);
    replica = await startServer({ ...stack.env, PORT: 0, HYDRA_ADMIN_URL: proxy.url }, createLogger("silent"));
  });
  afterAll(async () => {
    await replica?.close();
    await proxy?.close();
  });

  const invitedFor = async (email: string) => (await createStore({ pool: stack.db }).createInvitation("demo", email, new Date(Date.now() + 3_600_000))).code;

  test("a retry with the same email and password in the same flow continues; another password does not", async () => {
    const browser = new Browser();
    const { page } = await startAuthorization(browser, stack, web);
    const challenge = page.$("input[name=login_challenge]").attr("value")!;
    const form = await browser.get(`${replica.url}/registration?login_challenge=${encodeURIComponent(challenge)}`);
    const email = `retry-${Date.now()}@example.com`;
    const fields = { email, name: "Grace Hopper", password: "plankton-umbrella-vertigo-42", invitation: await invitedFor(email) };

    proxy.failNext(/\/login\/accept/);
    const failed = await browser.submit(form, "#registration-form", fields);
    expect(failed.status).toBe(503);
    expect(await countRows(stack.db, "users", { emailNormalized: email })).toBe(1);

    // Another password is not a retry: it answers like any sign-up with a taken address (check your inbox).
    const wrong = await browser.submit(form, "#registration-form", { ...fields, invitation: "", password: "another-long-passphrase-77" });
    expect(wrong.$("#code-form").length).toBe(1);

    // The user goes back to the form (a fresh one: the session changed) and retries with the right password.
    const again = await browser.get(`${replica.url}/registration?login_challenge=${encodeURIComponent(challenge)}`);
    const retried = await browser.submit(again, "#registration-form", fields);
    expect(new URL(retried.url).pathname).toBe("/consent");
    expect(retried.$("#consent-form").length).toBe(1);
    expect(await countRows(stack.db, "users", { emailNormalized: email })).toBe(1);
  });

  test("another browser cannot take over the account with the same email and password", async () => {
    const first = new Browser();
    const a = await startAuthorization(first, stack, web);
    const formA = await first.get(`${replica.url}/registration?login_challenge=${encodeURIComponent(a.page.$("input[name=login_challenge]").attr("value")!)}`);
    const email = `race-${Date.now()}@example.com`;
    const fields = { email, name: "Ada King", password: "zeppelin-marmalade-quartz-81", invitation: await invitedFor(email) };
    proxy.failNext(/\/login\/accept/);
    expect((await first.submit(formA, "#registration-form", fields)).status).toBe(503);

    const second = new Browser();
    const b = await startAuthorization(second, stack, web);
    const formB = await second.get(`${replica.url}/registration?login_challenge=${encodeURIComponent(b.page.$("input[name=login_challenge]").attr("value")!)}`);
    const taken = await second.submit(formB, "#registration-form", { ...fields, invitation: "" });
    expect(taken.$("#code-form").length).toBe(1); // like any sign-up with a taken address: nothing can complete
    const cont = await second.submit(taken, "#continue-form");
    expect(cont.status).toBe(409);
    expect(await appSessionUser(stack, second)).toBeUndefined();
  });

  test("a sign-in whose answer to Hydra fails can be sent again from the form; once answered, the step is refused with 'Start again'", async () => {
    const user = await createUser(stack.db);
    const browser = new Browser();
    const { page } = await startAuthorization(browser, stack, web);
    const challenge = page.$("input[name=login_challenge]").attr("value")!;
    const form = await browser.get(`${replica.url}/login?login_challenge=${encodeURIComponent(challenge)}`);
    proxy.failNext(/\/login\/accept/);
    const failed = await browser.submit(form, "#login-form", { email: user.email, password: user.password });
    expect(failed.status).toBe(503);
    // The session of the signed-in user was saved with the claim; the claim was given back.
    expect(await appSessionUser(stack, browser)).toBe(user.id);
    // Back to the form (a fresh one: the session changed) and again.
    const again = await browser.get(`${replica.url}/login?login_challenge=${encodeURIComponent(challenge)}`);
    const retried = await browser.submit(again, "#login-form", { email: user.email, password: user.password }, { stopAt: [CALLBACK] });
    expect(new URL(retried.url).pathname).toBe("/consent");
    const replayed = await browser.get(`${replica.url}/login?login_challenge=${encodeURIComponent(challenge)}`);
    expect(replayed.status).toBe(410);
    expect(new URL(replayed.$("#continue").attr("href")!).pathname).toBe("/oauth2/auth");
  });

  test("a new account's flow whose Hydra step fails after the code continues with 'continue'", async () => {
    const browser = new Browser();
    const { page } = await startAuthorization(browser, stack, web);
    const challenge = page.$("input[name=login_challenge]").attr("value")!;
    const form = await browser.get(`${replica.url}/registration?login_challenge=${encodeURIComponent(challenge)}`);
    const email = `later-${Date.now()}@example.com`;
    const held = await browser.submit(form, "#registration-form", { email, name: "Edsger D", password: "harbor-nutmeg-glacier-64" });
    expect(held.$("#code-form").length).toBe(1);
    const mail = await stack.mailpit!.waitForMessage({ to: email });
    const code = /code there: (\d{6})/.exec(mail.text)![1]!;
    proxy.failNext(/\/login\/accept/);
    const failed = await browser.submit(held, "#code-form", { code });
    expect(failed.status).toBe(503);
    const resumed = await browser.submit(held, "#continue-form", {}, { stopAt: [CALLBACK] });
    expect(new URL(resumed.url).pathname).toBe("/consent");
  });
});
