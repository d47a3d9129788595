// Every flow of the app in real Chromium (Debian's, driven by playwright-core) against the
// real Hydra, PostgreSQL and Mailpit. The same flows run in three browser profiles:
//   desktop, English, light   + the README's screenshots
//   phone,   English, light
//   phone,   German,  dark    (Accept-Language: de-DE, prefers-color-scheme: dark)
// so that every page gets every check at both sizes, in both languages and in both colour schemes.
// The checks (test/support/chromium.ts): axe-core WCAG 2.0/2.1/2.2 A/AA with 0 violations, no
// horizontal scrolling at the phone size, every action reachable by Tab with a visible focus, and a
// full-page screenshot in test-artifacts/screenshots/. Sign-in + consent is also done by keyboard
// alone. Selectors are ids and form values, never words, so the flows run in either language.
// The clients' redirect URI is a tiny server of this file (startClientStub), where every flow ends.
// The profiles' flows run concurrently, three at a time (BROWSER_CONCURRENCY), each in its own
// browser context with its own users and addresses; BROWSER_TIMINGS=1 prints where the time went.
import { startStack, type Stack } from "../support/stack";
import { createUser } from "../support/fixtures";
import { authorizationUrl, exchangeCode } from "../support/oauth";
import { createStore, type Store } from "../../src/services/store";
import {
  checkA11y,
  checkKeyboard,
  checkNoHorizontalScroll,
  checkPage,
  checkTimings,
  docsScreenshots,
  launchChromium,
  newContext,
  startClientStub,
  tabTo,
  type Browser,
  type BrowserContext,
  type ColorScheme,
  type Page,
  type ViewportName,
} from "../support/chromium";
import { countRows } from "../support/db";

jest.setTimeout(120_000);

// The page's globals used inside page.evaluate (tsconfig has no DOM library).
declare const document: any;
declare const window: any;

const client = (id: string, name: string, audience: string, scopes: string[], extra: Record<string, unknown> = {}) => ({
  id,
  name,
  audience,
  "secret-env": `${id.toUpperCase().replace(/-/g, "_")}_SECRET`,
  "redirect-uris": [CALLBACK],
  scopes,
  ...extra,
});

let stack: Stack;
let store: Store;
let browser: Browser;
let clientStub: Awaited<ReturnType<typeof startClientStub>>;
/** Every client's redirect URI. */
let CALLBACK: string;
const suiteStart = Date.now();

beforeAll(async () => {
  clientStub = await startClientStub();
  CALLBACK = `${clientStub.origin}/callback`;
  [stack, browser] = await Promise.all([
    startStack({
      config: {
        audiences: [
          { id: "demo", name: "Demo App" }, // open: anyone signs up
          { id: "invite", name: "Invite App", "sign-up-enabled": false, "invitation-enabled": true, "start-url": "https://invite.example.org/start" },
          { id: "mixed", name: "Mixed App", "sign-up-enabled": true, "invitation-enabled": true },
        ],
        scopes: [{ name: "notes.read", description: { en: "Read your notes in Demo App", de: "Ihre Notizen in Demo App lesen" }, audience: "demo" }],
        clients: [
          client("demo-web", "Demo Web", "demo", ["openid", "profile", "email", "offline_access", "notes.read"], {
            "logo-uri": "/static/favicon.svg",
            "policy-uri": "https://demo.example.org/privacy",
            "tos-uri": "https://demo.example.org/terms",
          }),
          client("invite-web", "Invite Web", "invite", ["openid", "profile", "email"]),
          client("mixed-web", "Mixed Web", "mixed", ["openid", "profile", "email"]),
        ],
      },
      appEnv: { REGISTRATION_MAX_PER_IP: "1000", RECOVERY_MAX_PER_IP: "1000" },
    }),
    launchChromium(),
  ]);
  store = createStore({ pool: stack.db });
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  await clientStub?.close();
  if (process.env.BROWSER_TIMINGS) console.log(`browser suite: ${Math.round((Date.now() - suiteStart) / 1000)} s; checks (ms): ${JSON.stringify(checkTimings)}`);
});

