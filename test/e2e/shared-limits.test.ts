// Attempt limits live in PostgreSQL, shared by every app instance and kept
// across restarts; the per-account lockout (OWASP device cookies) stops strangers but lets the owner
// in from a browser where they signed in before.
import { Browser, type Page } from "../support/browser";
import { startStack, type Stack } from "../support/stack";
import { CALLBACK, createUser, demoConfig } from "../support/fixtures";
import { startAuthorization } from "../support/oauth";
import { startServer, type RunningServer } from "../../src/server";
import { createLogger } from "../../src/logger";

jest.setTimeout(120_000);

const ACCOUNT_LIMIT = 4;
const DEVICE_LIMIT = 3;
let stack: Stack;
let replicaB: RunningServer;

/** Another app instance on the same database, with the same settings and secrets. */
const replica = () => startServer({ ...stack.env, PORT: 0 }, createLogger("silent"));

beforeAll(async () => {
  stack = await startStack({
    config: demoConfig(),
    appEnv: {
      LOGIN_MAX_FAILURES_PER_ACCOUNT: String(ACCOUNT_LIMIT),
      LOGIN_MAX_FAILURES_PER_DEVICE: String(DEVICE_LIMIT),
      LOGIN_MAX_FAILURES_PER_IP: "1000",
      INVITATION_MAX_PER_IP: "3",
      REGISTRATION_MAX_PER_IP: "1000",
    },
  });
  replicaB = await replica();
});
afterAll(async () => {
  await replicaB?.close();
  await stack?.stop();
});

const web = { clientId: "demo-web", redirectUri: CALLBACK, scope: "openid profile" };

/** The login form's fields, as a browser would send them. */
function formFields(page: Page, fields: Record<string, string>): URLSearchParams {
  const body = new URLSearchParams();
  page.$("#login-form input").each((_, el) => {
    const name = page.$(el).attr("name");
    if (name && page.$(el).attr("type") !== "checkbox") body.set(name, page.$(el).attr("value") ?? "");
  });
  for (const [k, v] of Object.entries(fields)) body.set(k, v);
  return body;
}

/** Posts the sign-in form of `page` to the given instance. */
function signInAt(browser: Browser, baseUrl: string, page: Page, email: string, password: string): Promise<Page> {
  return browser.post(`${baseUrl}/login`, formFields(page, { email, password }), { stopAt: [CALLBACK] });
}

test("failed sign-ins from unknown browsers count across instances and restarts; the owner's known browser still gets in", async () => {
  const user = await createUser(stack.db);

  // The owner signed in on this browser before: it holds the device cookie for the account.
  const owner = new Browser();
  const first = await startAuthorization(owner, stack, web);
  const consent = await signInAt(owner, stack.appUrl, first.page, user.email, user.password);
  expect(consent.$("#consent-form").length).toBe(1);
  expect((await owner.jar.getCookies(stack.appUrl)).some((c) => c.key === stack.env.DEVICE_COOKIE_NAME)).toBe(true);

  // A stranger guesses, alternating between the two instances.
  const stranger = new Browser();
  let page = (await startAuthorization(stranger, stack, web)).page;
  const instances = [stack.appUrl, replicaB.url];
  for (let i = 0; i < ACCOUNT_LIMIT; i++) {
    page = await signInAt(stranger, instances[i % 2]!, page, user.email, `wrong guess ${i}`);
    expect([i, page.status]).toEqual([i, 401]);
  }
  page = await signInAt(stranger, instances[ACCOUNT_LIMIT % 2]!, page, user.email, "wrong again");
  expect(page.status).toBe(429);
  expect(page.text("#error")).toMatch(/Too many failed sign-in attempts/);

  // A restarted instance remembers: even the right password is refused from the stranger's browser.
  await replicaB.close();
  replicaB = await replica();
  page = await signInAt(stranger, replicaB.url, page, user.email, user.password);
  expect(page.status).toBe(429);

  // The owner, from the browser that signed in before, is let in: opened again since (the sign-in
  // without "stay signed in" ended with it; the device cookie stays).
  await owner.restart();
  const again = await startAuthorization(owner, stack, web);
  expect(again.page.$("#login-form").length).toBe(1);
  const ok = await signInAt(owner, replicaB.url, again.page, user.email, user.password);
  expect(ok.status).not.toBe(429);
  expect(new URL(ok.url).pathname).toBe("/consent");
});

test("the owner's known browser has its own limit; past it, it is treated like an unknown browser", async () => {
  const user = await createUser(stack.db);
  const owner = new Browser();
  const first = await startAuthorization(owner, stack, web);
  await signInAt(owner, stack.appUrl, first.page, user.email, user.password);

  // The browser closed and opened again: the sign-in ended, the device cookie stays.
  await owner.restart();
  let page = (await startAuthorization(owner, stack, web)).page;
  for (let i = 0; i < DEVICE_LIMIT; i++) {
    page = await signInAt(owner, i % 2 ? replicaB.url : stack.appUrl, page, user.email, `typo ${i}`);
    expect(page.status).toBe(401);
  }
  // The device counter is used up: the attempt now counts as an unknown browser (which still has room).
  page = await signInAt(owner, stack.appUrl, page, user.email, user.password);
  expect(new URL(page.url).pathname).toBe("/consent");
});

test("an address without an account locks exactly like one with an account (nothing to learn)", async () => {
  const stranger = new Browser();
  let page = (await startAuthorization(stranger, stack, web)).page;
  const statuses: number[] = [];
  for (let i = 0; i <= ACCOUNT_LIMIT; i++) {
    page = await signInAt(stranger, i % 2 ? replicaB.url : stack.appUrl, page, "nobody-here@example.com", `guess ${i}`);
    statuses.push(page.status);
  }
  expect(statuses).toEqual([...Array(ACCOUNT_LIMIT).fill(401), 429]);
});

test("invitation links opened per IP are limited across instances", async () => {
  const browser = new Browser();
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++) {
    const res = await browser.fetch(`${i % 2 ? replicaB.url : stack.appUrl}/invitation?code=unknownInvitationCode${i}xxxxxxxx`);
    statuses.push(res.status);
    if (res.status === 429) expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
  }
  expect(statuses).toEqual([404, 404, 404, 429]);
});
