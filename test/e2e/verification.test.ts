// Email verification through a real SMTP server (Mailpit), with the real
// Hydra and PostgreSQL: sign-up → mail → link or code → email_verified in the ID token; the
// require-verified-email gate holds the login step and continues the same flow (from the link too,
// when it is confirmed in the browser that holds the step); used, expired,
// replaced and other accounts' links are refused; SMTP down loses nothing.
import { Browser, type Page } from "../support/browser";
import { startStack, type Stack } from "../support/stack";
import { CALLBACK, createUser } from "../support/fixtures";
import { callbackParams, exchangeCode, jwtPayload, startAuthorization } from "../support/oauth";
import type { Mail } from "../support/mailpit";
import { countRows, findRows, getRow, updateRows } from "../support/db";

jest.setTimeout(120_000);

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    config: {
      audiences: [
        { id: "open", name: "Open App" },
        { id: "strict", name: "Strict App", "require-verified-email": true },
      ],
      clients: [
        { id: "open-web", name: "Open Web", audience: "open", "secret-env": "OPEN_SECRET", "redirect-uris": [CALLBACK], scopes: ["openid", "email"] },
        { id: "strict-web", name: "Strict Web", audience: "strict", "secret-env": "STRICT_SECRET", "redirect-uris": [CALLBACK], scopes: ["openid", "email"] },
      ],
    },
  });
});
afterAll(async () => stack?.stop());

const PASSWORD = "lantern-orbit-saffron-93";
let counter = 0;
const newEmail = () => `verify-${Date.now()}-${++counter}@example.com`;
const secretOf = (clientId: string) => stack.secrets[clientId === "open-web" ? "OPEN_SECRET" : "STRICT_SECRET"]!;
const auth = (clientId: string) => ({ clientId, redirectUri: CALLBACK, scope: "openid email" });
const codeIn = (mail: Mail) => /code there: (\d{6})/.exec(mail.text)?.[1] ?? /\b(\d{6})\b/.exec(mail.text)![1]!;
const linkIn = (mail: Mail) => stack.mailpit!.links(mail).find((l) => l.includes("/verification?token="))!;

/** Starts a flow for the client and signs up on its registration page. Returns the page after sign-up. */
async function signUp(browser: Browser, clientId: string, email: string, uiLocales?: string): Promise<{ page: Page; state: string }> {
  const start = await startAuthorization(browser, stack, { ...auth(clientId), extra: uiLocales ? { ui_locales: uiLocales } : undefined });
  const form = await browser.get(`${stack.appUrl}${start.page.$("#sign-up a").attr("href")}`);
  const page = await browser.submit(form, "#registration-form", { email, name: "Vera Verify", password: PASSWORD }, { stopAt: [CALLBACK] });
  return { page, state: start.state };
}

/** Allows the consent page (when shown) and returns the ID token's claims of the flow. */
async function finishFlow(browser: Browser, page: Page, clientId: string, state: string) {
  if (page.$("#consent-form").length) page = await browser.submit(page, "#consent-form", {}, { button: ["decision", "allow"], stopAt: [CALLBACK] });
  const code = callbackParams(page, CALLBACK, state).get("code")!;
  const tokens = await exchangeCode(stack, { clientId, secret: secretOf(clientId), code, redirectUri: CALLBACK });
  return jwtPayload(tokens.id_token!);
}

test("sign-up sends a link and a code; the link, opened in another browser, verifies the address; the flow continues and the ID token says so", async () => {
  const browser = new Browser();
  const email = newEmail();
  const { page, state } = await signUp(browser, "open-web", email);
  expect(page.$("#code-form").length).toBe(1); // every sign-up waits for its address (a taken one must look the same)

  const mail = await stack.mailpit!.waitForMessage({ to: email, subject: /Confirm your email address/ });
  expect(mail.text).toMatch(/\b\d{6}\b/);
  expect(mail.html).toContain("Confirm my email address");
  const link = linkIn(mail);
  expect(link.startsWith(`${stack.appUrl}/verification?token=`)).toBe(true);

  const phone = new Browser();
  const confirm = await phone.get(link);
  expect(confirm.status).toBe(200);
  expect(confirm.text("main")).toContain(email);
  expect((await getRow(stack.db, "users", { email })).emailVerified).toBe(false); // opening is not confirming
  const done = await phone.submit(confirm, "#verify-form");
  expect(done.status).toBe(200);
  expect(new URL(done.url).pathname).toBe("/verification"); // no sign-in waits in this browser: nothing goes on here
  expect(done.text("#message")).toContain(email);
  expect(done.text("main")).toMatch(/go back to where you were signing in/);
  expect((await getRow(stack.db, "users", { email })).emailVerified).toBe(true);

  const next = await browser.submit(page, "#continue-form", {}, { stopAt: [CALLBACK] });
  expect((await finishFlow(browser, next, "open-web", state)).email_verified).toBe(true);

  // Used once: refused clearly.
  const reused = await new Browser().get(link);
  expect(reused.status).toBe(410);
  expect(reused.text("#error")).toMatch(/already used/);
});

