// Passkeys in real Chromium with its virtual authenticator (the DevTools WebAuthn domain), against
// the real Hydra v2.3.0, PostgreSQL and Mailpit: registered on /account after the password, used
// alone on the sign-in form and as the second factor after a password, renamed and removed; the
// ID token says how (acr, amr). A browser without WebAuthn is told so. Every page gets axe's check,
// and the browser suite's checks in its three profiles (desktop, phone, German in the dark).
import { startStack, type Stack } from "../support/stack";
import { createUser, type TestUser } from "../support/fixtures";
import { authorizationUrl, exchangeCode, jwtPayload } from "../support/oauth";
import { checkA11y, checkPage, launchChromium, newContext, startClientStub, type Browser, type BrowserContext, type Page } from "../support/chromium";
import { countRows } from "../support/db";

jest.setTimeout(120_000);

let stack: Stack;
let browser: Browser;
let clientStub: Awaited<ReturnType<typeof startClientStub>>;
let CALLBACK: string;

beforeAll(async () => {
  clientStub = await startClientStub();
  CALLBACK = `${clientStub.origin}/callback`;
  const config = {
    audiences: [{ id: "demo", name: "Demo App" }],
    clients: [{ id: "demo-web", name: "Demo Web", audience: "demo", "secret-env": "DEMO_WEB_SECRET", "redirect-uris": [CALLBACK], scopes: ["openid", "profile"] }],
  };
  // Passkeys need a domain name as the relying party's id: the app's URL is http://localhost:<port>.
  stack = await startStack({ config: config as never, appHost: "localhost" });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await clientStub?.close();
  await stack?.stop();
});

/** A context and page with a virtual platform authenticator (resident keys, user verification). */
async function withAuthenticator(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await newContext(browser, "desktop");
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: { protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
  });
  return { context, page };
}

async function signInToAccount(page: Page, user: TestUser): Promise<void> {
  await page.goto(`${stack.appUrl}/account`);
  await page.fill("#email", user.email);
  await page.fill("#password", user.password);
  await page.click("#login-form button[type=submit]");
  await page.waitForURL(/\/account$/);
}

async function addPasskey(page: Page, user: TestUser, name: string): Promise<void> {
  await page.fill("#passkey-name", name);
  await page.fill("#passkey-password", user.password);
  await page.click("#add-passkey-form button[type=submit]");
  await page.waitForSelector("#passkey-button:not([hidden])");
  await checkA11y(page, "passkey registration");
  await page.click("#passkey-button");
  await page.waitForURL(/\/account\?done=passkey-added$/);
}

function startFlow(page: Page) {
  const state = Math.random().toString(36).slice(2);
  const url = authorizationUrl(stack, { clientId: "demo-web", redirectUri: CALLBACK, scope: "openid profile", state, nonce: "n-" + state });
  return { state, go: () => page.goto(url) };
}

/** Consent when asked, then the code at the client and the ID token's claims. */
async function tokenAtClient(page: Page): Promise<Record<string, any>> {
  await page.waitForURL((u) => u.pathname === "/consent" || u.toString().startsWith(CALLBACK));
  if (new URL(page.url()).pathname === "/consent") {
    await page.click('#consent-form button[value="allow"]');
    await page.waitForURL((u) => u.toString().startsWith(CALLBACK));
  }
  const code = new URL(page.url()).searchParams.get("code")!;
  const tokens = await exchangeCode(stack, { clientId: "demo-web", secret: stack.secrets.DEMO_WEB_SECRET!, code, redirectUri: CALLBACK });
  return jwtPayload(tokens.id_token!);
}

test("a passkey registered on /account signs in alone (aal2) and serves as the second factor after a password", async () => {
  const user = await createUser(stack.db);
  const { context, page } = await withAuthenticator();
  await signInToAccount(page, user);
  await checkA11y(page, "/account with the passkeys section");
  await addPasskey(page, user, "Laptop");
  expect(await page.textContent("#notice")).toMatch(/passkey was added/);
  expect(await page.textContent("#passkeys")).toContain("Laptop");
  await stack.mailpit!.waitForMessage({ to: user.email, subject: /A passkey was added/ });
  const row = (await stack.db.query("SELECT public_key, counter FROM passkeys WHERE user_id = $1::uuid", [user.id])).rows[0];
  expect(row.public_key).toMatch(/^[A-Za-z0-9_-]+$/);

  // Signed out (cookies gone, the authenticator stays): the sign-in form offers the passkey in the
  // email field's suggestions (conditional mediation); Chromium's virtual authenticator picks it at
  // once, and the passkey alone signs in.
  await context.clearCookies();
  const flow = startFlow(page);
  await flow.go();
  const autofilled = await tokenAtClient(page);
  expect(autofilled).toMatchObject({ sub: user.id, acr: "aal2", amr: ["hwk", "user", "mfa"] });

  // Where the browser offers no passkeys in suggestions, the button does it.
  await context.clearCookies();
  await page.addInitScript(() => {
    (globalThis as unknown as { PublicKeyCredential: { isConditionalMediationAvailable?: () => Promise<boolean> } }).PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(false);
  });
  await startFlow(page).go();
  await page.waitForSelector("#passkey-button:not([hidden])");
  expect(await page.getAttribute("#email", "autocomplete")).toBe("username webauthn");
  await checkA11y(page, "sign-in form with the passkey button");
  await page.click("#passkey-button");
  expect(await tokenAtClient(page)).toMatchObject({ sub: user.id, acr: "aal2", amr: ["hwk", "user", "mfa"] });

  // Signed out again: the password, then the passkey as the second factor (the page offers no code: the user has no authenticator app).
  await context.clearCookies();
  const flow2 = startFlow(page);
  await flow2.go();
  await page.fill("#email", user.email);
  await page.fill("#password", user.password);
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector("#passkey-button:not([hidden])");
  expect(await page.locator("#code-form").count()).toBe(0);
  await checkA11y(page, "second factor: passkey");
  await page.click("#passkey-button");
  expect(await tokenAtClient(page)).toMatchObject({ sub: user.id, acr: "aal2", amr: ["pwd", "hwk", "mfa"] });
  await context.close();
});

