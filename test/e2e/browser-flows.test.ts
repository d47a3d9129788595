// Issue 11 (first slice of "browser tests in npm test"): the flows in real Chromium (Debian's, driven
// by playwright-core) against the real Hydra, PostgreSQL and Mailpit, at desktop and phone sizes.
// Every page of the app on the way is checked (test/support/chromium.ts): axe-core WCAG 2.x A/AA
// with 0 violations, no horizontal scrolling on the phone, every action reachable by Tab with a
// visible focus, and a screenshot in test-artifacts/screenshots/. The client's redirect URI
// (http://127.0.0.1:9/callback, where nothing listens) is answered inside the browser.
import { startStack, type Stack } from "../support/stack";
import { CALLBACK, createUser, demoConfig, type TestUser } from "../support/fixtures";
import { authorizationUrl, exchangeCode } from "../support/oauth";
import { checkA11y, checkKeyboard, checkNoHorizontalScroll, checkPage, launchChromium, newContext, stubOrigin, VIEWPORTS, type Browser, type BrowserContext, type Page, type ViewportName } from "../support/chromium";

jest.setTimeout(120_000);

let stack: Stack;
let browser: Browser;

beforeAll(async () => {
  [stack, browser] = await Promise.all([startStack({ config: demoConfig({ scopes: ["openid", "profile", "email"] }) }), launchChromium()]);
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

const CALLBACK_ORIGIN = new URL(CALLBACK).origin;
const PASSWORD = "lantern-orbit-saffron-93";
let counter = 0;
const newEmail = (what: string) => `browser-${what}-${Date.now()}-${++counter}@example.com`;
const pathOf = (page: Page) => new URL(page.url()).pathname;

/** A fresh context (own cookies) whose client callback is answered in the browser. */
async function freshContext(viewport: ViewportName): Promise<{ context: BrowserContext; page: Page }> {
  const context = await newContext(browser, viewport);
  await stubOrigin(context, CALLBACK_ORIGIN);
  return { context, page: await context.newPage() };
}

/** Opens demo-web's authorization request; resolves once the app's page (login, usually) is there. */
async function startFlow(page: Page, scope = "openid profile email"): Promise<string> {
  const state = `state-${Date.now()}-${++counter}`;
  await page.goto(authorizationUrl(stack, { clientId: "demo-web", redirectUri: CALLBACK, scope, state, nonce: `nonce-${Date.now()}-${counter}` }));
  return state;
}

/** Waits for the client's callback and returns its query (state checked). */
async function callback(page: Page, state: string): Promise<URLSearchParams> {
  await page.waitForURL((u) => u.href.startsWith(CALLBACK));
  const params = new URL(page.url()).searchParams;
  expect(params.get("state")).toBe(state);
  return params;
}

async function signIn(page: Page, user: TestUser, opts: { remember?: boolean } = {}) {
  await page.getByLabel("Email").fill(user.email);
  await page.getByLabel("Password").fill(user.password);
  if (opts.remember) await page.getByLabel("Stay signed in on this device").check();
  await page.getByRole("button", { name: "Sign in" }).click();
}

describe.each(Object.keys(VIEWPORTS) as ViewportName[])("in Chromium at the %s size", (viewport) => {
  let context: BrowserContext;
  let page: Page;
  beforeEach(async () => ({ context, page } = await freshContext(viewport)));
  afterEach(async () => context?.close());

  test("sign-in with the login form → consent → allow → the client's callback gets a code", async () => {
    const user = await createUser(stack.db);
    const state = await startFlow(page);
    await page.waitForURL((u) => u.pathname === "/login");
    await checkPage(page, "sign-in", viewport);

    await signIn(page, user);
    await page.waitForURL((u) => u.pathname === "/consent");
    expect(await page.locator("#scopes li").count()).toBe(3);
    await checkPage(page, "consent", viewport);

    await page.getByRole("button", { name: "Allow" }).click();
    const params = await callback(page, state);
    const tokens = await exchangeCode(stack, { clientId: "demo-web", secret: stack.secrets.DEMO_WEB_SECRET!, code: params.get("code")!, redirectUri: CALLBACK });
    expect(tokens.scope.split(" ").sort()).toEqual(["email", "openid", "profile"]);
  });

  test("sign-up → 'check your inbox' → the code from the mail → consent → callback", async () => {
    const email = newEmail("signup");
    const state = await startFlow(page);
    await page.waitForURL((u) => u.pathname === "/login");
    await page.getByRole("link", { name: "Create account" }).click();
    await page.waitForURL((u) => u.pathname === "/registration");
    await checkPage(page, "sign-up", viewport);

    await page.getByLabel("Name").fill("Vera Browser");
    await page.getByLabel("Email").fill(email);
    await page.getByLabel(/^Password/).fill(PASSWORD);
    await page.getByRole("button", { name: "Create account" }).click();
    await page.getByRole("heading", { name: "Check your inbox" }).waitFor();
    await checkPage(page, "check-inbox", viewport);

    const mail = await stack.mailpit!.waitForMessage({ to: email, subject: /Confirm your email address/ });
    const code = /code there: (\d{6})/.exec(mail.text)?.[1] ?? /\b(\d{6})\b/.exec(mail.text)![1]!;
    await page.getByLabel("Code from the mail").fill(code);
    await page.getByRole("button", { name: "Confirm", exact: true }).click();
    await page.waitForURL((u) => u.pathname === "/consent");
    await checkPage(page, "consent-after-sign-up", viewport);
    await page.getByRole("button", { name: "Allow" }).click();
    expect((await callback(page, state)).get("code")).toBeTruthy();
  });

  test("/account after signing in (its own OAuth flow at Hydra) lists the consents", async () => {
    const user = await createUser(stack.db);
    const state = await startFlow(page);
    await signIn(page, user);
    await page.waitForURL((u) => u.pathname === "/consent");
    await page.getByRole("button", { name: "Allow" }).click();
    await callback(page, state);

    await page.goto(`${stack.appUrl}/account`);
    // Not remembered: /account's own authorization request asks for the password on the sign-in page.
    await page.waitForURL((u) => u.pathname === "/login");
    await checkPage(page, "account-sign-in", viewport);
    await signIn(page, user);
    await page.waitForURL((u) => u.pathname === "/account");
    expect(await page.locator("#signed-in-as").textContent()).toBe(user.email);
    const consent = page.locator('section.consent[data-audience="demo"]');
    expect(await consent.count()).toBe(1);
    expect(await consent.locator(".scopes").textContent()).toContain("profile");
    await checkPage(page, "account", viewport);
  });

  test("denial at consent → the callback gets access_denied", async () => {
    const user = await createUser(stack.db);
    const state = await startFlow(page);
    await signIn(page, user);
    await page.waitForURL((u) => u.pathname === "/consent");
    await page.getByRole("button", { name: "Deny" }).click();
    const params = await callback(page, state);
    expect(params.get("error")).toBe("access_denied");
    expect(params.get("code")).toBeNull();
    expect(await stack.db.consent.count({ where: { userId: user.id } })).toBe(0);
  });

  test("logout through Hydra's end-session endpoint → the confirm page → signed out", async () => {
    const user = await createUser(stack.db);
    const state = await startFlow(page);
    await signIn(page, user, { remember: true });
    await page.waitForURL((u) => u.pathname === "/consent");
    await page.getByRole("button", { name: "Allow" }).click();
    const code = (await callback(page, state)).get("code")!;
    const tokens = await exchangeCode(stack, { clientId: "demo-web", secret: stack.secrets.DEMO_WEB_SECRET!, code, redirectUri: CALLBACK });

    await page.goto(`${stack.hydraPublicUrl}/oauth2/sessions/logout?id_token_hint=${tokens.id_token}`);
    await page.waitForURL((u) => u.pathname === "/logout");
    await checkPage(page, "logout", viewport);
    await page.getByRole("button", { name: "Sign out", exact: true }).click();
    await page.waitForURL((u) => u.pathname === "/signed-out");
    await checkPage(page, "signed-out", viewport);

    // Hydra forgot the browser: a new request asks for the password again.
    await startFlow(page);
    await page.waitForURL((u) => u.pathname === "/login");
    expect(await page.locator("#login-form").count()).toBe(1);
  });
});

test("the checks themselves fail on a page with an axe violation, horizontal scrolling, an action Tab cannot reach and a focus that is not shown", async () => {
  const { context, page } = await freshContext("phone");
  try {
    await page.setContent(`<!doctype html><html lang="en"><head><title>Bad page</title><meta name="viewport" content="width=device-width, initial-scale=1">
      <style>#no-ring:focus { outline: none; } .wide { width: 600px; }</style></head>
      <body><main><h1>Bad</h1><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
      <a href="#one">Fine link</a> <button id="no-ring">No ring</button> <a href="#two" tabindex="-1">Skipped</a>
      <p class="wide">Too wide</p></main></body></html>`);
    await expect(checkA11y(page, "bad page")).rejects.toThrow(/image-alt/);
    await expect(checkNoHorizontalScroll(page, "bad page")).rejects.toThrow(/600px wide|p\.wide/);
    const keyboard = checkKeyboard(page, "bad page");
    await expect(keyboard).rejects.toThrow(/no visible focus: .*button#no-ring/);
    await expect(keyboard).rejects.toThrow(/not reachable by Tab: .*Skipped/);
    await expect(keyboard).rejects.not.toThrow(/Fine link/);
  } finally {
    await context.close();
  }
});
