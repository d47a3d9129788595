// Second factors end to end against the real Hydra v2.3.0, PostgreSQL and Mailpit: an authenticator
// set up on /account and in the sign-in of an audience that requires one, codes computed here as an
// app would, a replayed code refused, recovery codes used once, step-up by acr_values on a
// remembered session, a password reset by mail that still asks for the factor, a factor locked
// after too many wrong codes (SECOND_FACTOR_MAX_FAILURES is 3 here; right codes do not count, and
// each test has its own user: the limit is per account), and acr/amr in the ID token of each path.
import * as cheerio from "cheerio";
import { Browser, type Page } from "../support/browser";
import { startStack, type Stack } from "../support/stack";
import { CALLBACK, createUser, type TestUser } from "../support/fixtures";
import { callbackParams, exchangeCode, jwtPayload, startAuthorization, type AuthStart } from "../support/oauth";
import { countRows } from "../support/db";
import { totpCode } from "../../src/services/totp";
import type { ConfigFile } from "../../src/config/audiences";

jest.setTimeout(120_000);

let stack: Stack;
beforeAll(async () => {
  const client = (id: string, audience: string, env: string) => ({ id, name: id, audience, "secret-env": env, "redirect-uris": [CALLBACK], scopes: ["openid", "profile"] });
  const config = {
    audiences: [
      { id: "demo", name: "Demo App" },
      { id: "vault", name: "Vault", mfa: "required" },
      { id: "plain", name: "Plain", mfa: "off" },
    ],
    clients: [client("demo-web", "demo", "DEMO_WEB_SECRET"), client("vault-web", "vault", "VAULT_WEB_SECRET"), client("plain-web", "plain", "PLAIN_WEB_SECRET")],
  } as unknown as ConfigFile;
  // Three wrong codes lock an account's second factor (the locked-factor test); every other test uses its own user.
  stack = await startStack({ config, appEnv: { SECOND_FACTOR_MAX_FAILURES: "3" } });
});
afterAll(async () => stack?.stop());

const path = (p: Page) => new URL(p.url).pathname;
const secretOf = (setup: Page) => setup.text("#secret").replace(/\s/g, "");
/** The code of the step after now: accepted (clock drift), and later than a code of now used before. */
const nextCode = (secret: string) => totpCode(secret, Date.now() + 30_000);
/** Six digits that are no code of the steps around now (the ones a check accepts). */
function wrongCode(secret: string): string {
  const near = [-30_000, 0, 30_000, 60_000].map((d) => totpCode(secret, Date.now() + d));
  return ["000000", "111111", "222222", "333333", "444444"].find((c) => !near.includes(c))!;
}

async function start(browser: Browser, clientId: string, extra?: Record<string, string>): Promise<AuthStart> {
  return startAuthorization(browser, stack, { clientId, redirectUri: CALLBACK, scope: "openid profile", extra });
}

/** Consent (when asked) → callback → the ID token's claims. */
async function finish(browser: Browser, page: Page, state: string, clientId: string, secretEnv: string): Promise<Record<string, any>> {
  let last = page;
  if (last.$("#consent-form").length) last = await browser.submit(last, "#consent-form", {}, { button: ["decision", "allow"], stopAt: [CALLBACK] });
  const code = callbackParams(last, CALLBACK, state).get("code")!;
  const tokens = await exchangeCode(stack, { clientId, secret: stack.secrets[secretEnv]!, code, redirectUri: CALLBACK });
  return jwtPayload(tokens.id_token!);
}

/** A user whose authenticator is set up in the sign-in of the audience that requires one; its secret and recovery codes. */
async function enrolledUser(): Promise<{ user: TestUser; secret: string; codes: string[] }> {
  const user = await createUser(stack.db);
  const browser = new Browser();
  const s = await start(browser, "vault-web");
  const setup = await browser.submit(s.page, "#login-form", { email: user.email, password: user.password, remember: "on" });
  expect(setup.$("#setup-form").attr("action")).toBe("/login/second-factor/setup");
  expect(setup.text("#required")).toMatch(/requires a second step/);
  expect(setup.$(".qr svg").length).toBe(1);
  const secret = secretOf(setup);
  const codesPage = await browser.submit(setup, "#setup-form", { code: totpCode(secret) });
  const codes = codesPage.$("#codes code").map((_, el) => codesPage.$(el).text()).get();
  expect(codes).toHaveLength(10);
  const done = await browser.submit(codesPage, "#continue-form", {}, { stopAt: [CALLBACK] });
  const id = await finish(browser, done, s.state, "vault-web", "VAULT_WEB_SECRET");
  expect(id).toMatchObject({ sub: user.id, acr: "aal2", amr: ["pwd", "otp", "mfa"] });
  await stack.mailpit!.waitForMessage({ to: user.email, subject: /A second factor was added/ });
  return { user, secret, codes };
}