test("the link confirmed in the browser where the sign-up waits: the flow goes on from the confirmation to the client, with a code", async () => {
  const browser = new Browser();
  const email = newEmail();
  const { page, state } = await signUp(browser, "open-web", email);
  expect(page.$("#continue-form").length).toBe(1);

  // The mail's link in another tab of the same browser (its cookies): Confirm goes on to the consent.
  const confirm = await browser.get(linkIn(await stack.mailpit!.waitForMessage({ to: email })));
  expect(confirm.status).toBe(200);
  const next = await browser.submit(confirm, "#verify-form", {}, { stopAt: [CALLBACK] });
  expect(new URL(next.url).pathname).toBe("/consent");

  // The first tab's "I confirmed it, continue" (its form token is from before the sign-in renewed the
  // session): the step is done already, said plainly with a way to start again, not "form expired".
  const stale = await browser.submit(page, "#continue-form", {}, { stopAt: [CALLBACK] });
  expect(stale.status).toBe(410);
  expect(stale.text("#error")).toMatch(/already completed/);
  expect(stale.$("#continue").attr("href")!.startsWith(`${stack.hydraPublicUrl}/oauth2/auth?`)).toBe(true);

  const claims = await finishFlow(browser, next, "open-web", state);
  expect(claims).toMatchObject({ email, email_verified: true });
});

test("a strict audience's sign-in held in this browser goes on from the link confirmed here too", async () => {
  const user = await createUser(stack.db, { email: newEmail() });
  await updateRows(stack.db, "users", { id: user.id }, { emailVerified: false });
  const browser = new Browser();
  const start = await startAuthorization(browser, stack, auth("strict-web"));
  await browser.submit(start.page, "#login-form", { email: user.email, password: user.password }); // held: the mail goes out
  const confirm = await browser.get(linkIn(await stack.mailpit!.waitForMessage({ to: user.email })));
  const next = await browser.submit(confirm, "#verify-form", {}, { stopAt: [CALLBACK] });
  expect(new URL(next.url).pathname).toBe("/consent");
  expect((await finishFlow(browser, next, "strict-web", start.state)).email_verified).toBe(true);
});

test("another account's link confirmed where a sign-up waits: that address is confirmed, the waiting sign-in does not go on", async () => {
  const browser = new Browser();
  const mine = newEmail();
  const { page } = await signUp(browser, "strict-web", mine);
  const theirs = newEmail();
  await signUp(new Browser(), "strict-web", theirs);

  const confirm = await browser.get(linkIn(await stack.mailpit!.waitForMessage({ to: theirs })));
  const done = await browser.submit(confirm, "#verify-form", {}, { stopAt: [CALLBACK] });
  expect(new URL(done.url).pathname).toBe("/verification");
  expect(done.text("#message")).toContain(theirs);
  expect((await getRow(stack.db, "users", { email: theirs })).emailVerified).toBe(true);
  expect((await getRow(stack.db, "users", { email: mine })).emailVerified).toBe(false);
  const early = await browser.submit(page, "#continue-form");
  expect(early.status).toBe(409);
});

test("require-verified-email: the login step waits on 'check your inbox'; a wrong code is refused; the right code continues the same flow", async () => {
  const browser = new Browser();
  const email = newEmail();
  const { page, state } = await signUp(browser, "strict-web", email);
  expect(page.$("#code-form").length).toBe(1);
  expect(page.text("#context")).toContain(email);

  const code = codeIn(await stack.mailpit!.waitForMessage({ to: email }));
  const wrong = await browser.submit(page, "#code-form", { code: code === "123456" ? "654321" : "123456" });
  expect(wrong.status).toBe(400);
  expect(wrong.text("#error")).toMatch(/not right/);
  const consent = await browser.submit(wrong, "#code-form", { code }, { stopAt: [CALLBACK] });
  expect(new URL(consent.url).pathname).toBe("/consent");
  const claims = await finishFlow(browser, consent, "strict-web", state);
  expect(claims.email_verified).toBe(true);
  expect(claims.email).toBe(email);
});

