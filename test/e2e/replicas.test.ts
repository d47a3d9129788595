// Two replicas of the app on one database and one Hydra, behind a round-robin load
// balancer (test/support/round-robin-proxy.ts: every request goes to the next replica, whatever the
// connection), with Hydra's login/consent/logout URLs and APP_BASE_URL pointing at the balancer. So
// every step of a flow lands on the other replica than the step before it — the login form's CSRF
// token is issued by one replica and checked by the other, the consent page is shown by one and
// approved through the other, /account's PKCE state is stored by one and read by the other — and
// every flow still completes: no sticky sessions are needed, because nothing that matters is held in
// a replica's memory (sessions, attempt counters, answered challenges and the mail outbox are in
// PostgreSQL; cookies are signed with the SESSION_SECRETS every replica shares).
//
// That the attempt limits are shared (failed sign-ins alternating between two instances reach the
// limit at the configured count, and a restarted instance remembers them) is shown by
// test/e2e/shared-limits.test.ts; it is not repeated here.
import { Browser, type Page } from "../support/browser";
import { startStack, type Stack } from "../support/stack";
import type { ServedRequest } from "../support/round-robin-proxy";
import { CALLBACK, appSessionUser, createUser, demoConfig } from "../support/fixtures";
import { callbackParams, exchangeCode, introspect, jwtPayload, startAuthorization } from "../support/oauth";
import { findRow, findRows, getRow } from "../support/db";

jest.setTimeout(120_000);

const AFTER_LOGOUT = "http://127.0.0.1:9/signed-out";
const PASSWORD = "lantern-orbit-saffron-93";
let stack: Stack;
/** Every request as the replicas themselves saw it (replica = index in stack.replicas), to check the balancer's record. */
const handled: { replica: number; method: string; url: string }[] = [];

beforeAll(async () => {
  stack = await startStack({
    config: demoConfig({ scopes: ["openid", "profile", "email"], "post-logout-redirect-uris": [AFTER_LOGOUT] }),
    replicas: 2,
  });
  stack.replicas!.forEach((r, replica) => r.server.on("request", (req) => handled.push({ replica, method: req.method ?? "", url: req.url ?? "" })));
});
afterAll(async () => stack?.stop());

let counter = 0;
const newEmail = (what: string) => `${what}-${Date.now()}-${++counter}@example.com`;
const web = { clientId: "demo-web", redirectUri: CALLBACK, scope: "openid profile email" };
const secret = () => stack.secrets.DEMO_WEB_SECRET!;
const pathOf = (page: Page) => new URL(page.url).pathname;

/**
 * Runs a flow and returns the requests the balancer passed to the replicas meanwhile, after checking
 * that the replicas themselves received exactly those, in that order.
 */
async function routed<T>(flow: () => Promise<T>): Promise<{ result: T; steps: ServedRequest[] }> {
  const from = stack.proxy!.served.length;
  const fromHandled = handled.length;
  const result = await flow();
  const steps = stack.proxy!.since(from);
  expect(handled.slice(fromHandled)).toEqual(steps.map(({ replica, method, url }) => ({ replica, method, url })));
  return { result, steps };
}

/** The replica that served the only request with this method and path among the steps. */
function servedBy(steps: ServedRequest[], method: string, path: string): number {
  const hits = steps.filter((s) => s.method === method && new URL(s.url, "http://x").pathname === path);
  if (hits.length !== 1) throw new Error(`expected one ${method} ${path}, got ${hits.length}: ${describe(steps)}`);
  return hits[0]!.replica;
}

const describe = (steps: ServedRequest[]) => steps.map((s) => `${s.method} ${new URL(s.url, "http://x").pathname} → replica ${s.replica} (${s.status})`).join("; ");

/**
 * The flow used both replicas, each step the other one than the step before (a balancer that
 * degenerated to one replica, or pinned a browser to one, fails here), and no step failed.
 */
function expectSpreadOverBothReplicas(steps: ServedRequest[]) {
  const trace = describe(steps);
  expect({ replicas: [...new Set(steps.map((s) => s.replica))].sort(), trace }).toEqual({ replicas: [0, 1], trace });
  for (let i = 1; i < steps.length; i++) expect({ step: i, trace, same: steps[i]!.replica === steps[i - 1]!.replica }).toEqual({ step: i, trace, same: false });
  expect({ failed: steps.filter((s) => s.status >= 400 || s.status === 0), trace }).toEqual({ failed: [], trace });
}

