// A deployment's brand on every page (product name in the header and the title, logo, colour,
// support link), the favicon, the language switcher, and a strict Content-Security-Policy.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Browser } from "../support/browser";
import { startStack, type Stack } from "../support/stack";
import { CALLBACK, demoConfig } from "../support/fixtures";
import { startAuthorization } from "../support/oauth";

jest.setTimeout(90_000);

const assets = fs.mkdtempSync(path.join(os.tmpdir(), "brand-"));
fs.writeFileSync(path.join(assets, "acme.svg"), '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10"/></svg>');

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    config: demoConfig(),
    appEnv: { BRAND_PRODUCT_NAME: "Acme ID", BRAND_LOGO_URL: "/brand/acme.svg", BRAND_ASSETS_DIR: assets, BRAND_PRIMARY_COLOR: "#5a2a82", BRAND_SUPPORT_URL: "mailto:help@acme.example" },
  });
});
afterAll(async () => {
  await stack?.stop();
  fs.rmSync(assets, { recursive: true, force: true });
});

test("the sign-in page carries the product's name, logo and support link, and names the step in its title", async () => {
  const { page } = await startAuthorization(new Browser(), stack, { clientId: "demo-web", redirectUri: CALLBACK, scope: "openid" });
  expect(page.$("title").text()).toBe("Sign in – Acme ID");
  expect(page.$("header .product").text()).toBe("Acme ID");
  expect(page.$("header img.logo").attr("src")).toBe("/brand/acme.svg");
  expect(page.$("#support").attr("href")).toBe("mailto:help@acme.example");
  expect(page.$('link[rel="icon"]').attr("href")).toBe("/static/favicon.svg");
  // The switcher leads back to this very page, in German.
  const de = page.$('#languages a[lang="de"]').attr("href")!;
  expect(de).toBe(`/language?lng=de&return=${encodeURIComponent(new URL(page.url).pathname + new URL(page.url).search)}`);
});

test("the switcher remembers the choice and returns to the page; only paths of this site", async () => {
  const browser = new Browser();
  const { page } = await startAuthorization(browser, stack, { clientId: "demo-web", redirectUri: CALLBACK, scope: "openid" });
  const german = await browser.get(new URL(page.$('#languages a[lang="de"]').attr("href")!, stack.appUrl).toString());
  expect(german.url).toBe(page.url);
  expect(german.$("html").attr("lang")).toBe("de");
  expect(german.$("title").text()).toBe("Anmelden – Acme ID");
  const away = await browser.fetch(`${stack.appUrl}/language?lng=en&return=${encodeURIComponent("//evil.example/")}`);
  expect(away.status).toBe(303);
  expect(away.headers.get("location")).toBe("/");
});

test("assets: the brand's stylesheet holds its colour and a readable dark-scheme shade; logo and favicon are served; everything under a strict CSP", async () => {
  const css = await fetch(`${stack.appUrl}/brand.css`);
  expect(css.headers.get("content-type")).toMatch(/^text\/css/);
  const text = await css.text();
  expect(text).toContain("--primary: #5a2a82;");
  expect(text).toMatch(/--primary-on-dark: #[0-9a-f]{6};/);
  expect((await fetch(`${stack.appUrl}/brand/acme.svg`)).status).toBe(200);
  expect((await fetch(`${stack.appUrl}/static/favicon.svg`)).headers.get("content-type")).toMatch(/^image\/svg\+xml/);
  const ico = await fetch(`${stack.appUrl}/favicon.ico`, { redirect: "manual" });
  expect(ico.status).toBe(301);
  const csp = (await fetch(`${stack.appUrl}/`)).headers.get("content-security-policy")!;
  expect(csp).toContain("default-src 'self'");
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain("style-src 'self'");
  expect(csp).toContain("img-src 'self' data:");
  expect(csp).not.toMatch(/unsafe-inline|https:|\*/);
});