test("require-verified-email: the link opened on another device, then 'continue' where the sign-in waits", async () => {
  const browser = new Browser();
  const email = newEmail();
  const { page, state } = await signUp(browser, "strict-web", email);
  const early = await browser.submit(page, "#continue-form");
  expect(early.status).toBe(409);
  expect(early.text("#error")).toMatch(/not verified yet/);

  const phone = new Browser();
  const confirm = await phone.get(linkIn(await stack.mailpit!.waitForMessage({ to: email })));
  await phone.submit(confirm, "#verify-form");
  const consent = await browser.submit(early, "#continue-form", {}, { stopAt: [CALLBACK] });
  expect(new URL(consent.url).pathname).toBe("/consent");
  expect((await finishFlow(browser, consent, "strict-web", state)).email_verified).toBe(true);
});

test("an existing unverified user signing in to a strict audience waits too; a password sign-in elsewhere is not held", async () => {
  const user = await createUser(stack.db, { email: newEmail() });
  await updateRows(stack.db, "users", { id: user.id }, { emailVerified: false });
  const browser = new Browser();
  const start = await startAuthorization(browser, stack, auth("strict-web"));
  const held = await browser.submit(start.page, "#login-form", { email: user.email, password: user.password });
  expect(held.$("#code-form").length).toBe(1);
  // The page says a mail went out, and one did: its code goes on.
  expect(held.text("#context")).toContain(`We sent a mail to ${user.email}`);
  const code = codeIn(await stack.mailpit!.waitForMessage({ to: user.email }));
  const consent = await browser.submit(held, "#code-form", { code }, { stopAt: [CALLBACK] });
  expect(new URL(consent.url).pathname).toBe("/consent");
  expect((await finishFlow(browser, consent, "strict-web", start.state)).email_verified).toBe(true);
});

test("held sign-ins send a mail each within the address's mail budget; past it the page says the earlier mails are the ones to use", async () => {
  const user = await createUser(stack.db, { email: newEmail() });
  await updateRows(stack.db, "users", { id: user.id }, { emailVerified: false });
  const holdOnce = async () => {
    const browser = new Browser();
    const start = await startAuthorization(browser, stack, auth("strict-web"));
    return browser.submit(start.page, "#login-form", { email: user.email, password: user.password });
  };
  for (let i = 1; i <= stack.env.VERIFICATION_MAIL_MAX; i++) expect((await holdOnce()).text("#context")).toContain(`We sent a mail to ${user.email}`);
  const spent = await holdOnce();
  expect(spent.$("#code-form").length).toBe(1);
  expect(spent.text("#context")).toContain(`We already sent mails to ${user.email} a short while ago`);
  // Each mail was written with its page (the outbox), the refused one not at all.
  expect(await countRows(stack.db, "outbox", { userId: user.id, template: "verify-email" })).toBe(stack.env.VERIFICATION_MAIL_MAX);
});

test("refused clearly: an expired link, a link replaced by a newer mail, another account's link, a garbage link", async () => {
  const browser = new Browser();
  const email = newEmail();
  const { page } = await signUp(browser, "strict-web", email);
  const first = linkIn(await stack.mailpit!.waitForMessage({ to: email }));

  // A new mail replaces the first one.
  await stack.mailpit!.deleteAll();
  await browser.submit(page, "#resend-form");
  const second = linkIn(await stack.mailpit!.waitForMessage({ to: email }));
  const replaced = await new Browser().get(first);
  expect(replaced.status).toBe(410);
  expect(replaced.text("#error")).toMatch(/newer mail/);

  // Another account is signed in on this browser.
  const other = await createUser(stack.db, { email: newEmail() });
  const otherBrowser = new Browser();
  const s = await startAuthorization(otherBrowser, stack, auth("open-web"));
  await otherBrowser.submit(s.page, "#login-form", { email: other.email, password: other.password });
  const foreign = await otherBrowser.get(second);
  expect(foreign.status).toBe(403);
  expect(foreign.text("#error")).toMatch(/another account/);

  // Expired.
  const owners = (await findRows(stack.db, "users", { email })).map((u) => u.id);
  await updateRows(stack.db, "one_time_tokens", { userId: { in: owners }, usedAt: null }, { expiresAt: new Date(Date.now() - 1000) });
  const expired = await new Browser().get(second);
  expect(expired.status).toBe(410);
  expect(expired.text("#error")).toMatch(/expired/);

  expect((await new Browser().get(`${stack.appUrl}/verification?token=${"x".repeat(43)}`)).status).toBe(404);
  expect((await new Browser().get(`${stack.appUrl}/verification?token=<script>`)).status).toBe(400);
  expect((await getRow(stack.db, "users", { email })).emailVerified).toBe(false);
});

