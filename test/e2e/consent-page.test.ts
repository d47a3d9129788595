// The consent page people can trust. Who is signed in and "Not you?", the client's name,
// logo and links, the audience's brand, scope descriptions in plain words (per language from the
// configuration) with the id secondary, already-granted scopes marked, offline_access explained,
// the link to /account; in German when the application asks for it (ui_locales).
import { Browser } from "../support/browser";
import { startStack, type Stack } from "../support/stack";
import { CALLBACK, createUser } from "../support/fixtures";
import { startAuthorization } from "../support/oauth";
import type { ConfigFile } from "../../src/config/audiences";

jest.setTimeout(90_000);

const LOGO = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    config: {
      audiences: [{ id: "shop", name: "Shop", brand: { name: "Shop Co", logo: "/static/favicon.svg" } }],
      scopes: [{ name: "orders.read", description: { en: "Read your orders", de: "Ihre Bestellungen lesen" }, audience: "shop" }],
      clients: [
        {
          id: "shop-web",
          name: "Shop Web",
          audience: "shop",
          "secret-env": "SHOP_WEB_SECRET",
          "redirect-uris": [CALLBACK],
          scopes: ["openid", "email", "offline_access", "orders.read"],
          "grant-types": ["authorization_code", "refresh_token"],
          "logo-uri": LOGO,
          "policy-uri": "https://shop.example/privacy",
          "tos-uri": "https://shop.example/terms",
        },
      ],
    } as ConfigFile,
  });
});
afterAll(async () => stack?.stop());

const web = { clientId: "shop-web", redirectUri: CALLBACK };

async function consentPage(browser: Browser, user: { email: string; password: string }, scope: string, extra?: Record<string, string>) {
  const start = await startAuthorization(browser, stack, { ...web, scope, extra });
  const page = await browser.submit(start.page, "#login-form", { email: user.email, password: user.password, remember: "on" });
  expect(new URL(page.url).pathname).toBe("/consent");
  return page;
}

test("the page shows who is signed in, the client, its links, the audience's brand, and plain-word scopes with their ids secondary", async () => {
  const user = await createUser(stack.db);
  const page = await consentPage(new Browser(), user, "openid email offline_access orders.read");
  expect(page.text("#account")).toContain(user.email);
  expect(page.$("#not-you").text()).toBe("Not you? Use another account");
  expect(page.text("#context")).toBe("Shop Web (part of Shop) asks for:");
  expect(page.$(".client img").attr("src")).toBe(LOGO);
  expect(page.$("header .product").text()).toBe("Shop Co");
  expect(page.$("header img.logo").attr("src")).toBe("/static/favicon.svg");
  expect(page.$("title").text()).toBe("Allow access – Shop Co");
  const scopes = page.$("#scopes li").map((_, li) => ({
    scope: page.$(li).attr("data-scope"),
    description: page.$(li).contents().first().text().trim(),
    badge: page.$(li).find(".badge").text(),
    id: page.$(li).find(".scope-id").text(),
  })).get();
  expect(scopes).toEqual([
    { scope: "openid", description: "Sign you in with your account", badge: "new", id: "Permission: openid" },
    { scope: "email", description: "Your email address", badge: "new", id: "Permission: email" },
    { scope: "offline_access", description: "Stay connected when you are not using it", badge: "new", id: "Permission: offline_access" },
    { scope: "orders.read", description: "Read your orders", badge: "new", id: "Permission: orders.read" },
  ]);
  expect(page.text("#offline-note")).toBe("“Stay connected” means that Shop Web keeps access while you are away, until you revoke it.");
  expect(page.text("#shared-note")).toContain("shared by all applications of Shop");
  expect(page.$("#shared-note a").attr("href")).toBe("/account");
  expect(page.$("#policy-link").attr("href")).toBe("https://shop.example/privacy");
  expect(page.$("#tos-link").attr("href")).toBe("https://shop.example/terms");
  expect(page.text("#policy-link")).toBe("Privacy policy of Shop Web");
});

test("already-granted scopes are marked on a later, wider request", async () => {
  const user = await createUser(stack.db);
  const browser = new Browser();
  const first = await consentPage(browser, user, "openid email", { ui_locales: "en" });
  await browser.submit(first, "#consent-form", {}, { button: ["decision", "allow"], stopAt: [CALLBACK] });
  await new Promise((r) => setTimeout(r, 1100)); // Hydra stores requested_at to the second
  const start = await startAuthorization(browser, stack, { ...web, scope: "openid email orders.read" });
  const page = start.page;
  expect(new URL(page.url).pathname).toBe("/consent");
  expect(page.$('#scopes li[data-scope="email"]').attr("class")).toBe("granted");
  expect(page.text('#scopes li[data-scope="email"] .badge')).toBe("already allowed in Shop");
  expect(page.$('#scopes li[data-scope="orders.read"]').attr("class")).toBe("new");
  expect(page.text("#already-note")).toContain("approving adds the new items");
  expect(page.$("#offline-note").length).toBe(0);
});

test("in German when the application asks for it (ui_locales=de): the configuration's German description too", async () => {
  const user = await createUser(stack.db);
  const page = await consentPage(new Browser(), user, "openid orders.read", { ui_locales: "de" });
  expect(page.$("html").attr("lang")).toBe("de");
  expect(page.text("h1")).toBe("Zugriff erlauben?");
  expect(page.text('#scopes li[data-scope="orders.read"]')).toContain("Ihre Bestellungen lesen");
  expect(page.text('#scopes li[data-scope="openid"]')).toContain("Sie mit Ihrem Konto anmelden");
  expect(page.$('#consent-form button[value="allow"]').text()).toBe("Erlauben");
  expect(page.$("#not-you").text()).toBe("Nicht Sie? Anderes Konto verwenden");
});

test("'Not you?' ends this browser's sign-in and restarts the same request with a fresh sign-in; the other account can then consent", async () => {
  const first = await createUser(stack.db);
  const second = await createUser(stack.db);
  const browser = new Browser();
  const start = await startAuthorization(browser, stack, { ...web, scope: "openid email" });
  const consent = await browser.submit(start.page, "#login-form", { email: first.email, password: first.password, remember: "on" });
  expect(consent.text("#account")).toContain(first.email);
  const login = await browser.submit(consent, "#switch-account-form", {}, { stopAt: [CALLBACK] });
  expect(new URL(login.url).pathname).toBe("/login");
  expect(login.$("#login-form").length).toBe(1);
  // The same authorization request: same client and state, now with prompt=login.
  const restarted = new URL(login.chain.find((u) => u.includes("/oauth2/auth?"))!);
  expect(restarted.searchParams.get("state")).toBe(start.state);
  expect(restarted.searchParams.get("prompt")).toBe("login");
  // The old consent step is closed.
  const replay = await browser.post(`${stack.appUrl}/consent`, new URLSearchParams({ consent_challenge: new URL(consent.url).searchParams.get("consent_challenge")!, decision: "allow", _csrf: login.$('input[name="_csrf"]').attr("value")! }), { stopAt: [CALLBACK] });
  expect([403, 410]).toContain(replay.status);
  // Hydra forgot the first account's remembered sign-in: a new request asks again.
  const again = await startAuthorization(browser, stack, { ...web, scope: "openid email" });
  expect(new URL(again.page.url).pathname).toBe("/login");
  const next = await browser.submit(again.page, "#login-form", { email: second.email, password: second.password }, { stopAt: [CALLBACK] });
  expect(new URL(next.url).pathname).toBe("/consent");
  expect(next.text("#account")).toContain(second.email);
});
