// The second factor's pages in real Chromium (Debian's, driven by playwright-core) against the real
// Hydra, PostgreSQL and Mailpit, in the three browser profiles of browser-flows.test.ts (desktop
// English light, phone English light, phone German dark), each page with every check of
// test/support/chromium.ts (axe-core WCAG 2.x A/AA with 0 violations, no horizontal scrolling at the
// phone size, every action reachable by Tab with a visible focus, a screenshot):
//   - the set-up of an authenticator in the sign-in of an audience that requires one (QR code, the
//     secret as text, the code) → the recovery codes → Continue → the client's callback;
//   - the same user at an optional audience: the code asked after the password, "Lost your phone?"
//     opened and a recovery code used → the "recovery code used" page → Continue → the callback;
//     then once more with the app's code;
//   - wrong codes and a wrong password (the error is an alert; the field it is about, and only that
//     one, is marked invalid, described by it, and has the focus);
//   - /account's second-factor section without and with a factor, its set-up page, new recovery codes.
// In the desktop profile the sign-in flows are done by keyboard alone (Tab, Enter, Space; no clicks).
// Codes are computed here from the page's #secret, as an app would. A code works once (its 30-s
// step must be later than the last one used), so each user has its own Authenticator that waits for
// the next step when it must, and each profile has its own users. Selectors are ids, never words.
import { startStack, type Stack } from "../support/stack";
import { createUser } from "../support/fixtures";
import { authorizationUrl } from "../support/oauth";
import { checkPage, launchChromium, newContext, startClientStub, tabTo, type Browser, type BrowserContext, type Page, BROWSER_PROFILES } from "../support/chromium";
import { countRows } from "../support/db";
import { TOTP_PERIOD_SECONDS, totpCode } from "../../src/services/totp";
import type { ConfigFile } from "../../src/config/audiences";

jest.setTimeout(180_000);

// The page's globals used inside page.evaluate (tsconfig has no DOM library).
declare const document: any;
declare const window: any;

let stack: Stack;
let browser: Browser;
let clientStub: Awaited<ReturnType<typeof startClientStub>>;
/** Every client's redirect URI. */
let CALLBACK: string;

beforeAll(async () => {
  clientStub = await startClientStub();
  CALLBACK = `${clientStub.origin}/callback`;
  const client = (id: string, name: string, audience: string) => ({
    id,
    name,
    audience,
    "secret-env": `${id.toUpperCase().replace(/-/g, "_")}_SECRET`,
    "redirect-uris": [CALLBACK],
    scopes: ["openid", "profile", "email"],
  });
  const config = {
    audiences: [
      { id: "vault", name: "Vault", mfa: "required" },
      { id: "demo", name: "Demo App", mfa: "optional" },
    ],
    clients: [client("vault-web", "Vault Web", "vault"), client("demo-web", "Demo Web", "demo")],
  } as unknown as ConfigFile;
  [stack, browser] = await Promise.all([startStack({ config }), launchChromium()]);
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  await clientStub?.close();
});

const PROFILES = BROWSER_PROFILES;

const PASSWORD = "lantern-orbit-saffron-93";
let counter = 0;
const newEmail = (what: string) => `factor-${what}-${Date.now()}-${++counter}@example.com`;
const atPath = (path: string) => (u: URL) => u.pathname === path;

/**
 * A user's authenticator app: the code of the current 30-s step, or of a later one when a code of
 * that step was used already (the app refuses a step that is not later than the last one). The step
 * after now is accepted too (clocks drift); a step further on is waited for.
 */
class Authenticator {
  private lastStep = -Infinity;
  constructor(readonly secret: string) {}

  async code(): Promise<string> {
    const stepNow = () => Math.floor(Date.now() / 1000 / TOTP_PERIOD_SECONDS);
    let step = Math.max(stepNow(), this.lastStep + 1);
    while (step > stepNow() + 1) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      step = Math.max(stepNow(), this.lastStep + 1);
    }
    this.lastStep = step;
    return totpCode(this.secret, step * TOTP_PERIOD_SECONDS * 1000);
  }

  /** Six digits that are no code of the steps around now. */
  wrongCode(): string {
    const near = [-2, -1, 0, 1, 2].map((d) => totpCode(this.secret, Date.now() + d * TOTP_PERIOD_SECONDS * 1000));
    return ["000000", "111111", "222222", "333333", "444444", "555555"].find((c) => !near.includes(c))!;
  }
}

