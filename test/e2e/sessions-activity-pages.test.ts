// /account's "Where you're signed in" and "Recent activity" in real Chromium (Debian's, driven by
// playwright-core) against the real Hydra, PostgreSQL and Mailpit, in the three browser profiles of
// browser-flows.test.ts (desktop English light, phone English light, phone German dark), each page
// with every check of test/support/chromium.ts (axe-core WCAG 2.x A/AA with 0 violations, no
// horizontal scrolling at the phone size, every action reachable by Tab with a visible focus, a
// screenshot): two browsers signed in (this one marked), the other one ended (by keyboard alone in
// the desktop profile), the activity's older page. Selectors are ids and data attributes, never words.
import { startStack, type Stack } from "../support/stack";
import { createUser } from "../support/fixtures";
import { checkPage, launchChromium, newContext, tabTo, type Browser, type BrowserContext, type Page, BROWSER_PROFILES } from "../support/chromium";
import { demoConfig } from "../support/fixtures";

jest.setTimeout(180_000);

declare const document: any;
declare const window: any;

let stack: Stack;
let browser: Browser;
beforeAll(async () => {
  [stack, browser] = await Promise.all([startStack({ config: demoConfig() }), launchChromium()]);
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

const PROFILES = BROWSER_PROFILES;
const atPath = (path: string) => (u: URL) => u.pathname === path;
let counter = 0;

describe.each(PROFILES)("in Chromium: $name", (profile) => {
  const tag = profile.locale === "de-DE" ? "de-dark" : undefined;
  const de = profile.locale === "de-DE";

  async function check(page: Page, name: string): Promise<void> {
    await page.waitForLoadState("load");
    const seen = await page.evaluate(() => ({ lang: document.documentElement.lang, dark: window.matchMedia("(prefers-color-scheme: dark)").matches }));
    expect({ page: name, ...seen }).toEqual({ page: name, lang: profile.locale.slice(0, 2), dark: profile.colorScheme === "dark" });
    await checkPage(page, `sessions-${name}`, profile.viewport, { tag });
  }

  async function signedIn(user: { email: string; password: string }): Promise<{ context: BrowserContext; page: Page }> {
    const context = await newContext(browser, profile.viewport, { locale: profile.locale, colorScheme: profile.colorScheme });
    const page = await context.newPage();
    await page.goto(`${stack.appUrl}/account`);
    await page.waitForURL(atPath("/login"));
    await page.locator("#email").fill(user.email);
    await page.locator("#password").fill(user.password);
    await page.locator('#login-form button[type="submit"]').click();
    await page.waitForURL(atPath("/account"));
    return { context, page };
  }

  test(`two browsers listed, this one marked; the other ended${profile.keyboard ? " (keyboard alone)" : ""}; the activity and its older page`, async () => {
    const user = await createUser(stack.db, { email: `places-${Date.now()}-${++counter}@example.com` });
    // More events than one page holds: the activity has an older page.
    await stack.db.query(
      "INSERT INTO account_events (user_id, kind, detail, created_at) SELECT $1::uuid, 'passkey_renamed', jsonb_build_object('passkey', 'Key ' || i), now() - make_interval(days => i) FROM generate_series(1, 22) AS i",
      [user.id],
    );
    const other = await signedIn(user);
    const mine = await signedIn(user);
    try {
      const page = mine.page;
      await page.reload();
      expect(await page.locator("#places > li").count()).toBe(2);
      expect(await page.locator('#places > li[data-this-browser="true"]').count()).toBe(1);
      expect((await page.locator("#where-heading").textContent())?.trim()).toBe(de ? "Wo Sie angemeldet sind" : "Where you're signed in");
      expect((await page.locator("#places > li").first().textContent()) ?? "").toContain(de ? "Chrome unter Linux" : "Chrome on Linux");
      expect(await page.locator("#activity > li").count()).toBe(20);
      await check(page, "account");

      // The other browser's session ends.
      const end = '#places > li:not([data-this-browser]) form.end-session-form button[type="submit"]';
      if (profile.keyboard) {
        await tabTo(page, end, 200);
        await page.keyboard.press("Enter");
      } else await page.locator(end).click();
      await page.waitForURL((u) => u.searchParams.get("done") === "session-ended");
      expect(await page.locator("#notice").count()).toBe(1);
      expect(await page.locator("#places > li").count()).toBe(1);
      await check(page, "ended");

      // The other browser is signed out here and at Hydra: /account asks for a sign-in.
      await other.page.goto(`${stack.appUrl}/account`);
      await other.page.waitForURL(atPath("/login"));

      // The activity's older page.
      if (profile.keyboard) {
        await tabTo(page, "#activity-older", 200);
        await page.keyboard.press("Enter");
      } else await page.locator("#activity-older").click();
      await page.waitForURL((u) => u.searchParams.get("activity") === "2");
      expect(await page.locator("#activity > li").count()).toBeGreaterThan(0);
      expect(await page.locator("#activity-newer").count()).toBe(1);
      await check(page, "activity-older");
    } finally {
      await other.context.close();
      await mine.context.close();
    }
  });
});