test("the stack runs two replicas on their own ports behind the balancer, and Hydra sends browsers to the balancer", async () => {
  expect(stack.replicas).toHaveLength(2);
  const [a, b] = stack.replicas!;
  expect(a!.url).not.toBe(b!.url);
  expect(stack.appUrl).toBe(stack.proxy!.url);
  expect([a!.url, b!.url]).not.toContain(stack.appUrl);
  expect(stack.env.APP_BASE_URL).toBe(stack.appUrl);
  // Each replica answers on its own, on the same database.
  for (const r of [a!, b!]) expect((await fetch(`${r.url}/health/ready`)).status).toBe(200);
  const start = await startAuthorization(new Browser(), stack, web);
  expect(start.page.url.startsWith(`${stack.appUrl}/login?`)).toBe(true);
});

test("sign-in: the form from one replica is posted to the other, the consent page is shown by one and approved through the other, the code exchange works", async () => {
  const user = await createUser(stack.db, { email: newEmail("signin") });
  const browser = new Browser();
  const { result, steps } = await routed(async () => {
    const start = await startAuthorization(browser, stack, web);
    expect(pathOf(start.page)).toBe("/login");
    const consent = await browser.submit(start.page, "#login-form", { email: user.email, password: user.password, remember: "on" }, { stopAt: [CALLBACK] });
    expect(pathOf(consent)).toBe("/consent");
    expect(consent.$("#consent-form").length).toBe(1);
    const callback = await browser.submit(consent, "#consent-form", {}, { button: ["decision", "allow"], stopAt: [CALLBACK] });
    return { start, callback };
  });

  expectSpreadOverBothReplicas(steps);
  // The CSRF token (and the session it lives in) came from one replica; the other accepted it.
  expect(servedBy(steps, "POST", "/login")).not.toBe(servedBy(steps, "GET", "/login"));
  expect(servedBy(steps, "POST", "/consent")).not.toBe(servedBy(steps, "GET", "/consent"));

  const code = callbackParams(result.callback, CALLBACK, result.start.state).get("code")!;
  const tokens = await exchangeCode(stack, { clientId: "demo-web", secret: secret(), code, redirectUri: CALLBACK });
  expect(jwtPayload(tokens.id_token!)).toMatchObject({ sub: user.id, aud: ["demo-web"], nonce: result.start.nonce });
  expect(await introspect(stack, tokens.access_token)).toMatchObject({ active: true, sub: user.id, client_id: "demo-web" });
  expect(await appSessionUser(stack, browser)).toBe(user.id);
  // The consent is stored once, whichever replica approved it: the next authorization skips the page.
  const again = await routed(() => startAuthorization(browser, stack, web));
  expect(again.result.page.url.startsWith(CALLBACK)).toBe(true);
  expectSpreadOverBothReplicas(again.steps);
});

test("sign-up: registration, the code from the mail (sent once, by either replica's outbox worker), consent and the code exchange, across both replicas", async () => {
  const email = newEmail("signup");
  const browser = new Browser();
  const { result, steps } = await routed(async () => {
    const start = await startAuthorization(browser, stack, web);
    const form = await browser.get(new URL(start.page.$("#sign-up a").attr("href")!, start.page.url).toString());
    expect(pathOf(form)).toBe("/registration");
    const held = await browser.submit(form, "#registration-form", { name: "Grace Hopper", email, password: PASSWORD }, { stopAt: [CALLBACK] });
    expect(held.$("#code-form").length).toBe(1);
    const mail = await stack.mailpit!.waitForMessage({ to: email, subject: /Confirm your email address/ });
    const code = /\b(\d{6})\b/.exec(mail.text)![1]!;
    expect(stack.mailpit!.links(mail).some((l) => l.startsWith(`${stack.appUrl}/verification?token=`))).toBe(true); // the balancer's address
    const consent = await browser.submit(held, "#code-form", { code }, { stopAt: [CALLBACK] });
    expect(pathOf(consent)).toBe("/consent");
    const callback = await browser.submit(consent, "#consent-form", {}, { button: ["decision", "allow"], stopAt: [CALLBACK] });
    return { start, callback };
  });

  expectSpreadOverBothReplicas(steps);
  expect(servedBy(steps, "POST", "/registration")).not.toBe(servedBy(steps, "GET", "/registration"));
  expect(servedBy(steps, "POST", "/consent")).not.toBe(servedBy(steps, "GET", "/consent"));

  const code = callbackParams(result.callback, CALLBACK, result.start.state).get("code")!;
  const tokens = await exchangeCode(stack, { clientId: "demo-web", secret: secret(), code, redirectUri: CALLBACK });
  const user = await getRow(stack.db, "users", { email });
  expect(jwtPayload(tokens.id_token!)).toMatchObject({ sub: user.id, email, email_verified: true });
  // Both replicas run the outbox worker; the mail was claimed and sent exactly once.
  const outbox = await findRows(stack.db, "outbox", { to: email });
  expect(outbox).toHaveLength(1);
  expect(outbox[0]).toMatchObject({ attempts: 1, template: expect.stringMatching(/verif/) });
  expect(outbox[0]!.sentAt).not.toBeNull();
  expect(await stack.mailpit!.messages(email)).toHaveLength(1);
});