test("an audience that requires two factors leads a user without one through the set-up to a code at the client; nothing is stored in clear", async () => {
  const { user, secret, codes } = await enrolledUser();
  const row = (await stack.db.query("SELECT secret, confirmed_at FROM totp_factors WHERE user_id = $1::uuid", [user.id])).rows[0];
  expect(row.confirmed_at).not.toBeNull();
  expect(row.secret).not.toContain(secret);
  const hashes = (await stack.db.query("SELECT code_hash FROM recovery_codes WHERE user_id = $1::uuid", [user.id])).rows.map((r) => r.code_hash as string);
  expect(hashes).toHaveLength(10);
  for (const c of codes) expect(hashes.join(" ")).not.toContain(c.replace(/-/g, ""));
});

test("optional audience: the user's code is asked after the password, a replayed code is refused, a wrong one counts", async () => {
  const { user, secret } = await enrolledUser();
  const code = nextCode(secret);

  const browser = new Browser();
  const s = await start(browser, "demo-web");
  const ask = await browser.submit(s.page, "#login-form", { email: user.email, password: user.password });
  expect(path(ask)).toBe("/login");
  expect(ask.$("#code-form").length).toBe(1);
  expect(ask.text("#context")).toContain("Demo App");
  // Not signed in to the app before the second factor.
  const wrong = await browser.submit(ask, "#code-form", { code: code === "000000" ? "111111" : "000000" });
  expect(wrong.status).toBe(401);
  expect(wrong.text("#error")).toMatch(/not right, or it was used already/);
  const next = await browser.submit(wrong, "#code-form", { code }, { stopAt: [CALLBACK] });
  expect(await finish(browser, next, s.state, "demo-web", "DEMO_WEB_SECRET")).toMatchObject({ sub: user.id, acr: "aal2", amr: ["pwd", "otp", "mfa"] });

  // The same code again, in another browser: refused (a code works once).
  const other = new Browser();
  const s2 = await start(other, "demo-web");
  const ask2 = await other.submit(s2.page, "#login-form", { email: user.email, password: user.password });
  const replayed = await other.submit(ask2, "#code-form", { code });
  expect(replayed.status).toBe(401);
  expect(replayed.text("#error")).toMatch(/used already/);
});

test("a recovery code signs in once, says how many are left and mails a notice; used again it is refused", async () => {
  const { user, codes } = await enrolledUser();
  const browser = new Browser();
  const s = await start(browser, "demo-web");
  const ask = await browser.submit(s.page, "#login-form", { email: user.email, password: user.password });
  const used = await browser.submit(ask, "#recovery-form", { code: codes[0]!.toUpperCase() });
  expect(used.status).toBe(200);
  expect(used.text("#notice")).toBe("You have 9 recovery codes left.");
  const next = await browser.submit(used, "#continue-form", {}, { stopAt: [CALLBACK] });
  expect(await finish(browser, next, s.state, "demo-web", "DEMO_WEB_SECRET")).toMatchObject({ acr: "aal2" });
  const mail = await stack.mailpit!.waitForMessage({ to: user.email, subject: /A recovery code was used/ });
  expect(mail.text).toContain("Codes left: 9");

  const other = new Browser();
  const s2 = await start(other, "demo-web");
  const ask2 = await other.submit(s2.page, "#login-form", { email: user.email, password: user.password });
  const again = await other.submit(ask2, "#recovery-form", { code: codes[0]! });
  expect(again.status).toBe(401);
  expect(again.text("#error")).toMatch(/recovery code is not right, or it was used already/);
  expect(await countRows(stack.db, "recovery_codes", { userId: user.id })).toBe(10);
});

