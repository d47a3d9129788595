// Granular consent's pages in real Chromium (Debian's, driven by playwright-core) against the real
// Hydra and PostgreSQL, in the browser suite's three profiles (desktop English light, phone English
// light, phone German dark), each page with every check of test/support/chromium.ts (axe WCAG 2.x
// A/AA at 0 violations, no sideways scrolling on the phone, every action reachable by Tab):
//   - the consent page with optional scopes: one unticked, "don't ask again" ticked (by keyboard
//     alone in the desktop profile) → the client's token lacks it;
//   - /account's consents: what is allowed, what was declined, when it expires; removing one
//     permission through its confirmation page; "allow asking again";
//   - an expired consent asked again, the page saying so.
// Selectors are ids and data attributes, never words.
import { startStack, type Stack } from "../support/stack";
import { createUser } from "../support/fixtures";
import { authorizationUrl, exchangeCode } from "../support/oauth";
import { checkPage, launchChromium, newContext, startClientStub, tabTo, type Browser, type Page, BROWSER_PROFILES } from "../support/chromium";
import { findRows, updateRows } from "../support/db";
import type { ConfigFile } from "../../src/config/audiences";

jest.setTimeout(180_000);

declare const document: any;

let stack: Stack;
let browser: Browser;
let clientStub: Awaited<ReturnType<typeof startClientStub>>;
let CALLBACK: string;

beforeAll(async () => {
  clientStub = await startClientStub();
  CALLBACK = `${clientStub.origin}/callback`;
  const config: ConfigFile = {
    audiences: [
      { id: "shop", name: "Shop" },
      { id: "club", name: "Club", "consent-ttl": "30d" },
    ],
    scopes: [
      { name: "shop.orders", description: { en: "See your orders", de: "Ihre Bestellungen sehen" }, audience: "shop" },
      { name: "newsletter", description: { en: "Send you the newsletter", de: "Ihnen den Newsletter senden" }, optional: true },
    ],
    clients: [
      { id: "shop-web", name: "Shop Web", audience: "shop", "secret-env": "SHOP_WEB_SECRET", "redirect-uris": [CALLBACK], scopes: ["openid", "email", "shop.orders", "newsletter"], "optional-scopes": ["email"] },
      { id: "club-web", name: "Club Web", audience: "club", "secret-env": "CLUB_WEB_SECRET", "redirect-uris": [CALLBACK], scopes: ["openid", "profile"] },
    ],
  };
  [stack, browser] = await Promise.all([startStack({ config }), launchChromium()]);
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  await clientStub?.close();
});

const PROFILES = BROWSER_PROFILES;
let counter = 0;

