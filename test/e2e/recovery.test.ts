// Password recovery through a real SMTP server (Mailpit) with the real Hydra and
// PostgreSQL: same answer for any address, single-use link, sign-up rules, every session ends, a
// "password changed" mail, and the OAuth flow the recovery began in continues to a code.
import { Browser } from "../support/browser";
import { startStack, type Stack } from "../support/stack";
import { CALLBACK, appSessionUser, createUser } from "../support/fixtures";
import { callbackParams, exchangeCode, startAuthorization } from "../support/oauth";
import { countRows, updateRows } from "../support/db";

jest.setTimeout(120_000);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    config: {
      audiences: [{ id: "demo", name: "Demo App" }],
      clients: [{ id: "demo-web", name: "Demo Web", audience: "demo", "secret-env": "DEMO_WEB_SECRET", "redirect-uris": [CALLBACK], scopes: ["openid", "profile"] }],
    },
    appEnv: { RECOVERY_MAX_PER_ADDRESS: "3" },
  });
});
afterAll(async () => stack?.stop());

const web = { clientId: "demo-web", redirectUri: CALLBACK, scope: "openid profile" };
const NEW_PASSWORD = "quiver-tangerine-basalt-57";
const resetLink = (text: string) => stack.mailpit!.links({ text }).find((l) => l.includes("/recovery/reset?token="))!;

/** A browser set to German: every request says Accept-Language: de. */
class GermanBrowser extends Browser {
  override fetch(url: string, init: Parameters<Browser["fetch"]>[1] = {}): Promise<Response> {
    return super.fetch(url, { ...init, headers: { "accept-language": "de-DE,de;q=0.9", ...init?.headers } });
  }
}

async function requestRecovery(browser: Browser, email: string, fromLogin = true) {
  let form;
  if (fromLogin) {
    const start = await startAuthorization(browser, stack, web);
    form = await browser.get(new URL(start.page.$("#forgot a").attr("href")!, start.page.url).toString());
    const started = Date.now();
    const page = await browser.submit(form, "#recovery-form", { email });
    return { page, state: start.state, ms: Date.now() - started };
  }
  form = await browser.get(`${stack.appUrl}/recovery`);
  const started = Date.now();
  const page = await browser.submit(form, "#recovery-form", { email });
  return { page, state: "", ms: Date.now() - started };
}

test("recovery inside an OAuth flow: link by mail, new password, every other session ends, the flow ends with a code at the client", async () => {
  const user = await createUser(stack.db);
  // Another browser is remembered at Hydra and has an app session.
  const other = new Browser();
  const o = await startAuthorization(other, stack, web);
  const oc = await other.submit(o.page, "#login-form", { email: user.email, password: user.password, remember: "on" });
  await other.submit(oc, "#consent-form", {}, { button: ["decision", "allow"], stopAt: [CALLBACK] });
  expect(await appSessionUser(stack, other)).toBe(user.id);

  const browser = new Browser();
  const { page: sent, state } = await requestRecovery(browser, user.email);
  expect(sent.status).toBe(200);
  expect(sent.text("#message")).toContain(`If an account exists for ${user.email}`);

  const mail = await stack.mailpit!.waitForMessage({ to: user.email, subject: /Reset your password/ });
  const link = resetLink(mail.text);
  const form = await browser.get(link);
  expect(form.$("#reset-form").length).toBe(1);

  const weak = await browser.submit(form, "#reset-form", { password: "password123" });
  expect(weak.status).toBe(400);
  expect(weak.text("#error")).toMatch(/too easy to guess|at least/);
  const local = user.email.split("@")[0]!;
  const fromEmail = await browser.submit(form, "#reset-form", { password: `${local}${local}` });
  expect(fromEmail.status).toBe(400);

  const done = await browser.submit(form, "#reset-form", { password: NEW_PASSWORD }, { stopAt: [CALLBACK] });
  // The flow continues signed in: consent (first time for this browser's flow? the audience consent exists) or the callback.
  let last = done;
  if (last.$("#consent-form").length) last = await browser.submit(last, "#consent-form", {}, { button: ["decision", "allow"], stopAt: [CALLBACK] });
  const code = callbackParams(last, CALLBACK, state).get("code")!;
  await exchangeCode(stack, { clientId: "demo-web", secret: stack.secrets.DEMO_WEB_SECRET!, code, redirectUri: CALLBACK });
  expect(await appSessionUser(stack, browser)).toBe(user.id);

  // Every other session ended: the other browser has no app session and is asked to sign in.
  expect(await appSessionUser(stack, other)).toBeUndefined();
  const again = await startAuthorization(other, stack, web);
  expect(again.page.$("#login-form").length).toBe(1);
  const oldPassword = await other.submit(again.page, "#login-form", { email: user.email, password: user.password });
  expect(oldPassword.status).toBe(401);
  const newPassword = await other.submit(oldPassword, "#login-form", { email: user.email, password: NEW_PASSWORD }, { stopAt: [CALLBACK] });
  expect(newPassword.status).not.toBe(401);

  const changed = await stack.mailpit!.waitForMessage({ to: user.email, subject: /Your password was changed/ });
  expect(changed.text).toContain("password-reset link");

  // The link worked once.
  const reused = await new Browser().get(link);
  expect(reused.status).toBe(410);
});

