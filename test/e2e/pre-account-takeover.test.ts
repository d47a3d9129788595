// The outside attacker's findings, replayed as attacks on the real stack (Hydra, PostgreSQL, Mailpit):
// a pre-account takeover (an account made with someone else's address, used before its owner resets
// the password by mail), tokens kept across a reset by mail, links and codes left in the outbox, mail
// left behind by a deleted account, a budget of code guesses renewed by deleting and re-creating the
// account, and text of the attacker's choosing in mail to an address nobody confirmed.
import { Browser, type Page } from "../support/browser";
import { startStack, type Stack } from "../support/stack";
import { CALLBACK, createUser, runCommand } from "../support/fixtures";
import { callbackParams, exchangeCode, introspect, startAuthorization, tokenRequest, userinfo } from "../support/oauth";
import { createStore } from "../../src/services/store";
import { createPool } from "../../src/services/db";
import { createMailer, enqueueMail } from "../../src/services/mail";
import { OUTBOX_MAX_ATTEMPTS } from "../../src/decisions/outbox";
import { createLogger } from "../../src/logger";
import { freePort } from "../support/ports";
import { createDatabase, databaseUrl, dropDatabase, uniqueName } from "../support/pg";
import { countRows, findRows, getRow, updateRows } from "../support/db";

jest.setTimeout(180_000);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    config: {
      // An audience that does not require a verified address: what the attacker looks for.
      audiences: [{ id: "lax", name: "Lax App" }],
      clients: [{ id: "lax-web", name: "Lax Web", audience: "lax", "secret-env": "LAX_SECRET", "redirect-uris": [CALLBACK], scopes: ["openid", "profile", "email", "offline_access"] }],
    },
  });
});
afterAll(async () => stack?.stop());

const SCOPE = "openid profile email offline_access";
const auth = { clientId: "lax-web", redirectUri: CALLBACK, scope: SCOPE };
const ATTACKER_PASSWORD = "attacker-lantern-orbit-93";
const VICTIM_PASSWORD = "victim-quiver-basalt-57";
const INJECTED = "Prize! Claim it at http://evil.example/claim now";
let counter = 0;
const victimAddress = () => `victim-${Date.now()}-${++counter}@example.com`;
const secret = () => stack.secrets.LAX_SECRET!;
const store = () => createStore({ pool: stack.db });

async function signUp(browser: Browser, email: string, name = INJECTED): Promise<Page> {
  const start = await startAuthorization(browser, stack, auth);
  const form = await browser.get(`${stack.appUrl}${start.page.$("#sign-up a").attr("href")}`);
  return browser.submit(form, "#registration-form", { email, name, password: ATTACKER_PASSWORD }, { stopAt: [CALLBACK] });
}

/** Signs in with the password and allows the consent; the callback page, or the page it stopped at. */
async function signIn(browser: Browser, email: string, password: string): Promise<{ page: Page; state: string }> {
  const start = await startAuthorization(browser, stack, auth);
  let page = await browser.submit(start.page, "#login-form", { email, password }, { stopAt: [CALLBACK] });
  if (page.$("#consent-form").length) page = await browser.submit(page, "#consent-form", {}, { button: ["decision", "allow"], stopAt: [CALLBACK] });
  return { page, state: start.state };
}

async function tokensFor(email: string, password: string) {
  const { page, state } = await signIn(new Browser(), email, password);
  const code = callbackParams(page, CALLBACK, state).get("code")!;
  return exchangeCode(stack, { clientId: "lax-web", secret: secret(), code, redirectUri: CALLBACK });
}

const refresh = (refreshToken: string) => tokenRequest(stack, { grant_type: "refresh_token", refresh_token: refreshToken }, { clientId: "lax-web", secret: secret() });

/** The victim resets the password through "Forgot password?" and the link in the mail. */
async function resetByMail(email: string): Promise<Page> {
  const browser = new Browser();
  const request = await browser.get(`${stack.appUrl}/recovery`);
  await browser.submit(request, "#recovery-form", { email });
  const mail = await stack.mailpit!.waitForMessage({ to: email, subject: /Reset your password/ });
  const link = stack.mailpit!.links(mail).find((l) => l.includes("/recovery/reset?token="))!;
  const form = await browser.get(link);
  return browser.submit(form, "#reset-form", { password: VICTIM_PASSWORD }, { stopAt: [CALLBACK] });
}