test("passkeys on /account: named, renamed, removed (after the password, with a notice)", async () => {
  const user = await createUser(stack.db);
  const { context, page } = await withAuthenticator();
  await signInToAccount(page, user);
  await addPasskey(page, user, "Phone");
  await page.fill("#passkey-name-0", "Work phone");
  await page.click(".rename-passkey-form button[type=submit]");
  await page.waitForURL(/done=passkey-renamed/);
  expect(await page.textContent("#passkeys")).toContain("Work phone");
  const id = await page.getAttribute("#passkeys li", "data-passkey");
  await page.fill(`#remove-passkey-password-${id}`, "not the password");
  await page.click(".remove-passkey-form button[type=submit]");
  expect(await page.textContent("#passkey-error")).toMatch(/password/i);
  await page.fill(`#remove-passkey-password-${id}`, user.password);
  await page.click(".remove-passkey-form button[type=submit]");
  await page.waitForURL(/done=passkey-removed/);
  expect(await countRows(stack.db, "passkeys", { userId: user.id })).toBe(0);
  await stack.mailpit!.waitForMessage({ to: user.email, subject: /A passkey was removed/ });

  // The authenticator still holds the removed passkey: using it says it is not known here any more.
  await context.clearCookies();
  await page.addInitScript(() => {
    (globalThis as unknown as { PublicKeyCredential: { isConditionalMediationAvailable?: () => Promise<boolean> } }).PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(false);
  });
  await startFlow(page).go();
  await page.waitForSelector("#passkey-button:not([hidden])");
  await page.click("#passkey-button");
  await page.waitForSelector("#error");
  expect(await page.textContent("#error")).toMatch(/This passkey is not known here \(it may have been removed\)/);
  await context.close();
});

test("a browser without WebAuthn gets no passkey button, and says why", async () => {
  const context = await newContext(browser, "phone");
  await context.addInitScript(() => {
    delete (globalThis as { PublicKeyCredential?: unknown }).PublicKeyCredential;
  });
  const page = await context.newPage();
  await startFlow(page).go();
  await page.waitForSelector("#passkey-unsupported:not([hidden])");
  expect(await page.isHidden("#passkey-button")).toBe(true);
  await checkA11y(page, "sign-in form without WebAuthn");
  await context.close();
});

// The passkey pages in the browser suite's three profiles: axe, no horizontal scrolling on a phone,
// every action reachable by keyboard (test/support/chromium.ts checkPage), in English and German.
const PROFILES = [
  { viewport: "desktop", locale: "en-US", colorScheme: "light", tag: "en" },
  { viewport: "phone", locale: "en-US", colorScheme: "light", tag: "en" },
  { viewport: "phone", locale: "de-DE", colorScheme: "dark", tag: "de-dark" },
] as const;

test.each(PROFILES)("the passkey pages on $viewport in $locale ($colorScheme): /account's section, registering, the second factor", async (profile) => {
  const user = await createUser(stack.db);
  const context = await newContext(browser, profile.viewport, { locale: profile.locale, colorScheme: profile.colorScheme });
  // No passkeys in the email field's suggestions here (the virtual authenticator would pick one at once): the password form is the point.
  await context.addInitScript(() => {
    (globalThis as unknown as { PublicKeyCredential: { isConditionalMediationAvailable?: () => Promise<boolean> } }).PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(false);
  });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  await cdp.send("WebAuthn.addVirtualAuthenticator", { options: { protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true, isUserVerified: true } });
  await signInToAccount(page, user);
  expect(await page.getAttribute("html", "lang")).toBe(profile.locale.slice(0, 2));
  await checkPage(page, "passkeys-account", profile.viewport, { tag: profile.tag });

  await page.fill("#passkey-name", "Laptop");
  await page.fill("#passkey-password", user.password);
  await page.click("#add-passkey-form button[type=submit]");
  await page.waitForSelector("#passkey-button:not([hidden])");
  await checkPage(page, "passkey-register", profile.viewport, { tag: profile.tag });
  await page.click("#passkey-button");
  await page.waitForURL(/done=passkey-added/);
  await checkPage(page, "passkeys-account-one", profile.viewport, { tag: profile.tag });

  // The second factor after a password, the passkey chosen by keyboard.
  await context.clearCookies();
  await startFlow(page).go();
  await page.fill("#email", user.email);
  await page.fill("#password", user.password);
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector("#passkey-button:not([hidden])");
  await checkPage(page, "passkey-second-factor", profile.viewport, { tag: profile.tag });
  await page.focus("#passkey-button");
  await page.keyboard.press("Enter");
  expect(await tokenAtClient(page)).toMatchObject({ sub: user.id, acr: "aal2" });
  await context.close();
});