interface Profile {
  name: string;
  viewport: ViewportName;
  locale: "en-US" | "de-DE";
  colorScheme: ColorScheme;
  /** Writes the README's screenshots (docs/screenshots/), with fixed names and addresses. */
  docs: boolean;
}
const PROFILES: Profile[] = [
  { name: "desktop, English, light", viewport: "desktop", locale: "en-US", colorScheme: "light", docs: true },
  { name: "phone, English, light", viewport: "phone", locale: "en-US", colorScheme: "light", docs: false },
  { name: "phone, German, dark", viewport: "phone", locale: "de-DE", colorScheme: "dark", docs: false },
];

const PASSWORD = "lantern-orbit-saffron-93";
const NEW_PASSWORD = "quartz-meadow-violin-47";
let counter = 0;
const newEmail = (what: string) => `browser-${what}-${Date.now()}-${++counter}@example.com`;
const pathOf = (page: Page) => new URL(page.url()).pathname;
const atPath = (path: string) => (u: URL) => u.pathname === path;

/** A fresh context (own cookies) at the viewport, in the language and colour scheme. */
async function freshContext(viewport: ViewportName, opts: { locale?: string; colorScheme?: ColorScheme } = {}): Promise<{ context: BrowserContext; page: Page }> {
  const context = await newContext(browser, viewport, opts);
  return { context, page: await context.newPage() };
}

/** Opens a client's authorization request; resolves once the first page of the app is there. */
async function startFlow(page: Page, opts: { clientId?: string; scope?: string } = {}): Promise<string> {
  const state = `state-${Date.now()}-${++counter}`;
  await page.goto(authorizationUrl(stack, { clientId: opts.clientId ?? "demo-web", redirectUri: CALLBACK, scope: opts.scope ?? "openid profile email", state, nonce: `nonce-${Date.now()}-${counter}` }));
  return state;
}

/** Waits for the client's callback and returns its query (state checked). */
async function callback(page: Page, state: string): Promise<URLSearchParams> {
  await page.waitForURL((u) => u.href.startsWith(CALLBACK));
  const params = new URL(page.url()).searchParams;
  expect(params.get("state")).toBe(state);
  return params;
}

async function signIn(page: Page, user: { email: string; password: string }, opts: { remember?: boolean } = {}) {
  await page.locator("#email").fill(user.email);
  await page.locator("#password").fill(user.password);
  if (opts.remember) await page.locator('#login-form input[name="remember"]').check();
  await page.locator('#login-form button[type="submit"]').click();
}

const allow = (page: Page) => page.locator('#consent-form button[value="allow"]').click();
const scopesOf = (page: Page, kind: "new" | "granted") => page.locator(`#scopes li.${kind}`).evaluateAll((lis) => lis.map((li) => (li as unknown as { dataset: { scope: string } }).dataset.scope).sort());

/** The newest mail to `to` (any language) and its first link whose path is `path`. */
async function mailLink(to: string, path: string): Promise<string> {
  const mail = await stack.mailpit!.waitForMessage({ to });
  const link = stack.mailpit!.links(mail).find((l) => new URL(l).pathname === path);
  if (!link) throw new Error(`no ${path} link in the mail to ${to}:\n${mail.text}`);
  return link;
}
async function mailCode(to: string): Promise<string> {
  const mail = await stack.mailpit!.waitForMessage({ to });
  return /\b(\d{6})\b/.exec(mail.text)![1]!;
}

