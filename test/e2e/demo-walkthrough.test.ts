// What a newcomer trying the demo sees, in real Chromium against the real Hydra, PostgreSQL and
// Mailpit: the demo client of `npm run dev` (scripts/demo-client.ts, on a free port) → sign-up →
// "check your inbox" → the mail's link opened in another tab of the same browser → Confirm → the
// sign-in goes on in that tab → consent → the demo client's token page. Every response the browser
// gets is recorded (none may be a 4xx or 5xx), and the demo client's pages wear the app's stylesheet,
// pass axe and fit a phone's width.
import type { Server } from "node:http";
import { startStack, freePort, type Stack } from "../support/stack";
import { createUser } from "../support/fixtures";
import { checkPage, launchChromium, newContext, type Browser, type BrowserContext, type Page, type ViewportName } from "../support/chromium";
import { createDemoClient } from "../../scripts/demo-client";

jest.setTimeout(120_000);

// The page's globals used inside page.evaluate (tsconfig has no DOM library).
declare const document: any;
declare function getComputedStyle(el: unknown): any;

const SCOPES = ["openid", "profile", "email", "offline_access", "demo.read"];
const PASSWORD = "lantern-orbit-saffron-93";

let stack: Stack;
let browser: Browser;
let demo: Server;
/** The demo client's address (its redirect URI is DEMO/callback). */
let DEMO: string;

beforeAll(async () => {
  const port = await freePort();
  DEMO = `http://127.0.0.1:${port}`;
  const client = (id: string, extra: Record<string, unknown>) => ({
    id,
    name: id,
    audience: "demo",
    "redirect-uris": [`${DEMO}/callback`],
    "post-logout-redirect-uris": [`${DEMO}/`],
    scopes: SCOPES,
    ...extra,
  });
  [stack, browser] = await Promise.all([
    startStack({
      config: {
        audiences: [{ id: "demo", name: "Demo App" }],
        scopes: [{ name: "demo.read", description: "Read your data in the demo app", audience: "demo" }],
        clients: [client("demo-web", { "secret-env": "DEMO_WEB_SECRET" }), client("demo-mobile", {})],
      },
    }),
    launchChromium(),
  ]);
  const app = createDemoClient({ baseUrl: DEMO, hydraPublicUrl: stack.hydraPublicUrl, hydraAdminUrl: stack.hydraAdminUrl, webSecret: stack.secrets.DEMO_WEB_SECRET });
  demo = await new Promise<Server>((resolve, reject) => {
    const server = app.listen(port, "127.0.0.1", () => resolve(server));
    server.once("error", reject);
  });
});
afterAll(async () => {
  await browser?.close();
  if (demo) {
    demo.closeAllConnections();
    await new Promise((resolve) => demo.close(resolve));
  }
  await stack?.stop();
});

const atPath = (path: string) => (u: URL) => u.pathname === path;
let counter = 0;
const newEmail = () => `demo-walk-${Date.now()}-${++counter}@example.com`;

/** A fresh context that records every response that is not a success or a redirect. */
async function recordingContext(viewport: ViewportName): Promise<{ context: BrowserContext; page: Page; failed: string[] }> {
  const context = await newContext(browser, viewport);
  const failed: string[] = [];
  context.on("response", (r) => {
    if (r.status() >= 400) failed.push(`${r.status()} ${r.request().method()} ${r.url()}`);
  });
  return { context, page: await context.newPage(), failed };
}

/**
 * A page of the demo client: the app's look (its stylesheet's card and button colour, loaded from the
 * demo client itself), and the checks of the app's pages (axe, no sideways scrolling on a phone, Tab).
 */
