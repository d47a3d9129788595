// The foundation's end-to-end flow against the real Ory Hydra v2.3.0 and PostgreSQL:
// /oauth2/auth → login form → consent form → callback → code exchange → tokens.
import { Browser } from "../support/browser";
import { startStack, type Stack } from "../support/stack";
import { CALLBACK, appSessionUser, createUser, demoConfig, type TestUser } from "../support/fixtures";
import { callbackParams, exchangeCode, introspect, jwtPayload, startAuthorization } from "../support/oauth";
import { deleteRows } from "../support/db";

jest.setTimeout(60_000);

let stack: Stack;
let user: TestUser;

beforeAll(async () => {
  stack = await startStack({ config: demoConfig({ scopes: ["openid", "profile", "email", "offline_access"] }) });
});
// A fresh user per test: consent is remembered per user and audience.
beforeEach(async () => {
  user = await createUser(stack.db, { email: `Ada-${Date.now()}-${Math.floor(Math.random() * 1e6)}@Example.com` });
});
afterAll(async () => stack?.stop());

const web = () => ({ clientId: "demo-web", redirectUri: CALLBACK, scope: "openid profile email offline_access" });

async function signIn(browser: Browser, opts: { email?: string; password?: string; remember?: boolean } = {}) {
  const start = await startAuthorization(browser, stack, web());
  expect(start.page.status).toBe(200);
  expect(new URL(start.page.url).pathname).toBe("/login");
  const fields: Record<string, string | null> = { email: opts.email ?? user.email.toLowerCase(), password: opts.password ?? user.password };
  if (opts.remember) fields.remember = "on";
  const page = await browser.submit(start.page, "#login-form", fields, { stopAt: [CALLBACK] });
  return { start, page };
}

test("a full authorization-code flow yields an ID token for the user and an active access token", async () => {
  const browser = new Browser();
  const { start, page: consent } = await signIn(browser);

  expect(consent.status).toBe(200);
  expect(new URL(consent.url).pathname).toBe("/consent");
  expect(consent.text("#context")).toContain("Demo Web");
  expect(consent.$("#scopes li").map((_, el) => consent.$(el).attr("data-scope")).get()).toEqual(["openid", "profile", "email", "offline_access"]);

  const callback = await browser.submit(consent, "#consent-form", {}, { button: ["decision", "allow"], stopAt: [CALLBACK] });
  const params = callbackParams(callback, CALLBACK, start.state);
  const code = params.get("code");
  expect(code).toBeTruthy();

  const tokens = await exchangeCode(stack, { clientId: "demo-web", secret: stack.secrets.DEMO_WEB_SECRET!, code: code!, redirectUri: CALLBACK });
  const idToken = jwtPayload(tokens.id_token!);
  expect(idToken.aud).toEqual(["demo-web"]);
  expect(idToken.sub).toBe(user.id);
  expect(idToken.sub).not.toContain("@");
  expect(idToken.nonce).toBe(start.nonce);
  // A password sign-in: one factor (acr aal1), the method a password (amr, RFC 8176).
  expect(idToken.acr).toBe("aal1");
  expect(idToken.amr).toEqual(["pwd"]);
  expect(tokens.refresh_token).toBeTruthy();

  const info = await introspect(stack, tokens.access_token);
  expect(info.active).toBe(true);
  expect(info.sub).toBe(user.id);
  expect(info.client_id).toBe("demo-web");
  expect(info.scope.split(" ").sort()).toEqual(["email", "offline_access", "openid", "profile"]);
});

test("a wrong password is refused with a message and no session", async () => {
  const browser = new Browser();
  const { page } = await signIn(browser, { password: "wrong password" });
  expect(page.status).toBe(401);
  expect(new URL(page.url).pathname).toBe("/login");
  expect(page.text("#error")).toBe("The email or password is incorrect.");
  // Unknown email: the very same message (nothing reveals whether an account exists).
  const unknown = await signIn(new Browser(), { email: "nobody@example.com", password: "whatever" });
  expect(unknown.page.status).toBe(401);
  expect(unknown.page.text("#error")).toBe("The email or password is incorrect.");
  // No app session was established: the browser's session (if any) holds no user.
  expect(await appSessionUser(stack, browser)).toBeUndefined();
  // And Hydra has no login session: a new authorization still shows the login form.
  const again = await startAuthorization(browser, stack, web());
  expect(new URL(again.page.url).pathname).toBe("/login");
});

