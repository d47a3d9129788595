// Logout through Hydra's end-session endpoint, and the sign-in rate limits.
import { Browser } from "../support/browser";
import { startStack, type Stack } from "../support/stack";
import { CALLBACK, appSessionUser, createUser, demoConfig, type TestUser } from "../support/fixtures";
import { callbackParams, exchangeCode, startAuthorization } from "../support/oauth";

jest.setTimeout(60_000);

const AFTER_LOGOUT = "http://127.0.0.1:9/signed-out";
let stack: Stack;
let user: TestUser;

beforeAll(async () => {
  stack = await startStack({
    config: demoConfig({ "post-logout-redirect-uris": [AFTER_LOGOUT] }),
    appEnv: { LOGIN_MAX_FAILURES_PER_ACCOUNT: "3", LOGIN_MAX_FAILURES_PER_IP: "12" },
  });
});
// A fresh user per test: consent is remembered per user and audience.
beforeEach(async () => {
  user = await createUser(stack.db);
});
afterAll(async () => stack?.stop());

const web = { clientId: "demo-web", redirectUri: CALLBACK, scope: "openid profile" };

async function signInRemembered(browser: Browser) {
  const start = await startAuthorization(browser, stack, web);
  const consent = await browser.submit(start.page, "#login-form", { email: user.email, password: user.password, remember: "on" });
  const callback = await browser.submit(consent, "#consent-form", {}, { button: ["decision", "allow"], stopAt: [CALLBACK] });
  const code = callbackParams(callback, CALLBACK, start.state).get("code")!;
  return exchangeCode(stack, { clientId: "demo-web", secret: stack.secrets.DEMO_WEB_SECRET!, code, redirectUri: CALLBACK });
}

test("logout: confirm page, Hydra's session and the app's session end, then the login form is shown again", async () => {
  const browser = new Browser();
  const tokens = await signInRemembered(browser);
  expect(await appSessionUser(stack, browser)).toBe(user.id);

  const logoutUrl = `${stack.hydraPublicUrl}/oauth2/sessions/logout?id_token_hint=${tokens.id_token}&post_logout_redirect_uri=${encodeURIComponent(AFTER_LOGOUT)}&state=bye-bye-123`;
  const confirm = await browser.get(logoutUrl, { stopAt: [AFTER_LOGOUT] });
  expect(new URL(confirm.url).pathname).toBe("/logout");
  expect(confirm.$("#logout-form").length).toBe(1);

  const done = await browser.submit(confirm, "#logout-form", {}, { button: ["decision", "logout"], stopAt: [AFTER_LOGOUT] });
  expect(done.url.startsWith(AFTER_LOGOUT)).toBe(true);
  expect(new URL(done.url).searchParams.get("state")).toBe("bye-bye-123");
  expect(await appSessionUser(stack, browser)).toBeUndefined();

  const again = await startAuthorization(browser, stack, web);
  expect(again.page.$("#login-form").length).toBe(1);
});

test("logout: 'stay signed in' keeps the sessions", async () => {
  const browser = new Browser();
  const tokens = await signInRemembered(browser);
  const confirm = await browser.get(`${stack.hydraPublicUrl}/oauth2/sessions/logout?id_token_hint=${tokens.id_token}&post_logout_redirect_uri=${encodeURIComponent(AFTER_LOGOUT)}`, {
    stopAt: [AFTER_LOGOUT],
  });
  const stay = await browser.submit(confirm, "#logout-form", {}, { button: ["decision", "stay"], stopAt: [AFTER_LOGOUT] });
  expect(stay.status).toBe(200);
  expect(stay.text("#message")).toMatch(/still signed in/);
  expect(await appSessionUser(stack, browser)).toBe(user.id);
  const again = await startAuthorization(browser, stack, web);
  expect(again.page.$("#login-form").length).toBe(0);
});

test("failed sign-ins are limited per account (case-insensitively), the same way for unknown emails", async () => {
  const target = await createUser(stack.db);
  const attempt = async (email: string, password: string) => {
    const browser = new Browser();
    const start = await startAuthorization(browser, stack, web);
    return browser.submit(start.page, "#login-form", { email, password });
  };
  for (let i = 0; i < 3; i++) expect((await attempt(target.email, "wrong")).status).toBe(401);
  const limited = await attempt(target.email.toUpperCase(), target.password);
  expect(limited.status).toBe(429);
  expect(limited.text("#error")).toMatch(/Too many failed sign-in attempts/);
  // An email with no account is limited exactly the same way (nothing tells the two apart).
  for (let i = 0; i < 3; i++) expect((await attempt("ghost@example.com", "wrong")).status).toBe(401);
  expect((await attempt("ghost@example.com", "wrong")).status).toBe(429);
  // Another account from the same IP is still allowed (until the per-IP limit).
  expect(new URL((await attempt(user.email, user.password)).url).pathname).toBe("/consent");
  // 8 refused attempts so far from this IP; 4 more with ever new emails reach the per-IP limit of 12.
  for (let i = 0; i < 4; i++) expect((await attempt(`nobody-${i}@example.com`, "wrong")).status).toBe(401);
  expect((await attempt("someone-else@example.com", "wrong")).status).toBe(429);
});