test("step-up: a remembered password-only sign-in is accepted as aal1, acr_values=aal2 asks for the factor in the same request, and the session then counts as aal2", async () => {
  const { user, secret } = await enrolledUser();
  const browser = new Browser();
  // Signed in with the password only where the audience turns second factors off, remembered.
  const s1 = await start(browser, "plain-web");
  const p1 = await browser.submit(s1.page, "#login-form", { email: user.email, password: user.password, remember: "on" }, { stopAt: [CALLBACK] });
  expect(await finish(browser, p1, s1.state, "plain-web", "PLAIN_WEB_SECRET")).toMatchObject({ acr: "aal1", amr: ["pwd"] });

  // Remembered at an optional audience: no question, one factor.
  const s2 = await start(browser, "demo-web");
  expect(await finish(browser, s2.page, s2.state, "demo-web", "DEMO_WEB_SECRET")).toMatchObject({ acr: "aal1", amr: ["pwd"] });

  // The relying party asks for two: the factor is asked, then the same request goes on.
  const s3 = await start(browser, "demo-web", { acr_values: "aal2" });
  expect(s3.page.$("#code-form").length).toBe(1);
  const p3 = await browser.submit(s3.page, "#code-form", { code: nextCode(secret) }, { stopAt: [CALLBACK] });
  expect(await finish(browser, p3, s3.state, "demo-web", "DEMO_WEB_SECRET")).toMatchObject({ sub: user.id, acr: "aal2", amr: ["pwd", "otp", "mfa"] });

  // What the session reached is kept: asked again, it is not asked twice, and the token says aal2.
  const s4 = await start(browser, "demo-web", { acr_values: "aal2" });
  expect(await finish(browser, s4.page, s4.state, "demo-web", "DEMO_WEB_SECRET")).toMatchObject({ acr: "aal2", amr: ["pwd", "otp", "mfa"] });
  const s5 = await start(browser, "vault-web");
  expect(await finish(browser, s5.page, s5.state, "vault-web", "VAULT_WEB_SECRET")).toMatchObject({ acr: "aal2" });
});

test("a password reset by mail proves the mailbox only: the factor is still asked before the flow goes on", async () => {
  const { user, secret } = await enrolledUser();
  const browser = new Browser();
  const s = await start(browser, "demo-web");
  const form = await browser.get(new URL(s.page.$("#forgot a").attr("href")!, s.page.url).toString());
  await browser.submit(form, "#recovery-form", { email: user.email });
  const mail = await stack.mailpit!.waitForMessage({ to: user.email, subject: /Reset your password/ });
  const link = stack.mailpit!.links(mail).find((l) => l.includes("/recovery/reset?token="))!;
  const reset = await browser.get(link);
  const ask = await browser.submit(reset, "#reset-form", { password: "quiver-tangerine-basalt-57" }, { stopAt: [CALLBACK] });
  expect(ask.$("#code-form").length).toBe(1);
  const next = await browser.submit(ask, "#code-form", { code: nextCode(secret) }, { stopAt: [CALLBACK] });
  expect(await finish(browser, next, s.state, "demo-web", "DEMO_WEB_SECRET")).toMatchObject({ sub: user.id, acr: "aal2" });
});

test("/account: set up an authenticator (password and first code), new recovery codes, remove it; each mails a notice", async () => {
  const user = await createUser(stack.db);
  const browser = new Browser();
  const form = await browser.get(`${stack.appUrl}/account`);
  const account = await browser.submit(form, "#login-form", { email: user.email, password: user.password });
  expect(path(account)).toBe("/account");
  expect(account.text("#factor-status")).toMatch(/No second factor is set up/);

  const setup = await browser.submit(account, "#add-factor-form");
  expect(setup.$("#password").attr("name")).toBe("current_password"); // the field the route reads
  const secret = secretOf(setup);
  const wrongPassword = await browser.submit(setup, "#setup-form", { current_password: "not the password", code: totpCode(secret) });
  expect(wrongPassword.status).toBe(400);
  expect(secretOf(wrongPassword)).toBe(secret);
  const codesPage = await browser.submit(wrongPassword, "#setup-form", { current_password: user.password, code: totpCode(secret) });
  expect(codesPage.$("#codes code").length).toBe(10);
  const back = await browser.get(new URL(codesPage.$("#continue").attr("href")!, codesPage.url).toString());
  expect(back.text("#notice")).toMatch(/authenticator app is set up/);
  expect(back.text("#factor-status")).toMatch(/An authenticator app is set up/);
  expect(back.text("#codes-left")).toBe("You have 10 recovery codes left.");
  await stack.mailpit!.waitForMessage({ to: user.email, subject: /A second factor was added/ });

  const replaced = await browser.submit(back, "#codes-form", { current_password: user.password });
  expect(replaced.text("#notice")).toMatch(/earlier recovery codes no longer work/);
  await stack.mailpit!.waitForMessage({ to: user.email, subject: /New recovery codes/ });

  const account2 = await browser.get(`${stack.appUrl}/account`);
  const removed = await browser.submit(account2, "#remove-factor-form", { current_password: user.password });
  expect(path(removed)).toBe("/account");
  expect(removed.text("#notice")).toMatch(/authenticator app was removed/);
  expect(await countRows(stack.db, "totp_factors", { userId: user.id })).toBe(0);
  expect(await countRows(stack.db, "recovery_codes", { userId: user.id })).toBe(0);
  await stack.mailpit!.waitForMessage({ to: user.email, subject: /second factor of your account was removed/ });
});