/** At most `n` at once (the profiles' flows run concurrently: most of a flow is waiting on the stack). */
function limiter(n: number) {
  let active = 0;
  const queue: (() => void)[] = [];
  return async <T>(run: () => Promise<T>): Promise<T> => {
    if (active >= n) await new Promise<void>((resolve) => queue.push(resolve));
    else active++;
    try {
      return await run();
    } finally {
      const next = queue.shift();
      if (next) next();
      else active--;
    }
  };
}
const slot = limiter(Number(process.env.BROWSER_CONCURRENCY ?? 3));

describe.each(PROFILES)("in Chromium: $name", (profile) => {
  const tag = profile.locale === "de-DE" ? "de-dark" : undefined;
  interface Run {
    context: BrowserContext;
    page: Page;
    /** Every check the profile makes on the page in front of it (`page` unless another is given). */
    check(name: string, p?: Page): Promise<void>;
  }
  /**
   * One flow in this profile, in a fresh context (its own cookies). Concurrent with the other flows
   * (test.concurrent runs no beforeEach/afterEach: the context is made and closed here).
   */
  const flow = (title: string, body: (run: Run) => Promise<void>) =>
    test.concurrent(title, () =>
      slot(async () => {
        const { context, page } = await freshContext(profile.viewport, { locale: profile.locale, colorScheme: profile.colorScheme });
        const check = async (name: string, p: Page = page) => {
          await p.waitForLoadState("load");
          const seen = await p.evaluate(() => ({ lang: document.documentElement.lang, dark: window.matchMedia("(prefers-color-scheme: dark)").matches }));
          expect({ page: name, ...seen }).toEqual({ page: name, lang: profile.locale.slice(0, 2), dark: profile.colorScheme === "dark" });
          await checkPage(p, name, profile.viewport, { tag });
        };
        try {
          await body({ context, page, check });
        } finally {
          await context.close();
        }
      }),
    );
  /** A user; the profile that writes the README's pictures gets the same address every run. */
  const user = (docsEmail: string, name = "Ada Lovelace") => createUser(stack.db, { email: profile.docs ? docsEmail : newEmail("user"), name, password: PASSWORD });

  flow("sign-in → consent → allow → code; the replayed sign-in step (410); more scopes → the granted ones marked; 'Not you?' → a fresh sign-in as someone else", async ({ page, check }) => {
    const ada = await user("ada@example.com");
    const state = await startFlow(page, { scope: "openid profile" });
    await page.waitForURL(atPath("/login"));
    const loginUrl = page.url();
    await check("sign-in");
    if (profile.docs) await docsScreenshots(page, "sign-in");

    await signIn(page, ada);
    await page.waitForURL(atPath("/consent"));
    expect(await scopesOf(page, "new")).toEqual(["openid", "profile"]);
    expect(await scopesOf(page, "granted")).toEqual([]);
    await check("consent");
    await allow(page);
    const tokens = await exchangeCode(stack, { clientId: "demo-web", secret: stack.secrets.DEMO_WEB_SECRET!, code: (await callback(page, state)).get("code")!, redirectUri: CALLBACK });
    expect(tokens.scope.split(" ").sort()).toEqual(["openid", "profile"]);

    // The sign-in step again (back button, an old tab): answered already.
    const replay = await page.goto(loginUrl);
    expect(replay?.status()).toBe(410);
    await check("error-410");

    // Incremental consent: the second request asks for more; what was granted is marked. Signed in
    // without "stay signed in", the browser is remembered until it closes: no password on the way.
    const state2 = await startFlow(page, { scope: "openid profile email notes.read offline_access" });
    await page.waitForURL(atPath("/consent"));
    expect(await scopesOf(page, "granted")).toEqual(["openid", "profile"]);
    expect(await scopesOf(page, "new")).toEqual(["email", "notes.read", "offline_access"]);
    expect(await page.locator("#offline-note").count()).toBe(1);
    await check("consent-more-scopes");
    if (profile.docs) await docsScreenshots(page, "consent", { height: 1080 });

    // "Not you? Use another account": a fresh sign-in for the same request, then this person's consent.
    await page.locator("#not-you").click();
    await page.waitForURL(atPath("/login"));
    expect(await page.locator("#login-form").count()).toBe(1);
    const grace = await createUser(stack.db, { email: newEmail("grace"), name: "Grace Hopper", password: PASSWORD });
    await signIn(page, grace);
    await page.waitForURL(atPath("/consent"));
    expect(await page.locator("#account").textContent()).toContain(grace.email);
    expect(await scopesOf(page, "granted")).toEqual([]);
    await allow(page);
    expect((await callback(page, state2)).get("code")).toBeTruthy();
  });

  flow("sign-up (open) → check your inbox → the link from the mail (another browser) → confirm → confirmed → continue → consent → code", async ({ page, check }) => {
    const email = newEmail("signup");
    const state = await startFlow(page);
    await page.waitForURL(atPath("/login"));
    await page.locator("#sign-up a").click();
    await page.waitForURL(atPath("/registration"));
    expect(await page.locator("#invitation").count()).toBe(0);
    await check("sign-up");

    await page.locator("#name").fill("Vera Browser");
    await page.locator("#email").fill(email);
    await page.locator("#password").fill(PASSWORD);
    await page.locator('#registration-form button[type="submit"]').click();
    await page.locator("#code-form").waitFor();
    await check("check-inbox");

    // The link from the mail, opened on another device (in this browser the flow would go on from
    // the confirmation itself: demo-walkthrough.test.ts).
    const other = await freshContext(profile.viewport, { locale: profile.locale, colorScheme: profile.colorScheme });
    try {
      const mailTab = other.page;
      await mailTab.goto(await mailLink(email, "/verification"));
      await check("verify-confirm", mailTab);
      await mailTab.locator('#verify-form button[type="submit"]').click();
      await mailTab.locator("#message").waitFor();
      await check("verified", mailTab);
    } finally {
      await other.context.close();
    }

    await page.locator('#continue-form button[type="submit"]').click();
    await page.waitForURL(atPath("/consent"));
    await allow(page);
    expect((await callback(page, state)).get("code")).toBeTruthy();
  });

  flow("sign-up (invitation only): the invitation link → the flow → the sign-up form with the code → the code from the mail → consent → code", async ({ page, check }) => {
    const { code } = await store.createInvitation("invite", null, new Date(Date.now() + 3_600_000));
    const landing = await page.goto(`${stack.appUrl}/invitation?code=${code}`);
    expect(landing?.status()).toBe(200);
    await check("invitation");

    const email = newEmail("invited");
    const state = await startFlow(page, { clientId: "invite-web" });
    await page.waitForURL(atPath("/login"));
    await page.locator("#sign-up a").click();
    await page.waitForURL(atPath("/registration"));
    expect(await page.locator("#invitation").inputValue()).toBe(code);
    expect(await page.locator("#invitation").getAttribute("required")).not.toBeNull();
    await check("sign-up-invitation-only");

    await page.locator("#name").fill("Ivo Invited");
    await page.locator("#email").fill(email);
    await page.locator("#password").fill(PASSWORD);
    await page.locator('#registration-form button[type="submit"]').click();
    await page.locator("#code-form").waitFor();
    await page.locator("#code").fill(await mailCode(email));
    await page.locator('#code-form button[type="submit"]').click();
    await page.waitForURL(atPath("/consent"));
    await allow(page);
    expect((await callback(page, state)).get("code")).toBeTruthy();
  });

  flow("sign-up (open + invitations): the optional invitation field; an invitation for the address confirms it at once → consent", async ({ page, check }) => {
    const email = newEmail("mixed");
    const { code } = await store.createInvitation("mixed", email, new Date(Date.now() + 3_600_000));
    const state = await startFlow(page, { clientId: "mixed-web" });
    await page.waitForURL(atPath("/login"));
    await page.locator("#sign-up a").click();
    await page.waitForURL(atPath("/registration"));
    expect(await page.locator("#invitation").getAttribute("required")).toBeNull();
    await check("sign-up-open-invitations");

    await page.locator("#name").fill("Mia Mixed");
    await page.locator("#email").fill(email);
    await page.locator("#password").fill(PASSWORD);
    await page.locator("#invitation").fill(code);
    await page.locator('#registration-form button[type="submit"]').click();
    await page.waitForURL(atPath("/consent"));
    await allow(page);
    expect((await callback(page, state)).get("code")).toBeTruthy();
  });

  flow("denial at consent → the callback gets access_denied, nothing stored", async ({ page, check }) => {
    const someone = await createUser(stack.db, { email: newEmail("deny"), password: PASSWORD });
    const state = await startFlow(page);
    await page.waitForURL(atPath("/login"));
    await signIn(page, someone);
    await page.waitForURL(atPath("/consent"));
    await page.locator('#consent-form button[value="deny"]').click();
    const params = await callback(page, state);
    expect(params.get("error")).toBe("access_denied");
    expect(params.get("code")).toBeNull();
    expect(await countRows(stack.db, "consents", { userId: someone.id })).toBe(0);
  });

  flow("recovery: forgot password → the sent page → the link from the mail → the reset page → new password → the flow continues, signed in", async ({ page, check }) => {
    const someone = await createUser(stack.db, { email: newEmail("recover"), password: PASSWORD });
    const state = await startFlow(page);
    await page.waitForURL(atPath("/login"));
    const challenge = new URL(page.url()).searchParams.get("login_challenge");
    await page.locator("#forgot a").click();
    await page.waitForURL(atPath("/recovery"));
    await check("recovery");

    await page.locator("#email").fill(someone.email);
    await page.locator('#recovery-form button[type="submit"]').click();
    await page.locator("#message").waitFor();
    const back = new URL((await page.locator("#back-to-sign-in a").getAttribute("href"))!, stack.appUrl);
    expect({ path: back.pathname, challenge: back.searchParams.get("login_challenge") }).toEqual({ path: "/login", challenge });
    await check("recovery-sent");

    await page.goto(await mailLink(someone.email, "/recovery/reset"));
    await check("recovery-reset");
    await page.locator("#password").fill(NEW_PASSWORD);
    await page.locator('#reset-form button[type="submit"]').click();
    await page.waitForURL(atPath("/consent"));
    await allow(page);
    expect((await callback(page, state)).get("code")).toBeTruthy();
  });

  flow("/account: its own sign-in, the consents, revoking (the confirmation page), then signing out", async ({ page, check }) => {
    const grace = await user("grace@example.com", "Grace Hopper");
    const state = await startFlow(page, { scope: "openid profile notes.read" });
    await page.waitForURL(atPath("/login"));
    await signIn(page, grace);
    await page.waitForURL(atPath("/consent"));
    await allow(page);
    await callback(page, state);

    // /account's own authorization request: the sign-in above (unticked) is remembered until the
    // browser closes and is recent (max_age), so no password is asked.
    await page.goto(`${stack.appUrl}/account`);
    await page.waitForURL(atPath("/account"));
    expect(await page.locator("#signed-in-as").textContent()).toBe(grace.email);
    const consent = page.locator('section.consent[data-audience="demo"]');
    expect(await consent.locator(".scopes li").evaluateAll((lis) => lis.map((li) => (li as unknown as { dataset: { scope: string } }).dataset.scope).sort())).toEqual(["notes.read", "openid", "profile"]);
    await check("account");
    if (profile.docs) await docsScreenshots(page, "account");

    await consent.locator(".revoke-form button").click();
    await page.waitForURL(atPath("/account/consents/revoke"));
    expect(new URL(page.url()).searchParams.get("audience")).toBe("demo");
    await check("revoke-confirm");
    await page.locator('#revoke-form button[type="submit"]').click();
    await page.waitForURL((u) => u.pathname === "/account" && u.searchParams.get("revoked") === "demo");
    expect(await page.locator('section.consent[data-audience="demo"]').count()).toBe(0);
    expect(await page.locator("#notice").count()).toBe(1);
    await checkA11y(page, "account after revoking");
    expect(await countRows(stack.db, "consents", { userId: grace.id })).toBe(0);

    await page.locator('#sign-out-form button[type="submit"]').click();
    await page.waitForURL(atPath("/signed-out"));
  });

  flow("logout through Hydra's end-session endpoint → the confirm page → signed out → the next request asks for the password", async ({ page, check }) => {
    const someone = await createUser(stack.db, { email: newEmail("logout"), password: PASSWORD });
    const state = await startFlow(page);
    await page.waitForURL(atPath("/login"));
    await signIn(page, someone, { remember: true });
    await page.waitForURL(atPath("/consent"));
    await allow(page);
    const code = (await callback(page, state)).get("code")!;
    const tokens = await exchangeCode(stack, { clientId: "demo-web", secret: stack.secrets.DEMO_WEB_SECRET!, code, redirectUri: CALLBACK });

    await page.goto(`${stack.hydraPublicUrl}/oauth2/sessions/logout?id_token_hint=${tokens.id_token}`);
    await page.waitForURL(atPath("/logout"));
    await check("logout");
    await page.locator('#logout-form button[value="logout"]').click();
    await page.waitForURL(atPath("/signed-out"));
    await check("signed-out");

    // Hydra forgot the browser: a new request asks for the password again.
    await startFlow(page);
    await page.waitForURL(atPath("/login"));
    expect(await page.locator("#login-form").count()).toBe(1);
  });

  flow("error pages: Hydra's error (invalid_client), an unknown page (404), the start page", async ({ page, check }) => {
    const oauthError = await page.goto(`${stack.appUrl}/error?error=invalid_client&error_description=${encodeURIComponent("Client authentication failed.")}`);
    expect(oauthError?.status()).toBe(400);
    expect(await page.locator("#details code").textContent()).toBe("invalid_client");
    await check("error-oauth");

    const missing = await page.goto(`${stack.appUrl}/no-such-page`);
    expect(missing?.status()).toBe(404);
    await check("error-404");

    await page.goto(`${stack.appUrl}/`);
    await check("home");
  });
});