test("an account made with someone else's address signs in nowhere until the address is confirmed, whatever the audience requires", async () => {
  const email = victimAddress();
  const held = await signUp(new Browser(), email);
  expect(held.$("#code-form").length).toBe(1);
  const row = await getRow(stack.db, "users", { email });
  expect(row.pendingSince).not.toBeNull();

  // Later, from another browser, with the password it chose: held on "check your inbox", no code.
  const { page } = await signIn(new Browser(), email, ATTACKER_PASSWORD);
  expect(page.url.startsWith(CALLBACK)).toBe(false);
  expect(new URL(page.url).pathname).toBe("/login");
  expect(page.$("#code-form").length).toBe(1);
  // Nor through the account page's own client.
  const account = new Browser();
  const accountLogin = await account.get(`${stack.appUrl}/account/login`);
  const accountHeld = await account.submit(accountLogin, "#login-form", { email, password: ATTACKER_PASSWORD });
  expect(accountHeld.$("#code-form").length).toBe(1);
  expect((await findRows(stack.db, "session")).some((s) => (s.sess as { userId?: string }).userId === row.id)).toBe(false);
});

test("an account made and used before its address was confirmed (no pending mark, as accounts from before it): the owner's reset by mail revokes its tokens and clears what its maker typed", async () => {
  const email = victimAddress();
  await signUp(new Browser(), email);
  const made = await getRow(stack.db, "users", { email });
  await updateRows(stack.db, "users", { id: made.id }, { pendingSince: null, attributes: { team: "attackers" }, givenName: "Prize!" });

  // The attacker signs in to an audience that does not require a verified address, offline_access.
  const tokens = await tokensFor(email, ATTACKER_PASSWORD);
  expect(tokens.refresh_token).toBeTruthy();
  expect((await userinfo(stack, tokens.access_token)).json).toMatchObject({ sub: made.id, email });
  expect(await countRows(stack.db, "consents", { userId: made.id })).toBe(1);

  // The victim hears "someone tried to sign up with your address" and resets the password by mail.
  await signUp(new Browser(), email, "Victor Victim");
  const warning = await stack.mailpit!.waitForMessage({ to: email, subject: /sign up|account/i });
  expect(warning.text).not.toContain("Prize");
  const done = await resetByMail(email);
  expect(done.status).toBe(200);
  expect(done.text("#message")).toMatch(/may have been made by someone else/);
  expect(done.text("#message")).toMatch(/permissions it had given to applications were removed/);

  // The attacker's tokens no longer work.
  expect((await refresh(tokens.refresh_token!)).status).toBeGreaterThanOrEqual(400);
  expect((await introspect(stack, tokens.access_token)).active).toBe(false);
  expect((await userinfo(stack, tokens.access_token)).status).toBe(401);
  // What the maker typed and allowed is gone; the address is confirmed; the victim signs in.
  const after = await getRow(stack.db, "users", { id: made.id });
  expect(after).toMatchObject({ name: null, givenName: null, familyName: null, attributes: {}, emailVerified: true, pendingSince: null });
  expect(await countRows(stack.db, "consents", { userId: made.id })).toBe(0);
  expect(await countRows(stack.db, "consent_events", { userId: made.id, action: "REVOKE" })).toBe(1);
  const mine = await tokensFor(email, VICTIM_PASSWORD);
  expect(jsonPayloadName(mine.id_token!)).toBeUndefined();
});

const jsonPayloadName = (idToken: string) => (JSON.parse(Buffer.from(idToken.split(".")[1]!, "base64url").toString()) as { name?: string }).name;