async function checkDemoPage(page: Page, name: string, viewport: ViewportName) {
  expect(page.url().startsWith(`${DEMO}/`)).toBe(true);
  await page.waitForLoadState("load");
  const look = await page.evaluate(() => {
    const main = document.querySelector("main");
    return {
      card: main ? getComputedStyle(main).boxShadow !== "none" : false,
      button: getComputedStyle(document.querySelector("a.button")).backgroundColor,
      stylesheets: Array.from(document.styleSheets as ArrayLike<{ href: string | null }>).map((s) => new URL(s.href ?? "inline:", document.baseURI).pathname),
    };
  });
  expect(look).toEqual({ card: true, button: "rgb(42, 91, 215)", stylesheets: ["/static/app.css", "/demo.css"] });
  // Browsers ask for /favicon.ico on their own (headless Chromium does not): it is there too.
  const icon = await page.request.get(`${DEMO}/favicon.ico`);
  expect({ status: icon.status(), type: icon.headers()["content-type"] }).toEqual({ status: 200, type: expect.stringMatching(/^image\/svg\+xml/) });
  await checkPage(page, name, viewport);
  const width = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
  expect(width.scroll).toBeLessThanOrEqual(width.client);
}

test("phone: the demo client → sign-up → the mail's link in another tab of the same browser → Confirm goes on there → consent → the token page; no 4xx anywhere", async () => {
  const { context, page, failed } = await recordingContext("phone");
  try {
    await page.goto(`${DEMO}/`);
    await checkDemoPage(page, "demo-client-index", "phone");

    await page.locator('a[href="/start?client=demo-web"]').click();
    await page.waitForURL(atPath("/login"));
    await page.locator("#sign-up a").click();
    await page.waitForURL(atPath("/registration"));
    const email = newEmail();
    await page.locator("#name").fill("Nina Newcomer");
    await page.locator("#email").fill(email);
    await page.locator("#password").fill(PASSWORD);
    await page.locator('#registration-form button[type="submit"]').click();
    await page.locator("#code-form").waitFor();

    const mail = await stack.mailpit!.waitForMessage({ to: email });
    const link = stack.mailpit!.links(mail).find((l) => new URL(l).pathname === "/verification")!;
    const mailTab = await context.newPage();
    await mailTab.goto(link);
    await mailTab.locator('#verify-form button[type="submit"]').click();
    // This browser holds the sign-in that waited: it goes on here, no "go back to the other tab".
    await mailTab.waitForURL(atPath("/consent"));
    await mailTab.locator('#consent-form button[value="allow"]').click();
    await mailTab.waitForURL((u) => u.href.startsWith(`${DEMO}/callback`));
    const claims = JSON.parse((await mailTab.locator("#id-claims pre").textContent()) ?? "{}");
    expect(claims).toMatchObject({ email, email_verified: true, name: "Nina Newcomer" });
    await checkDemoPage(mailTab, "demo-client-tokens", "phone");
    expect(failed).toEqual([]);
  } finally {
    await context.close();
  }
});

test("desktop: the public client (PKCE) with an existing account → the token page, its tokens wrapped; signing out returns to the demo client; no 4xx anywhere", async () => {
  const someone = await createUser(stack.db, { email: newEmail(), password: PASSWORD });
  const { context, page, failed } = await recordingContext("desktop");
  try {
    await page.goto(`${DEMO}/`);
    await checkDemoPage(page, "demo-client-index", "desktop");
    await page.locator('a[href="/start?client=demo-mobile"]').click();
    await page.waitForURL(atPath("/login"));
    await page.locator("#email").fill(someone.email);
    await page.locator("#password").fill(someone.password);
    await page.locator('#login-form input[name="remember"]').check(); // Hydra's session: signing out asks
    await page.locator('#login-form button[type="submit"]').click();
    await page.waitForURL(atPath("/consent"));
    await page.locator('#consent-form button[value="allow"]').click();
    await page.waitForURL((u) => u.href.startsWith(`${DEMO}/callback`));
    expect(await page.locator("h1").textContent()).toBe("Signed in with demo-mobile");
    await checkDemoPage(page, "demo-client-tokens", "desktop");

    await page.locator("#sign-out").click();
    await page.waitForURL(atPath("/logout"));
    await page.locator('#logout-form button[value="logout"]').click();
    await page.waitForURL(`${DEMO}/`);
    expect(failed).toEqual([]);
  } finally {
    await context.close();
  }
});
