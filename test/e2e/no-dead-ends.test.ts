// No dead ends. Hydra's error page is ours (urls.error), a sign-out without a
// client address ends on a signed-out page, and Back after a finished step explains and leads back.
import { Browser } from "../support/browser";
import { startStack, type Stack } from "../support/stack";
import { CALLBACK, createUser, demoConfig } from "../support/fixtures";
import { authorizationUrl, callbackParams, exchangeCode, startAuthorization } from "../support/oauth";
import { countRows, insertRow } from "../support/db";

jest.setTimeout(90_000);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ config: demoConfig() });
});
afterAll(async () => stack?.stop());

const web = { clientId: "demo-web", redirectUri: CALLBACK, scope: "openid profile" };

test("an unknown client: Hydra sends the browser to our error page, which explains it in plain words", async () => {
  const page = await new Browser().get(authorizationUrl(stack, { ...web, clientId: "no-such-client", state: "s".repeat(12), nonce: "n".repeat(12) }));
  expect(new URL(page.url).origin + new URL(page.url).pathname).toBe(`${stack.appUrl}/error`);
  expect(page.status).toBe(400);
  expect(page.text("h1")).toBe("This application is not set up for sign-in");
  expect(page.text("#error")).toMatch(/administrators need to fix this/);
  expect(page.text("#details")).toContain("invalid_client");
  expect(page.$("#way-back a").attr("href")).toBe("/");
});

test("a redirect URI the client does not have: our error page, never Hydra's own", async () => {
  const page = await new Browser().get(authorizationUrl(stack, { ...web, redirectUri: "https://evil.example/cb", state: "s".repeat(12), nonce: "n".repeat(12) }));
  expect(new URL(page.url).pathname).toBe("/error");
  expect(page.text("h1")).toBe("This sign-in link is not valid");
  expect(page.text("#details")).toMatch(/redirect/i);
});

test.each<[string, string]>([
  ["access_denied", "Access was not granted"],
  ["server_error", "Something went wrong on our side"],
  ["something_new", "Sign-in could not continue"],
])("the error page explains %s", async (error, title) => {
  const page = await new Browser().get(`${stack.appUrl}/error?error=${error}&error_description=${encodeURIComponent("<b>raw</b> detail")}`);
  expect(page.text("h1")).toBe(title);
  expect(page.html).not.toContain("<b>raw</b>"); // escaped
  expect(page.text("#details")).toContain("<b>raw</b> detail");
});

test("a sign-out without an address of the client's ends on a signed-out page", async () => {
  const user = await createUser(stack.db);
  const browser = new Browser();
  const start = await startAuthorization(browser, stack, web);
  const consent = await browser.submit(start.page, "#login-form", { email: user.email, password: user.password, remember: "on" });
  const cb = await browser.submit(consent, "#consent-form", {}, { button: ["decision", "allow"], stopAt: [CALLBACK] });
  const tokens = await exchangeCode(stack, { clientId: "demo-web", secret: stack.secrets.DEMO_WEB_SECRET!, code: callbackParams(cb, CALLBACK, start.state).get("code")!, redirectUri: CALLBACK });
  const confirm = await browser.get(`${stack.hydraPublicUrl}/oauth2/sessions/logout?id_token_hint=${tokens.id_token}`);
  const done = await browser.submit(confirm, "#logout-form", {}, { button: ["decision", "logout"] });
  expect(new URL(done.url).pathname).toBe("/signed-out");
  expect(done.text("h1")).toBe("You are signed out");
});

test("Back after a finished sign-in: a page that explains, and 'Start again' restarts the same request", async () => {
  const user = await createUser(stack.db);
  const browser = new Browser();
  const start = await startAuthorization(browser, stack, web);
  const loginUrl = start.page.url;
  await browser.submit(start.page, "#login-form", { email: user.email, password: user.password });
  const back = await browser.get(loginUrl);
  expect(back.status).toBe(410);
  expect(back.text("#error")).toMatch(/already completed/);
  const again = back.$("#continue").attr("href")!;
  expect(again.startsWith(`${stack.hydraPublicUrl}/oauth2/auth?`)).toBe(true);
  expect(new URL(again).searchParams.get("client_id")).toBe("demo-web");
  const restarted = await browser.get(again, { stopAt: [CALLBACK] });
  expect(["/login", "/consent"]).toContain(new URL(restarted.url).pathname);
});

test("the sign-in page says how long 'stay signed in' lasts; after a failed sign-in the focus is on the password", async () => {
  const user = await createUser(stack.db);
  const browser = new Browser();
  const start = await startAuthorization(browser, stack, web);
  expect(start.page.text("#remember-hint")).toContain("For 30 days");
  expect(start.page.$("#email").attr("autofocus")).toBeDefined();
  const failed = await browser.submit(start.page, "#login-form", { email: user.email, password: "not the password" });
  expect(failed.status).toBe(401);
  expect(failed.$("#email").attr("value")).toBe(user.email);
  expect(failed.$("#email").attr("autofocus")).toBeUndefined();
  expect(failed.$("#password").attr("autofocus")).toBeDefined();
  expect(failed.$("#password").attr("aria-describedby")).toBe("error");
});