test("a password reset by mail of a confirmed account revokes its tokens at Hydra too, and keeps its details", async () => {
  const user = await createUser(stack.db, { name: "Ada Lovelace" });
  const tokens = await tokensFor(user.email, user.password);
  expect((await introspect(stack, tokens.access_token)).active).toBe(true);

  const done = await resetByMail(user.email);
  expect(done.text("#message")).toMatch(/Every device and application that was signed in has been signed out/);
  expect((await refresh(tokens.refresh_token!)).status).toBeGreaterThanOrEqual(400);
  expect((await introspect(stack, tokens.access_token)).active).toBe(false);
  expect(await getRow(stack.db, "users", { id: user.id })).toMatchObject({ name: "Ada Lovelace", emailVerified: true });
  // The consent the user gave is kept: only tokens and sessions end.
  expect(await countRows(stack.db, "consents", { userId: user.id })).toBe(1);
});

test("mail sent keeps no link or code in the outbox", async () => {
  const email = victimAddress();
  await signUp(new Browser(), email);
  const mail = await stack.mailpit!.waitForMessage({ to: email, subject: /Confirm your email address/ });
  const link = stack.mailpit!.links(mail).find((l) => l.includes("/verification?token="))!;
  const code = /\b(\d{6})\b/.exec(mail.text)![1]!;
  // Marked sent right after the SMTP server took it (Mailpit may show it a moment before).
  let row = await getRow(stack.db, "outbox", { to: email });
  for (let i = 0; i < 50 && !row.sentAt; i++) {
    await new Promise((r) => setTimeout(r, 100));
    row = await getRow(stack.db, "outbox", { to: email });
  }
  expect(row.sentAt).not.toBeNull();
  const stored = JSON.stringify(row, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v));
  expect(stored).not.toContain(new URL(link).searchParams.get("token")!);
  expect(stored).not.toContain(code);
  expect(row.data).toEqual({});
});

test("mail given up after its last attempt keeps no link either", async () => {
  // A database of its own (no app's sender competes for the row) and a sender pointed at a closed
  // port: every attempt fails.
  const dbName = uniqueName("outbox_given_up");
  await createDatabase(dbName, process.env.TEST_APP_DB_TEMPLATE);
  const pool = createPool(databaseUrl(dbName), { max: 2 });
  const mailer = createMailer({ pool, smtpUrl: `smtp://127.0.0.1:${await freePort()}`, from: stack.env.MAIL_FROM, timeoutMs: 2000, logger: createLogger("silent"), pollMs: 3_600_000 });
  const row = async () => (await pool.query<{ attempts: number; sent_at: Date | null; data: object; last_error: string | null }>("SELECT attempts, sent_at, data, last_error FROM outbox")).rows[0]!;
  try {
    const to = victimAddress();
    const link = "http://127.0.0.1/recovery/reset?token=secret-token-of-a-doomed-mail";
    await enqueueMail(pool, { to, userId: null, template: "recovery", data: { email: to, link, expiresAt: new Date().toISOString() } });
    await pool.query("UPDATE outbox SET attempts = $1", [OUTBOX_MAX_ATTEMPTS - 2]);
    await mailer.flush();
    expect(await row()).toMatchObject({ attempts: OUTBOX_MAX_ATTEMPTS - 1, sent_at: null, data: { link } }); // a later attempt still needs it
    await pool.query("UPDATE outbox SET next_attempt_at = now() - interval '1 second'");
    await mailer.flush();
    const given = await row();
    expect(given).toMatchObject({ attempts: OUTBOX_MAX_ATTEMPTS, sent_at: null, data: {} });
    expect(given.last_error).toBeTruthy();
  } finally {
    await mailer.close();
    await pool.end();
    await dropDatabase(dbName);
  }
});

test("deleting an account deletes its mail in the outbox with it", async () => {
  const user = await createUser(stack.db);
  await resetByMail(user.email); // a recovery mail and a "password changed" mail, about this account
  expect(await countRows(stack.db, "outbox", { userId: user.id })).toBe(2);
  const env = { ...process.env, DATABASE_URL: stack.env.DATABASE_URL, HYDRA_ADMIN_URL: stack.hydraAdminUrl };
  const deleted = await runCommand("bash", ["-c", `npm run --silent user:delete -- --email ${user.email}`], env);
  expect(deleted.code).toBe(0);
  expect(await countRows(stack.db, "outbox", { to: user.email })).toBe(0);
});