test("an address without an account gets the same answer in about the same time, and no mail", async () => {
  const user = await createUser(stack.db);
  const known = await requestRecovery(new Browser(), user.email, false);
  const unknownEmail = `nobody-${Date.now()}@example.com`;
  const unknown = await requestRecovery(new Browser(), unknownEmail, false);
  expect([known.page.status, unknown.page.status]).toEqual([200, 200]);
  const normalize = (html: string, email: string) => html.split(email).join("EMAIL").replace(/name="_csrf" value="[^"]*"/g, "");
  expect(normalize(unknown.page.html, unknownEmail)).toBe(normalize(known.page.html, user.email));
  // Both answers take at least the same floor; the difference stays well under it.
  expect(known.ms).toBeGreaterThanOrEqual(390);
  expect(unknown.ms).toBeGreaterThanOrEqual(390);
  expect(Math.abs(known.ms - unknown.ms)).toBeLessThan(300);
  await stack.mailpit!.waitForMessage({ to: user.email, subject: /Reset your password/ });
  expect(await stack.mailpit!.messages(unknownEmail)).toHaveLength(0);
});

test("refused clearly: a garbage, an expired and a replaced link; outside a flow the reset says to sign in again", async () => {
  const user = await createUser(stack.db);
  const browser = new Browser();
  await requestRecovery(browser, user.email, false);
  const first = resetLink((await stack.mailpit!.waitForMessage({ to: user.email, subject: /Reset/ })).text);
  await stack.mailpit!.deleteAll();
  await requestRecovery(browser, user.email, false);
  const second = resetLink((await stack.mailpit!.waitForMessage({ to: user.email, subject: /Reset/ })).text);
  expect(second).not.toBe(first);

  const replaced = await new Browser().get(first);
  expect(replaced.status).toBe(410);
  expect(replaced.text("#error")).toMatch(/already used|newer one/);
  expect((await new Browser().get(`${stack.appUrl}/recovery/reset?token=${"y".repeat(43)}`)).status).toBe(404);

  const form = await browser.get(second);
  const done = await browser.submit(form, "#reset-form", { password: NEW_PASSWORD });
  expect(done.status).toBe(200);
  expect(done.text("#message")).toMatch(/Sign in again/);

  await requestRecovery(browser, user.email, false);
  const third = resetLink((await stack.mailpit!.waitForMessage({ to: user.email, subject: /Reset/ })).text);
  await updateRows(stack.db, "one_time_tokens", { userId: user.id, usedAt: null }, { expiresAt: new Date(Date.now() - 1000) });
  const expired = await new Browser().get(third);
  expect(expired.status).toBe(410);
  expect(expired.text("#error")).toMatch(/expired/);
});