test("too many wrong codes lock the second factor: after 3 the 4th attempt, even a right code, gets 429 with Retry-After and the page says for how long", async () => {
  // The set-up's right code was counted and given back: only the 3 wrong ones below add up.
  const { user, secret } = await enrolledUser();
  const lastStep = async () => (await stack.db.query("SELECT last_step FROM totp_factors WHERE user_id = $1::uuid", [user.id])).rows[0].last_step;
  const browser = new Browser();
  const s = await start(browser, "demo-web");
  let page = await browser.submit(s.page, "#login-form", { email: user.email, password: user.password });
  expect(page.$("#code-form").length).toBe(1);
  for (let i = 1; i <= 3; i++) {
    page = await browser.submit(page, "#code-form", { code: wrongCode(secret) });
    expect(page.status).toBe(401);
    expect(page.text("#error")).toMatch(/not right/);
  }
  const stepBefore = await lastStep();

  // The 4th: a right code, refused before it is checked (the page's own form, to read the headers).
  const form = page.$("#code-form");
  const body = new URLSearchParams();
  form.find("input[name]").each((_, el) => void body.append(page.$(el).attr("name")!, page.$(el).attr("value") ?? ""));
  body.set("code", nextCode(secret));
  const res = await browser.fetch(new URL(form.attr("action")!, page.url).toString(), { method: "POST", body });
  expect(res.status).toBe(429);
  const retryAfter = Number(res.headers.get("retry-after"));
  expect(retryAfter).toBeGreaterThan(0);
  expect(retryAfter).toBeLessThanOrEqual(15 * 60);
  const $ = cheerio.load(await res.text());
  expect($("#error").attr("role")).toBe("alert");
  expect($("#error").text()).toContain(`Your second factor is locked for about ${Math.max(1, Math.ceil(retryAfter / 60))} minutes`);
  expect($("#code-form").length).toBe(1);
  // Nothing was accepted: the code is still unused, and the browser is not signed in.
  expect(await lastStep()).toEqual(stepBefore);
  expect(res.headers.get("location")).toBeNull();

  // A recovery code is refused as well while the factor is locked.
  const locked = await browser.submit(page, "#recovery-form", { code: "aaaa-bbbb-cccc-dddd" });
  expect(locked.status).toBe(429);
  expect(locked.text("#error")).toMatch(/locked for about \d+ minutes/);
});

test("locked while setting one up in the sign-in: the set-up page again, saying for how long, and its form still there", async () => {
  const user = await createUser(stack.db);
  const browser = new Browser();
  const s = await start(browser, "vault-web");
  let page = await browser.submit(s.page, "#login-form", { email: user.email, password: user.password });
  const secret = secretOf(page);
  const wrong = totpCode(secret) === "000000" ? "111111" : "000000";
  for (let i = 0; i < 3; i++) {
    page = await browser.submit(page, "#setup-form", { code: wrong });
    expect(page.status).toBe(401);
  }
  const locked = await browser.submit(page, "#setup-form", { code: totpCode(secret) });
  expect(locked.status).toBe(429);
  expect(locked.text("#error")).toMatch(/locked for about \d+ minute/);
  expect(locked.$("#setup-form").attr("action")).toBe("/login/second-factor/setup");
  expect(secretOf(locked)).toBe(secret);
});