test("deleting and re-creating the account gives no new budget of code guesses: refused at the limit per address", async () => {
  const email = victimAddress();
  const codeOf = async () => /\b(\d{6})\b/.exec((await stack.mailpit!.waitForMessage({ to: email, subject: /Confirm your email address/ })).text)![1]!;
  let browser = new Browser();
  let page = await signUp(browser, email);
  const wrong = (right: string) => (right === "000000" ? "111111" : "000000");
  let right = await codeOf();
  const limit = stack.env.VERIFICATION_CODE_MAX_PER_ADDRESS;
  let guesses = 0;
  for (let round = 0; guesses < limit; round++) {
    if (round > 0) {
      // Delete the pending account (as the pruning does) and sign up again: a new account, a new mail.
      await updateRows(stack.db, "users", { email }, { pendingSince: new Date(Date.now() - 8 * 86_400_000) });
      expect(await store().prunePendingAccounts(7 * 86_400)).toBe(1);
      await stack.mailpit!.deleteAll();
      browser = new Browser();
      page = await signUp(browser, email);
      right = await codeOf();
    }
    for (let i = 0; i < 4 && guesses < limit; i++, guesses++) {
      page = await browser.submit(page, "#code-form", { code: wrong(right) });
      expect(page.status).toBe(400);
    }
  }
  // The budget of the address is spent: even the right code is refused now, with when to try again.
  const refused = await browser.submit(page, "#code-form", { code: right });
  expect(refused.status).toBe(429);
  expect(refused.text("#error")).toMatch(/Too many codes were tried for this address/);
  expect((await getRow(stack.db, "users", { email })).emailVerified).toBe(false);
});

test("mail to an address nobody confirmed carries nothing the requester typed, in the text and the HTML alike", async () => {
  const email = victimAddress();
  await signUp(new Browser(), email);
  const mail = await stack.mailpit!.waitForMessage({ to: email, subject: /Confirm your email address/ });
  for (const part of [mail.text, mail.html]) {
    expect(part).not.toContain("evil.example");
    expect(part).not.toContain("Prize");
  }
  const greeting = (s: string) => /Hello[^\n<]*/.exec(s)?.[0]?.trim();
  expect(greeting(mail.text)).toBe("Hello,");
  expect(greeting(mail.html)).toBe(greeting(mail.text));

  // The owner of an address with a pending account, told that someone signed up with it: greeted by nobody either.
  await stack.mailpit!.deleteAll();
  await signUp(new Browser(), email, "Someone Else");
  const exists = await stack.mailpit!.waitForMessage({ to: email });
  expect(exists.text).not.toContain("Prize");
  expect(exists.html).not.toContain("Prize");
});

test("a pending account older than PENDING_ACCOUNT_TTL_SECONDS is deleted and its address is free; other accounts stay", async () => {
  const email = victimAddress();
  await signUp(new Browser(), email);
  const adminMade = await createUser(stack.db);
  await updateRows(stack.db, "users", { id: adminMade.id }, { emailVerified: false });
  await updateRows(stack.db, "users", { email }, { pendingSince: new Date(Date.now() - (stack.env.PENDING_ACCOUNT_TTL_SECONDS + 60) * 1000) });
  expect(await store().prunePendingAccounts(stack.env.PENDING_ACCOUNT_TTL_SECONDS)).toBe(1);
  expect(await countRows(stack.db, "users", { email })).toBe(0);
  expect(await countRows(stack.db, "users", { id: adminMade.id })).toBe(1);
  // An admin-made account without a confirmed address is not pending: it signs in as before.
  const { page, state } = await signIn(new Browser(), adminMade.email, adminMade.password);
  expect(callbackParams(page, CALLBACK, state).get("code")).toBeTruthy();
  // The address signs up again as a new account.
  await signUp(new Browser(), email, "Victor Victim");
  expect(await countRows(stack.db, "users", { email })).toBe(1);
});
