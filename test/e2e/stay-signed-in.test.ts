// "Stay signed in" ticked and unticked in real Chromium (Debian's, driven by playwright-core) against
// the real Hydra v2.3.0, PostgreSQL and Mailpit, in the three browser profiles of
// browser-flows.test.ts (desktop English light, phone English light, phone German dark):
//   - unticked: Hydra's cookie and the app's session cookie have no expiry (they end with the
//     browser); ticked: Hydra's lasts LOGIN_REMEMBER_FOR_SECONDS and survives a restart;
//   - a person's sessions ended in browser B ("sign out everywhere", a password change) leave
//     browser A with a Hydra cookie naming a revoked login session; A then signs in again WITHOUT
//     "stay signed in" and reaches the client with a code that exchanges for tokens (Hydra v2.3.0
//     failed such a sign-in when it was accepted with remember: false).
// A "restart" is a new context holding only the old one's cookies that have an expiry.
// Selectors are ids and form values, never words, so the flows run in either language.
import { startStack, type Stack } from "../support/stack";
import { createUser } from "../support/fixtures";
import { authorizationUrl, exchangeCode, jwtPayload } from "../support/oauth";
import { checkPage, launchChromium, newContext, startClientStub, type Browser, type BrowserContext, type Page, BROWSER_PROFILES } from "../support/chromium";

jest.setTimeout(120_000);

let stack: Stack;
let browser: Browser;
let clientStub: Awaited<ReturnType<typeof startClientStub>>;
/** The client's redirect URI. */
let CALLBACK: string;

beforeAll(async () => {
  clientStub = await startClientStub();
  CALLBACK = `${clientStub.origin}/callback`;
  const config = {
    audiences: [{ id: "demo", name: "Demo App" }],
    clients: [{ id: "demo-web", name: "Demo Web", audience: "demo", "secret-env": "DEMO_WEB_SECRET", "redirect-uris": [CALLBACK], scopes: ["openid", "profile", "email"] }],
  };
  [stack, browser] = await Promise.all([startStack({ config }), launchChromium()]);
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  await clientStub?.close();
});

// What the sign-in page's hint says an unticked sign-in lasts for, in the profile's language.
const PROFILES = BROWSER_PROFILES.map((p) => ({ ...p, untilClosed: p.locale === "de-DE" ? "bis Sie den Browser schließen" : "until you close the browser" }));

const PASSWORD = "lantern-orbit-saffron-93";
const NEW_PASSWORD = "quartz-meadow-violin-47";
const REMEMBER_FOR_SECONDS = 30 * 86400;
let counter = 0;
const newEmail = (what: string) => `stay-${what}-${Date.now()}-${++counter}@example.com`;
const atPath = (path: string) => (u: URL) => u.pathname === path;

type Cookie = Awaited<ReturnType<BrowserContext["cookies"]>>[number];