/** The page's #secret as an app would read it (the page shows it in groups of four). */
async function secretOf(page: Page): Promise<string> {
  const text = (await page.locator("#secret").textContent()) ?? "";
  const secret = text.replace(/\s/g, "");
  expect(secret).toMatch(/^[A-Z2-7]{32}$/);
  return secret;
}

/** Opens a client's authorization request; resolves once the first page of the app is there. */
async function startFlow(page: Page, clientId: string): Promise<string> {
  const state = `state-${Date.now()}-${++counter}`;
  await page.goto(authorizationUrl(stack, { clientId, redirectUri: CALLBACK, scope: "openid profile email", state, nonce: `nonce-${Date.now()}-${counter}` }));
  return state;
}

/** Waits for the client's callback and returns its code (state checked). */
async function callbackCode(page: Page, state: string): Promise<string> {
  await page.waitForURL((u) => u.href.startsWith(CALLBACK));
  const params = new URL(page.url());
  expect(params.searchParams.get("state")).toBe(state);
  return params.searchParams.get("code")!;
}

/** The page's error as a screen reader meets it: an alert, the field marked invalid and described by it, and the focus on the field. */
async function expectFieldError(page: Page, field: string): Promise<void> {
  await page.waitForLoadState("load"); // after the page's script (it wraps password fields)
  expect(await page.locator("#error").getAttribute("role")).toBe("alert");
  expect(((await page.locator("#error").textContent()) ?? "").trim()).not.toBe("");
  expect(await page.locator(field).getAttribute("aria-invalid")).toBe("true");
  expect((await page.locator(field).getAttribute("aria-describedby"))?.split(" ")).toContain("error");
  expect(await page.evaluate(() => (document.activeElement ? `#${document.activeElement.id}` : null))).toBe(field);
}