test("/account: its own sign-in (PKCE state kept in the session) and a settings form, across both replicas", async () => {
  const user = await createUser(stack.db, { email: newEmail("account"), name: "Grace Hopper" });
  const browser = new Browser();
  const from = stack.proxy!.served.length;
  const { result, steps } = await routed(async () => {
    const form = await browser.get(`${stack.appUrl}/account`);
    expect(pathOf(form)).toBe("/login");
    const signedIn = await browser.submit(form, "#login-form", { email: user.email, password: user.password, remember: "on" }, { stopAt: [`${stack.appUrl}/account/callback`] });
    expect(pathOf(signedIn)).toBe("/account/callback");
    // Whatever the number of hops in between, the callback goes to the other replica than the one
    // that started the sign-in: when the turn says otherwise, another client's request comes first.
    if (stack.proxy!.next === servedBy(stack.proxy!.since(from), "GET", "/account/login")) expect((await fetch(`${stack.appUrl}/health/alive`)).status).toBe(200);
    const page = await browser.get(signedIn.url);
    expect(pathOf(page)).toBe("/account");
    expect(page.status).toBe(200);
    const done = await browser.submit(page, "#profile-form", { name: "Grace Brewster Hopper" });
    return { done };
  });

  expectSpreadOverBothReplicas(steps);
  expect(servedBy(steps, "POST", "/login")).not.toBe(servedBy(steps, "GET", "/login"));
  // The state, nonce and PKCE verifier stored by the replica that started /account's sign-in were
  // checked by the other one at the callback.
  expect(servedBy(steps, "GET", "/account/callback")).not.toBe(servedBy(steps, "GET", "/account/login"));
  expect(pathOf(result.done)).toBe("/account");
  expect(result.done.status).toBe(200);
  expect(result.done.$("#name").attr("value")).toBe("Grace Brewster Hopper");
  expect(await findRow(stack.db, "users", { id: user.id })).toMatchObject({ name: "Grace Brewster Hopper", givenName: "Grace", familyName: "Brewster Hopper" });
  expect(await appSessionUser(stack, browser)).toBe(user.id);
});

test("logout: the confirmation page from one replica, confirmed through the other; Hydra's and the app's sessions end", async () => {
  const user = await createUser(stack.db, { email: newEmail("logout") });
  const browser = new Browser();
  const start = await startAuthorization(browser, stack, web);
  const consent = await browser.submit(start.page, "#login-form", { email: user.email, password: user.password, remember: "on" });
  const callback = await browser.submit(consent, "#consent-form", {}, { button: ["decision", "allow"], stopAt: [CALLBACK] });
  const tokens = await exchangeCode(stack, { clientId: "demo-web", secret: secret(), code: callbackParams(callback, CALLBACK, start.state).get("code")!, redirectUri: CALLBACK });
  expect(await appSessionUser(stack, browser)).toBe(user.id);

  const logoutUrl = `${stack.hydraPublicUrl}/oauth2/sessions/logout?id_token_hint=${tokens.id_token}&post_logout_redirect_uri=${encodeURIComponent(AFTER_LOGOUT)}&state=bye-bye-123`;
  const { result: done, steps } = await routed(async () => {
    const confirm = await browser.get(logoutUrl, { stopAt: [AFTER_LOGOUT] });
    expect(pathOf(confirm)).toBe("/logout");
    return browser.submit(confirm, "#logout-form", {}, { button: ["decision", "logout"], stopAt: [AFTER_LOGOUT] });
  });
  expectSpreadOverBothReplicas(steps);
  expect(servedBy(steps, "POST", "/logout")).not.toBe(servedBy(steps, "GET", "/logout"));
  expect(done.url.startsWith(AFTER_LOGOUT)).toBe(true);
  expect(new URL(done.url).searchParams.get("state")).toBe("bye-bye-123");
  expect(await appSessionUser(stack, browser)).toBeUndefined();

  // Signed out at Hydra too: the next authorization asks for the password again.
  const again = await startAuthorization(browser, stack, web);
  expect(again.page.$("#login-form").length).toBe(1);
});