describe.each(PROFILES)("in Chromium: $name", (profile) => {
  const tag = profile.locale === "de-DE" ? "de-dark" : undefined;
  const contexts: BrowserContext[] = [];
  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((c) => c.close()));
  });

  /** A browser of this profile (its own cookies), optionally holding `cookies` from before. */
  async function open(cookies: Cookie[] = []): Promise<{ context: BrowserContext; page: Page }> {
    const context = await newContext(browser, profile.viewport, { locale: profile.locale, colorScheme: profile.colorScheme });
    contexts.push(context);
    if (cookies.length) await context.addCookies(cookies);
    return { context, page: await context.newPage() };
  }

  /** The browser closed and opened again: only the cookies with an expiry are left. */
  async function restart(context: BrowserContext): Promise<{ context: BrowserContext; page: Page }> {
    const kept = (await context.cookies()).filter((c) => c.expires !== -1);
    contexts.splice(contexts.indexOf(context), 1);
    await context.close();
    return open(kept);
  }

  const hydraCookie = async (context: BrowserContext) => (await context.cookies(stack.hydraPublicUrl)).find((c) => c.name.startsWith("ory_hydra_session"));
  const appCookie = async (context: BrowserContext) => (await context.cookies(stack.appUrl)).find((c) => c.name === stack.env.SESSION_COOKIE_NAME);
  /** Seconds until the cookie expires; null for a session cookie (no expiry: it ends with the browser). */
  const lifetime = (c: Cookie | undefined) => {
    if (!c) throw new Error("no such cookie");
    return c.expires === -1 ? null : Math.round(c.expires - Date.now() / 1000);
  };

  async function startFlow(page: Page): Promise<string> {
    const state = `state-${Date.now()}-${++counter}`;
    await page.goto(authorizationUrl(stack, { clientId: "demo-web", redirectUri: CALLBACK, scope: "openid profile email", state, nonce: `nonce-${state}` }));
    return state;
  }

  async function signIn(page: Page, user: { email: string; password: string }, opts: { remember: boolean }) {
    await page.locator("#email").fill(user.email);
    await page.locator("#password").fill(user.password);
    const box = page.locator('#login-form input[name="remember"]');
    expect(await box.isChecked()).toBe(false);
    if (opts.remember) await box.check();
    await page.locator('#login-form button[type="submit"]').click();
  }

  /** Waits for the client's callback (allowing the consent when it is asked) and exchanges the code for tokens. */
  async function tokensAtClient(page: Page, state: string) {
    await page.waitForURL((u) => u.href.startsWith(CALLBACK) || u.pathname === "/consent");
    if (new URL(page.url()).pathname === "/consent") await page.locator('#consent-form button[value="allow"]').click();
    await page.waitForURL((u) => u.href.startsWith(CALLBACK));
    const params = new URL(page.url()).searchParams;
    expect({ state: params.get("state"), error: params.get("error"), description: params.get("error_description") }).toEqual({ state, error: null, description: null });
    return exchangeCode(stack, { clientId: "demo-web", secret: stack.secrets.DEMO_WEB_SECRET!, code: params.get("code")!, redirectUri: CALLBACK });
  }

  /** Signs in to /account on the form it leads to. */
  async function signInToAccount(page: Page, user: { email: string; password: string }, opts: { remember: boolean }) {
    await page.goto(`${stack.appUrl}/account`);
    await page.waitForURL(atPath("/login"));
    await signIn(page, user, opts);
    await page.waitForURL(atPath("/account"));
  }

  test("unticked: signed in until the browser closes; 'sign out everywhere' in another browser, then this browser signs in again unticked and the client gets tokens", async () => {
    const user = await createUser(stack.db, { email: newEmail("everywhere"), password: PASSWORD });
    let a = await open();
    let state = await startFlow(a.page);
    await a.page.waitForURL(atPath("/login"));
    expect(await a.page.locator("#remember-hint").textContent()).toContain(profile.untilClosed);
    await signIn(a.page, user, { remember: false });
    await tokensAtClient(a.page, state);
    // Both cookies end with the browser.
    const first = await hydraCookie(a.context);
    expect(lifetime(first)).toBeNull();
    expect(lifetime(await appCookie(a.context))).toBeNull();

    // Until then the browser is remembered: the next request passes without the form.
    state = await startFlow(a.page);
    await tokensAtClient(a.page, state);

    // Browser B: /account, "stay signed in" ticked (Hydra's cookie lasts 30 days), then sign out everywhere.
    const b = await open();
    await signInToAccount(b.page, user, { remember: true });
    expect(Math.abs(lifetime(await hydraCookie(b.context))! - REMEMBER_FOR_SECONDS)).toBeLessThan(60);
    expect(lifetime(await appCookie(b.context))).not.toBeNull();
    await b.page.locator('#sign-out-everywhere-form button[type="submit"]').click();
    await b.page.locator("#message").waitFor();

    // Browser A still holds Hydra's cookie naming the ended session: the password is asked again,
    // and a sign-in without "stay signed in" reaches the client.
    expect((await hydraCookie(a.context))?.value).toBe(first!.value);
    state = await startFlow(a.page);
    await a.page.waitForURL(atPath("/login"));
    await checkPage(a.page, "sign-in-after-sign-out-everywhere", profile.viewport, { tag });
    await signIn(a.page, user, { remember: false });
    const tokens = await tokensAtClient(a.page, state);
    expect(jwtPayload(tokens.id_token!).sub).toBe(user.id);
    const replaced = await hydraCookie(a.context);
    expect(replaced!.value).not.toBe(first!.value);
    expect(lifetime(replaced)).toBeNull();

    // The browser closes: Hydra and the app forget it; the password is asked again.
    a = await restart(a.context);
    expect(await hydraCookie(a.context)).toBeUndefined();
    expect(await appCookie(a.context)).toBeUndefined();
    state = await startFlow(a.page);
    await a.page.waitForURL(atPath("/login"));
    await signIn(a.page, user, { remember: false });
    await tokensAtClient(a.page, state);
  });

  test("ticked: still signed in after a restart; a password change in another browser, then this browser (and that one) sign in again unticked and get tokens", async () => {
    const user = await createUser(stack.db, { email: newEmail("password"), password: PASSWORD });
    let a = await open();
    let state = await startFlow(a.page);
    await a.page.waitForURL(atPath("/login"));
    await signIn(a.page, user, { remember: true });
    await tokensAtClient(a.page, state);
    expect(Math.abs(lifetime(await hydraCookie(a.context))! - REMEMBER_FOR_SECONDS)).toBeLessThan(60);
    expect(lifetime(await appCookie(a.context))).not.toBeNull();

    // The browser closes and opens again: still signed in (no form on the way to the client).
    a = await restart(a.context);
    const stale = await hydraCookie(a.context);
    state = await startFlow(a.page);
    await tokensAtClient(a.page, state);
    expect(a.page.url().startsWith(CALLBACK)).toBe(true);

    // Browser B: /account without "stay signed in", then a new password (every other session ends;
    // Hydra's login sessions of the person, B's own included).
    const b = await open();
    await signInToAccount(b.page, user, { remember: false });
    expect(lifetime(await hydraCookie(b.context))).toBeNull();
    expect(lifetime(await appCookie(b.context))).toBeNull(); // the account page's own sign-in kept it so
    await b.page.locator("#current-password").fill(PASSWORD);
    await b.page.locator("#new-password").fill(NEW_PASSWORD);
    await b.page.locator('#password-form button[type="submit"]').click();
    await b.page.waitForURL((u) => u.pathname === "/account" && u.searchParams.get("done") === "password");

    // A's 30-day cookie names the ended session: the password is asked; unticked, the client gets
    // tokens, and the cookie Hydra sets now ends with the browser.
    state = await startFlow(a.page);
    await a.page.waitForURL(atPath("/login"));
    await signIn(a.page, { email: user.email, password: NEW_PASSWORD }, { remember: false });
    expect(jwtPayload((await tokensAtClient(a.page, state)).id_token!).sub).toBe(user.id);
    const replaced = await hydraCookie(a.context);
    expect(replaced!.value).not.toBe(stale!.value);
    expect(lifetime(replaced)).toBeNull();

    // B's own Hydra session ended with the change too: an application asks B for the password, and
    // an unticked sign-in gets through.
    state = await startFlow(b.page);
    await b.page.waitForURL(atPath("/login"));
    await signIn(b.page, { email: user.email, password: NEW_PASSWORD }, { remember: false });
    expect(jwtPayload((await tokensAtClient(b.page, state)).id_token!).sub).toBe(user.id);
  });
});