describe.each(PROFILES)("in Chromium: $name", (profile) => {
  const tag = profile.locale === "de-DE" ? "de-dark" : undefined;

  async function freshContext(): Promise<{ context: BrowserContext; page: Page }> {
    const context = await newContext(browser, profile.viewport, { locale: profile.locale, colorScheme: profile.colorScheme });
    return { context, page: await context.newPage() };
  }

  /** The browser closed and opened again: only cookies with an expiry are left (an unticked sign-in ended with it). */
  async function reopen(context: BrowserContext): Promise<{ context: BrowserContext; page: Page }> {
    const kept = (await context.cookies()).filter((c) => c.expires !== -1);
    await context.close();
    const next = await freshContext();
    await next.context.addCookies(kept);
    return next;
  }

  /** Every check of the profile on the page in front of it (screenshot <name>-<viewport>[-de-dark]). */
  async function check(page: Page, name: string): Promise<void> {
    await page.waitForLoadState("load");
    const seen = await page.evaluate(() => ({ lang: document.documentElement.lang, dark: window.matchMedia("(prefers-color-scheme: dark)").matches }));
    expect({ page: name, ...seen }).toEqual({ page: name, lang: profile.locale.slice(0, 2), dark: profile.colorScheme === "dark" });
    await checkPage(page, `factor-${name}`, profile.viewport, { tag });
  }

  // In the keyboard profile the sign-in flows use the keyboard alone: Tab to the field or button
  // (from wherever the focus is; a field that has it already, by autofocus, is typed into), then
  // type, or Enter. Elsewhere, fill and click.
  const focused = (page: Page, selector: string) => page.evaluate((selector) => Boolean(document.activeElement?.matches(selector)), selector);
  async function typeInto(page: Page, selector: string, text: string, keyboard = profile.keyboard): Promise<void> {
    if (!keyboard) return page.locator(selector).fill(text);
    if (!(await focused(page, selector))) await tabTo(page, selector);
    expect(await page.locator(selector).inputValue()).toBe("");
    await page.keyboard.type(text);
  }
  async function activate(page: Page, selector: string, keyboard = profile.keyboard): Promise<void> {
    if (!keyboard) return page.locator(selector).click();
    if (!(await focused(page, selector))) await tabTo(page, selector);
    await page.keyboard.press("Enter");
  }
  async function signIn(page: Page, user: { email: string; password: string }, keyboard = profile.keyboard): Promise<void> {
    await typeInto(page, "#email", user.email, keyboard);
    await typeInto(page, "#password", user.password, keyboard);
    await activate(page, '#login-form button[type="submit"]', keyboard);
  }
  /** Consent (when asked: the first time at a client), then the client's callback. */
  async function allowAndReturn(page: Page, state: string): Promise<string> {
    await page.waitForURL((u) => u.pathname === "/consent" || u.href.startsWith(CALLBACK));
    if (new URL(page.url()).pathname === "/consent") await activate(page, '#consent-form button[value="allow"]');
    return callbackCode(page, state);
  }

  test(`sign-in where two factors are required: set-up → recovery codes → the client; then an optional audience: the code, a wrong code, a recovery code → "used" → the client; then the app's code${profile.keyboard ? " (keyboard alone)" : ""}`, async () => {
    let { context, page } = await freshContext();
    try {
      const user = await createUser(stack.db, { email: newEmail("signin"), password: PASSWORD });

      // (a) The audience requires a second factor and the user has none: the set-up after the password.
      const state = await startFlow(page, "vault-web");
      await page.waitForURL(atPath("/login"));
      await signIn(page, user);
      await page.locator("#setup-form").waitFor();
      expect(await page.locator("#required").count()).toBe(1);
      expect(await page.locator(".qr svg").count()).toBe(1);
      expect(await page.locator("#password").count()).toBe(0); // the password was just typed
      const app = new Authenticator(await secretOf(page));
      await check(page, "setup-sign-in");

      // A wrong code: the same secret again, with the error.
      await typeInto(page, "#code", app.wrongCode());
      await activate(page, '#setup-form button[type="submit"]');
      await page.locator("#error").waitFor();
      await expectFieldError(page, "#code");
      expect(await secretOf(page)).toBe(app.secret);
      await check(page, "setup-sign-in-wrong-code");

      await typeInto(page, "#code", await app.code());
      await activate(page, '#setup-form button[type="submit"]');
      await page.locator("#codes").waitFor();
      const codes = await page.locator("#codes code").allTextContents();
      expect(codes).toHaveLength(10);
      expect(await page.locator("#continue-form").count()).toBe(1);
      await check(page, "recovery-codes-sign-in");
      await activate(page, '#continue-form button[type="submit"]');
      expect(await allowAndReturn(page, state)).toBeTruthy();
      expect(await countRows(stack.db, "recovery_codes", { userId: user.id })).toBe(10);

      // (b) An optional audience, after the browser was closed (the unticked sign-in ended with it):
      // the password, then the code is asked.
      ({ context, page } = await reopen(context));
      const state2 = await startFlow(page, "demo-web");
      await page.waitForURL(atPath("/login"));
      await signIn(page, user);
      await page.locator("#code-form").waitFor();
      expect(await page.locator("#recovery").getAttribute("open")).toBeNull();
      expect(await page.evaluate(() => document.activeElement?.id)).toBe("code");
      await check(page, "ask");

      // (c) A wrong code.
      await typeInto(page, "#code", app.wrongCode());
      await activate(page, '#code-form button[type="submit"]');
      await page.locator("#error").waitFor();
      await expectFieldError(page, "#code");
      expect(await page.locator("#recovery").getAttribute("open")).toBeNull();
      await check(page, "ask-wrong-code");

      // "Lost your phone?": the recovery code form.
      await activate(page, "#recovery summary");
      await page.locator("#recovery-code").waitFor({ state: "visible" });
      await check(page, "ask-recovery");
      // A wrong recovery code: the form stays open, its field marked.
      await typeInto(page, "#recovery-code", "aaaa-bbbb-cccc-dddd");
      await activate(page, '#recovery-form button[type="submit"]');
      await page.locator("#error").waitFor();
      expect(await page.locator("#recovery").getAttribute("open")).not.toBeNull();
      await expectFieldError(page, "#recovery-code");
      await check(page, "ask-wrong-recovery-code");

      await typeInto(page, "#recovery-code", codes[0]!);
      await activate(page, '#recovery-form button[type="submit"]');
      await page.locator("#notice").waitFor();
      expect(await page.locator("#continue-form").count()).toBe(1);
      await check(page, "recovery-code-used");
      await activate(page, '#continue-form button[type="submit"]');
      expect(await allowAndReturn(page, state2)).toBeTruthy();
      expect(new URL(page.url()).pathname).toBe("/callback");
      const used = await stack.db.query("SELECT count(*)::int AS n FROM recovery_codes WHERE user_id = $1::uuid AND used_at IS NOT NULL", [user.id]);
      expect(used.rows[0].n).toBe(1);

      // And with the app's code (the second of this user: of the step after the set-up's), the
      // browser closed once more.
      ({ context, page } = await reopen(context));
      const state3 = await startFlow(page, "demo-web");
      await page.waitForURL(atPath("/login"));
      await signIn(page, user);
      await page.locator("#code-form").waitFor();
      await typeInto(page, "#code", await app.code());
      await activate(page, '#code-form button[type="submit"]');
      expect(await allowAndReturn(page, state3)).toBeTruthy();
    } finally {
      await context.close();
    }
  });

  test("/account: the second factor section without one → its set-up (a wrong password, a wrong code, then both right) → recovery codes → the section with one → new recovery codes → removed", async () => {
    const { context, page } = await freshContext();
    try {
      const user = await createUser(stack.db, { email: newEmail("account"), password: PASSWORD });
      await page.goto(`${stack.appUrl}/account`);
      await page.waitForURL(atPath("/login"));
      await signIn(page, user, false);
      await page.waitForURL(atPath("/account"));
      expect(await page.locator("#add-factor-form").count()).toBe(1);
      expect(await page.locator("#codes-form").count()).toBe(0);
      await check(page, "account-without");

      await page.locator('#add-factor-form button[type="submit"]').click();
      await page.locator("#setup-form").waitFor();
      expect(await page.locator("#required").count()).toBe(0);
      expect(await page.locator(".qr svg").count()).toBe(1);
      expect(await page.locator("#password").count()).toBe(1);
      const app = new Authenticator(await secretOf(page));
      await check(page, "setup-account");

      // A wrong password: the error is about the password field.
      await page.locator("#password").fill("not the password");
      await page.locator("#code").fill(app.wrongCode());
      await page.locator('#setup-form button[type="submit"]').click();
      await page.locator("#error").waitFor();
      await expectFieldError(page, "#password");
      expect(await page.locator("#code").getAttribute("aria-invalid")).toBeNull();
      expect(await secretOf(page)).toBe(app.secret);

      // The right password and a wrong code: the error is about the code.
      await page.locator("#password").fill(user.password);
      await page.locator("#code").fill(app.wrongCode());
      await page.locator('#setup-form button[type="submit"]').click();
      await page.locator("#error").waitFor();
      await expectFieldError(page, "#code");
      expect(await page.locator("#password").getAttribute("aria-invalid")).toBeNull();
      expect(await secretOf(page)).toBe(app.secret);
      await check(page, "setup-account-wrong-code");

      await page.locator("#password").fill(user.password);
      await page.locator("#code").fill(await app.code());
      await page.locator('#setup-form button[type="submit"]').click();
      await page.locator("#codes").waitFor();
      expect(await page.locator("#codes code").count()).toBe(10);
      expect(await page.locator("#continue").count()).toBe(1);
      await check(page, "recovery-codes-account");

      await page.locator("#continue").click();
      await page.waitForURL((u) => u.pathname === "/account" && u.searchParams.get("done") === "factor-added");
      expect(await page.locator("#notice").count()).toBe(1);
      expect(await page.locator("#codes-form").count()).toBe(1);
      expect(await page.locator("#remove-factor-form").count()).toBe(1);
      expect(await page.locator("#add-factor-form").count()).toBe(0);
      await check(page, "account-with");

      await page.locator("#codes-password").fill(user.password);
      await page.locator('#codes-form button[type="submit"]').click();
      await page.locator("#codes").waitFor();
      expect(await page.locator("#notice").count()).toBe(1);
      await check(page, "recovery-codes-replaced");
      await page.locator("#continue").click();
      await page.waitForURL(atPath("/account"));

      await page.locator("#remove-factor-password").fill(user.password);
      await page.locator('#remove-factor-form button[type="submit"]').click();
      await page.waitForURL((u) => u.pathname === "/account" && u.searchParams.get("done") === "factor-removed");
      expect(await page.locator("#add-factor-form").count()).toBe(1);
      expect(await countRows(stack.db, "totp_factors", { userId: user.id })).toBe(0);
    } finally {
      await context.close();
    }
  });
});
