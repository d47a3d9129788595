// The OpenID Connect parameters of the authorization request that the login side owns, as the
// README's table says: prompt, max_age, login_hint, ui_locales, acr_values (second-factors.test.ts
// shows step-up); id_token_hint on logout is logout-and-limits.test.ts's.
import { Browser, type Page } from "../support/browser";
import { startStack, type Stack } from "../support/stack";
import { CALLBACK, createUser, demoConfig } from "../support/fixtures";
import { callbackParams, exchangeCode, jwtPayload, startAuthorization, type AuthStart } from "../support/oauth";

jest.setTimeout(60_000);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ config: demoConfig() });
});
afterAll(async () => stack?.stop());

const start = (browser: Browser, opts: { prompt?: string; extra?: Record<string, string> } = {}): Promise<AuthStart> =>
  startAuthorization(browser, stack, { clientId: "demo-web", redirectUri: CALLBACK, scope: "openid profile", ...opts });

async function tokenOf(browser: Browser, page: Page, state: string): Promise<Record<string, any>> {
  let last = page;
  if (last.$("#consent-form").length) last = await browser.submit(last, "#consent-form", {}, { button: ["decision", "allow"], stopAt: [CALLBACK] });
  const code = callbackParams(last, CALLBACK, state).get("code")!;
  return jwtPayload((await exchangeCode(stack, { clientId: "demo-web", secret: stack.secrets.DEMO_WEB_SECRET!, code, redirectUri: CALLBACK })).id_token!);
}

/** A browser Hydra remembers (signed in with "stay signed in"), and the user. */
async function remembered() {
  const user = await createUser(stack.db);
  const browser = new Browser();
  const s = await start(browser);
  const page = await browser.submit(s.page, "#login-form", { email: user.email, password: user.password, remember: "on" }, { stopAt: [CALLBACK] });
  const first = await tokenOf(browser, page, s.state);
  return { user, browser, first };
}

test("login_hint fills in the email field", async () => {
  const s = await start(new Browser(), { extra: { login_hint: "hinted@example.com" } });
  expect(s.page.$("#email").attr("value")).toBe("hinted@example.com");
});

test("ui_locales=de: the sign-in form in German", async () => {
  const s = await start(new Browser(), { extra: { ui_locales: "de" } });
  expect(s.page.$("html").attr("lang")).toBe("de");
  expect(s.page.text("h1")).toBe("Anmelden");
});

test("prompt=login asks for the password although Hydra remembers the browser; without it the sign-in is skipped", async () => {
  const { user, browser } = await remembered();
  const skipped = await start(browser);
  expect(await tokenOf(browser, skipped.page, skipped.state)).toMatchObject({ sub: user.id });
  const asked = await start(browser, { prompt: "login" });
  expect(asked.page.$("#login-form").length).toBe(1);
  const page = await browser.submit(asked.page, "#login-form", { email: user.email, password: user.password }, { stopAt: [CALLBACK] });
  expect(await tokenOf(browser, page, asked.state)).toMatchObject({ sub: user.id, acr: "aal1", amr: ["pwd"] });
});

test("prompt=none: a remembered browser gets a code without a page; an unknown one gets login_required", async () => {
  const { user, browser } = await remembered();
  const silent = await start(browser, { prompt: "none" });
  expect(await tokenOf(browser, silent.page, silent.state)).toMatchObject({ sub: user.id });
  const stranger = await start(new Browser(), { prompt: "none" });
  expect(callbackParams(stranger.page, CALLBACK, stranger.state).get("error")).toBe("login_required");
});

test("max_age: a remembered sign-in older than that asks for the password again", async () => {
  const { browser, first } = await remembered();
  await new Promise((r) => setTimeout(r, 2100));
  const aged = await start(browser, { extra: { max_age: "1" } });
  expect(aged.page.$("#login-form").length).toBe(1);
  const fresh = await start(browser, { extra: { max_age: "3600" } });
  expect(await tokenOf(browser, fresh.page, fresh.state)).toMatchObject({ auth_time: first.auth_time });
});