test("sign-up in German (ui_locales=de): the verification mail is German, and so are the new mail, its notice and the confirmation", async () => {
  const browser = new Browser();
  const email = newEmail();
  const { page, state } = await signUp(browser, "strict-web", email, "de");
  expect(page.$("html").attr("lang")).toBe("de");
  expect(page.$("#code-form").length).toBe(1);

  const mail = await stack.mailpit!.waitForMessage({ to: email, subject: /Bestätigen Sie Ihre E-Mail-Adresse/ });
  expect(mail.subject).toMatch(/^Bestätigen Sie Ihre E-Mail-Adresse – \S/); // the product's name
  expect(mail.text).toContain(`bitte bestätigen Sie, dass ${email} Ihre E-Mail-Adresse ist`);
  expect(mail.text).toMatch(/geben Sie dort diesen Code ein: \d{6}/);
  expect(mail.text).toMatch(/laufen am \d{1,2}\. \S+ \d{4}, \d{2}:\d{2} UTC ab/);
  expect(mail.text).not.toMatch(/Hello|Confirm|expire/);
  expect(mail.html).toContain('<html lang="de">');
  expect(mail.html).toContain("Meine E-Mail-Adresse bestätigen");

  // A new mail asked for on the German page is German too.
  await stack.mailpit!.deleteAll();
  const resent = await browser.submit(page, "#resend-form");
  expect(resent.text("#notice")).toContain(`Wir haben eine neue E-Mail an ${email} gesendet`);
  const again = await stack.mailpit!.waitForMessage({ to: email, subject: /Bestätigen Sie Ihre E-Mail-Adresse/ });
  const wrong = await browser.submit(resent, "#code-form", { code: codeIn(again) === "123456" ? "654321" : "123456" });
  expect(wrong.status).toBe(400);
  expect(wrong.text("#error")).toContain("Dieser Code stimmt nicht");

  // The link opened in a German browser: the confirmation pages are German.
  const phone = new Browser();
  await phone.jar.setCookie("lang=de", stack.appUrl);
  const confirm = await phone.get(linkIn(again));
  expect(confirm.text("h1")).toBe("E-Mail-Adresse bestätigen");
  const done = await phone.submit(confirm, "#verify-form");
  expect(done.text("#message")).toBe(`Vielen Dank: ${email} ist bestätigt.`);
  const consent = await browser.submit(wrong, "#continue-form", {}, { stopAt: [CALLBACK] });
  expect((await finishFlow(browser, consent, "strict-web", state)).email_verified).toBe(true);
});

test("SMTP down: sign-up still works and nothing is half-written; the mail arrives once SMTP is back", async () => {
  await stack.mailpit!.stop();
  const browser = new Browser();
  const email = newEmail();
  let page: Page;
  let state: string;
  try {
    ({ page, state } = await signUp(browser, "open-web", email));
    expect(page.status).toBe(200);
    expect(page.$("#code-form").length).toBe(1);
    const user = await getRow(stack.db, "users", { email });
    const queued = await findRows(stack.db, "outbox", { to: email });
    expect(queued).toHaveLength(1);
    expect(queued[0]!.sentAt).toBeNull();
    expect(await countRows(stack.db, "one_time_tokens", { userId: user.id })).toBe(1);
  } finally {
    await stack.mailpit!.start();
  }
  const mail = await stack.mailpit!.waitForMessage({ to: email, timeoutMs: 30_000 });
  expect(linkIn(mail)).toBeTruthy();
  // The worker marks the row sent after SMTP accepted the mail, so Mailpit may show it a moment before.
  let row = await getRow(stack.db, "outbox", { to: email });
  for (const until = Date.now() + 10_000; !row.sentAt && Date.now() < until; ) {
    await new Promise((r) => setTimeout(r, 100));
    row = await getRow(stack.db, "outbox", { to: email });
  }
  expect(row.sentAt).not.toBeNull();
  expect(row.attempts).toBeGreaterThanOrEqual(2);
  const consent = await browser.submit(page!, "#code-form", { code: codeIn(mail) }, { stopAt: [CALLBACK] });
  expect((await finishFlow(browser, consent, "open-web", state!)).email_verified).toBe(true);
});