test("answered challenges are pruned after a day (now and then, not on every step); younger ones stay", async () => {
  const { createStore } = await import("../../src/services/store");
  const old = new Date(Date.now() - 25 * 60 * 60 * 1000);
  await insertRow(stack.db, "handled_challenges", { hash: `old-${Date.now()}`, kind: "login", handledAt: old });
  await insertRow(stack.db, "handled_challenges", { hash: `new-${Date.now()}`, kind: "login" });
  expect(await createStore({ pool: stack.db }).pruneHandledChallenges()).toBeGreaterThanOrEqual(1);
  expect(await countRows(stack.db, "handled_challenges", { handledAt: { lt: new Date(Date.now() - 24 * 60 * 60 * 1000) } })).toBe(0);
  expect(await countRows(stack.db, "handled_challenges", { hash: { startsWith: "new-" } })).toBe(1);
});

test("Back to a sign-in step Hydra skipped (remembered), and to a consent step answered without a page: the same explanation and 'Start again'", async () => {
  const user = await createUser(stack.db);
  const browser = new Browser();
  const first = await startAuthorization(browser, stack, web);
  const consent = await browser.submit(first.page, "#login-form", { email: user.email, password: user.password, remember: "on" });
  await browser.submit(consent, "#consent-form", {}, { button: ["decision", "allow"], stopAt: [CALLBACK] });
  await new Promise((r) => setTimeout(r, 1100)); // Hydra stores requested_at to the second
  const again = await startAuthorization(browser, stack, web);
  const loginUrl = again.page.chain.find((u) => new URL(u).pathname === "/login")!;
  const consentUrl = again.page.chain.find((u) => new URL(u).pathname === "/consent")!;
  expect(new URL(again.page.url).pathname).toBe(new URL(CALLBACK).pathname); // both answered without a page
  for (const url of [loginUrl, consentUrl]) {
    const back = await browser.get(url, { stopAt: [CALLBACK] });
    expect(back.status).toBe(410);
    expect(back.text("#error")).toMatch(/already completed/);
    expect(back.$("#continue").attr("href")!.startsWith(`${stack.hydraPublicUrl}/oauth2/auth?`)).toBe(true);
  }
});

test("the home page's title names the product once; other pages add it after their own name", async () => {
  const home = await new Browser().get(`${stack.appUrl}/`);
  expect(home.text("title")).toBe("Sign-in service");
  const german = new Browser();
  await german.jar.setCookie("lang=de", stack.appUrl);
  expect((await german.get(`${stack.appUrl}/`)).text("title")).toBe("Anmeldedienst – Sign-in service");
  expect((await new Browser().get(`${stack.appUrl}/recovery`)).text("title")).toBe("Reset your password – Sign-in service");
});

test("'forgot password' and its 'check your inbox' lead back to sign-in: to the step they came from, else to the account page's", async () => {
  const browser = new Browser();
  const start = await startAuthorization(browser, stack, web);
  const request = await browser.get(new URL(start.page.$("#forgot a").attr("href")!, stack.appUrl).toString());
  expect(request.$("#back-to-sign-in a").attr("href")).toBe(`/login?login_challenge=${encodeURIComponent(new URL(start.page.url).searchParams.get("login_challenge")!)}`);
  const sent = await browser.submit(request, "#recovery-form", { email: `nobody-${Date.now()}@example.com` });
  expect(sent.text("#back-to-sign-in")).toBe("Back to sign-in");
  const back = await browser.get(new URL(sent.$("#back-to-sign-in a").attr("href")!, stack.appUrl).toString());
  const step = (url: string) => ({ path: new URL(url).pathname, challenge: new URL(url).searchParams.get("login_challenge") });
  expect(step(back.url)).toEqual(step(start.page.url)); // the same sign-in step, its form again
  expect(back.$("#login-form").length).toBe(1);

  const outside = new Browser();
  await outside.jar.setCookie("lang=de", stack.appUrl);
  const requestOutside = await outside.get(`${stack.appUrl}/recovery`);
  expect(requestOutside.$("#back-to-sign-in a").attr("href")).toBe("/account");
  const sentOutside = await outside.submit(requestOutside, "#recovery-form", { email: `nobody-${Date.now()}@example.com` });
  expect(sentOutside.text("#back-to-sign-in")).toBe("Zurück zur Anmeldung");
  expect(sentOutside.$("#back-to-sign-in a").attr("href")).toBe("/account");
});