test("denying at consent sends access_denied to the client's redirect URI", async () => {
  const browser = new Browser();
  const { start, page: consent } = await signIn(browser);
  const callback = await browser.submit(consent, "#consent-form", {}, { button: ["decision", "deny"], stopAt: [CALLBACK] });
  const params = callbackParams(callback, CALLBACK, start.state);
  expect(params.get("error")).toBe("access_denied");
  expect(params.get("code")).toBeNull();
});

test("with remember-me, a second flow skips the login form", async () => {
  const browser = new Browser();
  const { page: consent } = await signIn(browser, { remember: true });
  await browser.submit(consent, "#consent-form", {}, { button: ["decision", "allow"], stopAt: [CALLBACK] });
  expect(await appSessionUser(stack, browser)).toBe(user.id);
  // Hydra's cookie lasts LOGIN_REMEMBER_FOR_SECONDS (30 days), the app's session SESSION_TTL_SECONDS;
  // both outlive the browser.
  const hydraCookie = await browser.cookie(stack.hydraPublicUrl, "ory_hydra_session");
  expect(hydraCookie).toMatchObject({ persistent: true });
  expect(Math.abs(hydraCookie!.expiresInSeconds! - 30 * 86400)).toBeLessThan(60);
  expect(await browser.cookie(stack.appUrl, stack.env.SESSION_COOKIE_NAME)).toMatchObject({ persistent: true });
  await browser.restart();
  expect(await appSessionUser(stack, browser)).toBe(user.id);

  const second = await startAuthorization(browser, stack, web());
  // Straight past the login step (Hydra's skip) to consent — no login form was shown.
  expect(second.page.chain.some((u) => new URL(u).pathname === "/login")).toBe(true);
  expect(new URL(second.page.url).pathname).not.toBe("/login");
  expect(second.page.$("#login-form").length).toBe(0);

  // A browser whose app session is gone (expired) but whose Hydra login is remembered completes the
  // flow, but gets no app session from it: a login challenge alone proves nothing about the browser
  // (/account signs in through its own OAuth flow).
  await deleteRows(stack.db, "session");
  expect(await appSessionUser(stack, browser)).toBeUndefined();
  const third = await startAuthorization(browser, stack, web());
  expect(third.page.url.startsWith(CALLBACK)).toBe(true);
  expect(await appSessionUser(stack, browser)).toBeUndefined();
  // The remembered sign-in says how the person first proved who they are: a password.
  const code = callbackParams(third.page, CALLBACK, third.state).get("code");
  const tokens = await exchangeCode(stack, { clientId: "demo-web", secret: stack.secrets.DEMO_WEB_SECRET!, code: code!, redirectUri: CALLBACK });
  expect(jwtPayload(tokens.id_token!)).toMatchObject({ sub: user.id, acr: "aal1", amr: ["pwd"] });
});

test("without remember-me, a second flow skips the login form until the browser closes; then the password is asked again", async () => {
  const browser = new Browser();
  const { page: consent } = await signIn(browser);
  await browser.submit(consent, "#consent-form", {}, { button: ["decision", "allow"], stopAt: [CALLBACK] });
  // Hydra's cookie and the app's session cookie end with the browser (no expiry).
  expect(await browser.cookie(stack.hydraPublicUrl, "ory_hydra_session")).toMatchObject({ persistent: false });
  expect(await browser.cookie(stack.appUrl, stack.env.SESSION_COOKIE_NAME)).toMatchObject({ persistent: false });
  expect(await appSessionUser(stack, browser)).toBe(user.id);

  const second = await startAuthorization(browser, stack, web());
  expect(second.page.chain.some((u) => new URL(u).pathname === "/login")).toBe(true);
  expect(second.page.$("#login-form").length).toBe(0);

  await browser.restart();
  expect(await appSessionUser(stack, browser)).toBeUndefined();
  const third = await startAuthorization(browser, stack, web());
  expect(third.page.$("#login-form").length).toBe(1);
});