describe.each(PROFILES)("in Chromium: $name", (profile) => {
  const tag = profile.locale === "de-DE" ? "de-dark" : undefined;
  const check = async (page: Page, name: string) => {
    await page.waitForLoadState("load");
    expect(await page.evaluate(() => document.documentElement.lang)).toBe(profile.locale.slice(0, 2));
    await checkPage(page, `consent-choices-${name}`, profile.viewport, { tag });
  };
  const focused = (page: Page, selector: string) => page.evaluate((s) => Boolean(document.activeElement?.matches(s)), selector);
  /** Activates a button or toggles a box: by Tab and Enter / Space in the keyboard profile, else a click. */
  async function press(page: Page, selector: string, key: "Enter" | "Space" = "Enter"): Promise<void> {
    if (!profile.keyboard) return page.locator(selector).click();
    if (!(await focused(page, selector))) await tabTo(page, selector);
    await page.keyboard.press(key);
  }
  async function type(page: Page, selector: string, text: string): Promise<void> {
    if (!profile.keyboard) return page.locator(selector).fill(text);
    if (!(await focused(page, selector))) await tabTo(page, selector);
    await page.keyboard.type(text);
  }
  async function start(page: Page, clientId: string, scope: string): Promise<string> {
    const state = `state-${Date.now()}-${++counter}`;
    await page.goto(authorizationUrl(stack, { clientId, redirectUri: CALLBACK, scope, state, nonce: `nonce-${Date.now()}-${counter}` }));
    await page.waitForURL((u) => ["/login", "/consent"].includes(u.pathname) || u.href.startsWith(CALLBACK));
    return state;
  }
  async function codeAt(page: Page, state: string): Promise<string> {
    await page.waitForURL((u) => u.href.startsWith(CALLBACK));
    const u = new URL(page.url());
    expect(u.searchParams.get("state")).toBe(state);
    return u.searchParams.get("code")!;
  }

  test(`optional scopes on the consent page, /account's consents, removing one permission, an expired consent${profile.keyboard ? " (keyboard alone)" : ""}`, async () => {
    const user = await createUser(stack.db, { email: `choices-${Date.now()}-${++counter}@example.com` });
    const context = await newContext(browser, profile.viewport, { locale: profile.locale, colorScheme: profile.colorScheme });
    const page = await context.newPage();
    try {
      const state = await start(page, "shop-web", "openid email shop.orders newsletter");
      await type(page, "#email", user.email);
      await type(page, "#password", user.password);
      await press(page, 'input[name="remember"]', "Space");
      await press(page, '#login-form button[type="submit"]');
      await page.locator("#consent-form").waitFor();
      // The optional ones have a box, ticked; the others none.
      expect(await page.locator('#scopes input[name="grant"]').evaluateAll((els) => els.map((e: any) => [e.value, e.checked]))).toEqual([
        ["email", true],
        ["newsletter", true],
      ]);
      await check(page, "consent");
      await press(page, '#scopes li[data-scope="newsletter"] input[name="grant"]', "Space");
      await press(page, "#dont-ask-again", "Space");
      expect(await page.locator('#scopes li[data-scope="newsletter"] input[name="grant"]').isChecked()).toBe(false);
      await press(page, '#consent-form button[value="allow"]');
      const tokens = await exchangeCode(stack, { clientId: "shop-web", secret: stack.secrets.SHOP_WEB_SECRET, code: await codeAt(page, state), redirectUri: CALLBACK });
      expect(tokens.scope!.split(" ").sort()).toEqual(["email", "openid", "shop.orders"]);

      // /account: what is allowed, what was declined, that it lasts until revoked.
      await page.goto(`${stack.appUrl}/account`);
      await page.locator('section[data-audience="shop"]').waitFor();
      expect(await page.locator('section[data-audience="shop"] li[data-declined]').getAttribute("data-declined")).toBe("newsletter");
      await check(page, "account");
      await press(page, 'section[data-audience="shop"] li[data-scope="email"] button.remove-scope');
      await page.waitForURL((u) => u.pathname === "/account/consents/revoke");
      await page.locator("#revoke-form").waitFor();
      await check(page, "remove-permission");
      await press(page, '#revoke-form button[type="submit"]');
      await page.waitForURL((u) => u.pathname === "/account");
      await page.locator("#notice").waitFor();
      expect((await findRows(stack.db, "consents", { userId: user.id, audienceId: "shop" }))[0]!.scopes).toEqual(["openid", "shop.orders"]);
      await press(page, 'section[data-audience="shop"] li[data-declined="newsletter"] button.ask-again');
      await page.waitForURL((u) => u.pathname === "/account");
      await page.locator("#notice").waitFor();
      expect((await findRows(stack.db, "consents", { userId: user.id, audienceId: "shop" }))[0]!.declinedScopes).toEqual([]);

      // A consent older than the audience's consent-ttl: asked again, the page says so.
      const clubState = await start(page, "club-web", "openid profile");
      await press(page, '#consent-form button[value="allow"]');
      await codeAt(page, clubState);
      await updateRows(stack.db, "consents", { userId: user.id, audienceId: "club" }, { confirmedAt: new Date(Date.now() - 31 * 86400_000) });
      const expiredState = await start(page, "club-web", "openid profile");
      await page.locator("#expired-note").waitFor();
      await check(page, "consent-expired");
      await press(page, '#consent-form button[value="allow"]');
      await codeAt(page, expiredState);
    } finally {
      await context.close();
    }
  });
});
