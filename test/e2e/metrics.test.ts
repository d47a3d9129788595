// /metrics in Prometheus's format on a port of its own (METRICS_PORT), never on the app's
// port: latency per route, sign-in outcomes, consent decisions, Hydra and store call latency and
// errors, rate-limit refusals, process memory.
import { Browser } from "../support/browser";
import { startStack, type Stack } from "../support/stack";
import { CALLBACK, createUser, demoConfig } from "../support/fixtures";
import { startAuthorization } from "../support/oauth";
import { findRow } from "../support/db";

jest.setTimeout(90_000);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ config: demoConfig(), appEnv: { METRICS_PORT: "0", LOGIN_MAX_FAILURES_PER_ACCOUNT: "2" } });
});
afterAll(async () => stack?.stop());

async function scrape(): Promise<string> {
  const res = await fetch(stack.app.metricsUrl!);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

/** The value of one sample, e.g. value(text, 'sign_ins_total{outcome="success"}'). */
function value(text: string, sample: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${sample} `));
  return line ? Number(line.slice(sample.length + 1)) : 0;
}

test("the endpoint is on its own port only", async () => {
  expect(stack.app.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
  expect(new URL(stack.app.metricsUrl!).port).not.toBe(new URL(stack.appUrl).port);
  expect((await fetch(`${stack.appUrl}/metrics`)).status).toBe(404);
  expect((await fetch(stack.app.metricsUrl!.replace("/metrics", "/"))).status).toBe(404);
});

test("flows are counted: sign-in outcomes, consent decisions, route latency, Hydra and store calls, rate-limit refusals", async () => {
  const before = await scrape();
  const user = await createUser(stack.db);
  const browser = new Browser();
  // A wrong password, then the right one; a consent page, approved; then a silent consent.
  const start = await startAuthorization(browser, stack, { clientId: "demo-web", redirectUri: CALLBACK, scope: "openid profile" });
  const retry = await browser.submit(start.page, "#login-form", { email: user.email, password: "wrong password here" });
  const consent = await browser.submit(retry, "#login-form", { email: user.email, password: user.password, remember: "on" });
  await browser.submit(consent, "#consent-form", {}, { button: ["decision", "allow"], stopAt: [CALLBACK] });
  // The answered form sent again (allow, deny): refused (410), and not counted as decisions.
  for (const decision of ["allow", "deny"]) {
    expect((await browser.submit(consent, "#consent-form", {}, { button: ["decision", decision], stopAt: [CALLBACK] })).status).toBe(410);
  }
  await new Promise((r) => setTimeout(r, 1100)); // Hydra stores requested_at to the second
  const silent = await startAuthorization(browser, stack, { clientId: "demo-web", redirectUri: CALLBACK, scope: "openid profile" });
  expect(new URL(silent.page.url).pathname).toBe(new URL(CALLBACK).pathname);
  // Two more wrong passwords for another address: the per-account limit (2) refuses the third.
  const otherBrowser = new Browser();
  const other = await startAuthorization(otherBrowser, stack, { clientId: "demo-web", redirectUri: CALLBACK, scope: "openid" });
  let page = other.page;
  for (let i = 0; i < 3; i++) page = await otherBrowser.submit(page, "#login-form", { email: "nobody@example.com", password: "not the password" });
  expect(page.status).toBe(429);

  const after = await scrape();
  const delta = (sample: string) => value(after, sample) - value(before, sample);
  expect(delta('sign_ins_total{outcome="success"}')).toBe(1);
  expect(delta('sign_ins_total{outcome="incorrect"}')).toBeGreaterThanOrEqual(3);
  expect(delta('sign_ins_total{outcome="rate_limited"}')).toBeGreaterThanOrEqual(1);
  expect(delta('rate_limit_refusals_total{limit="loginAccount"}')).toBeGreaterThanOrEqual(1);
  expect(delta('consent_decisions_total{decision="page"}')).toBe(1);
  expect(delta('consent_decisions_total{decision="approved"}')).toBe(1);
  expect(delta('consent_decisions_total{decision="denied"}')).toBe(0);
  expect(delta('consent_decisions_total{decision="silent"}')).toBe(1);
  expect(delta('http_request_duration_seconds_count{method="POST",route="/login",status="401"}')).toBeGreaterThanOrEqual(1);
  expect(delta('http_request_duration_seconds_count{method="GET",route="/consent",status="200"}')).toBe(1);
  expect(delta('hydra_call_duration_seconds_count{operation="acceptConsent",outcome="ok"}')).toBe(2);
  expect(delta('db_call_duration_seconds_count{operation="attemptSignIn",outcome="ok"}')).toBeGreaterThanOrEqual(2);
  expect(after).toMatch(/^process_resident_memory_bytes \d+/m);
  expect(after).toMatch(/^nodejs_eventloop_lag_p99_seconds \d/m); // sampled every EVENT_LOOP_SAMPLE_MS
  // Route labels are patterns: no challenge or other value ever becomes a label.
  expect(after).not.toMatch(/challenge=|route="\/consent\?/);
});

test("Hydra errors are counted as errors", async () => {
  const before = await scrape();
  const page = await new Browser().get(`${stack.appUrl}/login?login_challenge=not-a-real-challenge`);
  expect(page.status).toBe(404);
  const after = await scrape();
  expect(value(after, 'hydra_call_duration_seconds_count{operation="getLoginRequest",outcome="error"}') - value(before, 'hydra_call_duration_seconds_count{operation="getLoginRequest",outcome="error"}')).toBe(1);
});

test("a sign-in or consent form's post asks Hydra to describe the request only when the form's ticket cannot stand in for it", async () => {
  const gets = (text: string) => value(text, 'hydra_call_duration_seconds_count{operation="getLoginRequest",outcome="ok"}');
  const user = await createUser(stack.db);
  const scope = { clientId: "demo-web", redirectUri: CALLBACK, scope: "openid" };

  // The page's own ticket: the post accepts the login without asking Hydra first.
  const browser = new Browser();
  const start = await startAuthorization(browser, stack, scope);
  expect(start.page.$("#login-form input[name=login_ticket]").attr("value")).toMatch(/^[\w-]+\.[\w-]+$/);
  const before = await scrape();
  const consent = await browser.submit(start.page, "#login-form", { email: user.email, password: user.password });
  expect(new URL(consent.url).pathname).toBe("/consent");
  expect(gets(await scrape()) - gets(before)).toBe(0);

  // A ticket changed in the browser (here: naming another client) is not used: Hydra is asked, and
  // the flow goes on with Hydra's description.
  const other = new Browser();
  const second = await startAuthorization(other, stack, scope);
  const ticket = second.page.$("#login-form input[name=login_ticket]").attr("value")!;
  const [payload, mac] = ticket.split(".") as [string, string];
  const changed = Buffer.from(Buffer.from(payload, "base64url").toString().replace('"demo-web"', '"demo-other"')).toString("base64url");
  const mid = await scrape();
  const consent2 = await other.submit(second.page, "#login-form", { email: user.email, password: user.password, login_ticket: `${changed}.${mac}` });
  expect(new URL(consent2.url).pathname).toBe("/consent");
  expect(gets(await scrape()) - gets(mid)).toBe(1);

  // The same for the consent form: its own ticket, no call before the approval; a changed one
  // (here: naming other scopes) is not used, and Hydra's description is what gets approved.
  const consentGets = (text: string) => value(text, 'hydra_call_duration_seconds_count{operation="getConsentRequest",outcome="ok"}');
  expect(consent.$("#consent-form input[name=consent_ticket]").attr("value")).toMatch(/^[\w-]+\.[\w-]+$/);
  const beforeApproval = await scrape();
  const done = await browser.submit(consent, "#consent-form", {}, { button: ["decision", "allow"], stopAt: [CALLBACK] });
  expect(new URL(done.url).searchParams.get("code")).toBeTruthy();
  expect(consentGets(await scrape()) - consentGets(beforeApproval)).toBe(0);

  const consentTicket = consent2.$("#consent-form input[name=consent_ticket]").attr("value")!;
  const [cPayload, cMac] = consentTicket.split(".") as [string, string];
  const widened = Buffer.from(Buffer.from(cPayload, "base64url").toString().replace('"requested_scope":["openid"]', '"requested_scope":["openid","profile"]')).toString("base64url");
  expect(widened).not.toBe(cPayload);
  const beforeChanged = await scrape();
  const done2 = await other.submit(consent2, "#consent-form", { consent_ticket: `${widened}.${cMac}` }, { button: ["decision", "allow"], stopAt: [CALLBACK] });
  expect(new URL(done2.url).searchParams.get("code")).toBeTruthy();
  expect(consentGets(await scrape()) - consentGets(beforeChanged)).toBe(1);
  const stored = await findRow(stack.db, "consents", { userId: user.id, audienceId: "demo" });
  expect(stored?.scopes).toEqual(["openid"]);
});