test("keyboard alone (Tab, Enter, Space; no clicks): sign-in → consent → allow → the callback gets a code", async () => {
  const { context, page } = await freshContext("desktop");
  try {
    const someone = await createUser(stack.db, { email: newEmail("keyboard"), password: PASSWORD });
    const state = await startFlow(page);
    await page.waitForURL(atPath("/login"));
    // From the start of the page, not from the autofocus.
    await page.evaluate(() => document.activeElement?.blur());
    await tabTo(page, "#email");
    await page.keyboard.type(someone.email);
    await tabTo(page, "#password", 1);
    await page.keyboard.type(someone.password);
    await tabTo(page, '#login-form button[type="submit"]');
    await page.keyboard.press("Enter");
    await page.waitForURL(atPath("/consent"));

    await tabTo(page, '#consent-form button[value="allow"]');
    await page.keyboard.press("Space");
    expect((await callback(page, state)).get("code")).toBeTruthy();
    expect(pathOf(page)).toBe("/callback");
  } finally {
    await context.close();
  }
});

test("README pictures in German: the sign-in page, light and dark", async () => {
  const { context, page } = await freshContext("desktop", { locale: "de-DE" });
  try {
    await startFlow(page);
    await page.waitForURL(atPath("/login"));
    expect(await page.locator("html").getAttribute("lang")).toBe("de");
    await docsScreenshots(page, "sign-in-de");
  } finally {
    await context.close();
  }
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
    await expect(tabTo(page, "#no-ring")).rejects.toThrow(/without a visible focus/);
  } finally {
    await context.close();
  }
});