test("per-address limit: past it nothing more is sent, and the answer stays the same", async () => {
  const user = await createUser(stack.db);
  await stack.mailpit!.deleteAll();
  for (let i = 0; i < 5; i++) {
    const { page } = await requestRecovery(new Browser(), user.email, false);
    expect(page.status).toBe(200);
    expect(page.text("#message")).toContain(`If an account exists for ${user.email}`);
  }
  await stack.mailpit!.waitForMessage({ to: user.email });
  await new Promise((r) => setTimeout(r, 1000));
  expect(await countRows(stack.db, "outbox", { to: user.email, template: "recovery" })).toBe(3);
});

test("asked for in German (Accept-Language: de): German pages, a German recovery mail and a German 'password changed' mail", async () => {
  const user = await createUser(stack.db);
  const browser = new GermanBrowser();
  const form = await browser.get(`${stack.appUrl}/recovery`);
  expect(form.$("html").attr("lang")).toBe("de");
  expect(form.text("h1")).toBe("Passwort zurücksetzen");

  const sent = await browser.submit(form, "#recovery-form", { email: user.email });
  expect(sent.status).toBe(200);
  expect(sent.$("html").attr("lang")).toBe("de");
  expect(sent.$("title").text()).toMatch(/^Posteingang prüfen – /);
  expect(sent.text("#message")).toContain(`Falls es ein Konto für ${user.email} gibt`);
  expect(sent.text("#message")).toContain("30 Minuten");

  const mail = await stack.mailpit!.waitForMessage({ to: user.email, subject: /Passwort zurücksetzen/ });
  expect(mail.subject).toMatch(/^Passwort zurücksetzen – \S/); // the product's name
  expect(mail.text).toMatch(/^Guten Tag/);
  expect(mail.text).toContain(`das Passwort des Kontos ${user.email} zurückzusetzen`);
  expect(mail.text).toMatch(/läuft am \d{1,2}\. \S+ \d{4}, \d{2}:\d{2} UTC ab/);
  expect(mail.text).not.toMatch(/Hello|Reset|expires/);
  expect(mail.html).toContain('<html lang="de">');
  expect(mail.html).toContain("Neues Passwort wählen");

  // The reset page: German, with the show-password toggle and live strength feedback on the new password.
  const reset = await browser.get(resetLink(mail.text));
  expect(reset.text("h1")).toBe("Neues Passwort wählen");
  const input = reset.$("#password");
  expect(input.attr("data-show-label")).toBe("Passwort anzeigen");
  expect(input.attr("data-hide-label")).toBe("Passwort verbergen");
  expect(input.attr("data-strength")).toBeDefined();
  expect(reset.$('script[src="/static/strength.js"]').length).toBe(1);

  const weak = await browser.submit(reset, "#reset-form", { password: "password123" });
  expect(weak.status).toBe(400);
  expect(weak.text("#error")).toMatch(/Passwort/);
  expect(weak.text("#error")).not.toMatch(/password|guess|least/i);
  const done = await browser.submit(weak, "#reset-form", { password: NEW_PASSWORD });
  expect(done.status).toBe(200);
  expect(done.text("h1")).toBe("Passwort geändert");
  const changed = await stack.mailpit!.waitForMessage({ to: user.email, subject: /Ihr Passwort wurde geändert/ });
  expect(changed.text).toContain("über einen Link zum Zurücksetzen des Passworts geändert");

  // A used link is refused in German too.
  const reused = await new GermanBrowser().get(resetLink(mail.text));
  expect(reused.status).toBe(410);
  expect(reused.text("#error")).toContain("bereits verwendet");
});
