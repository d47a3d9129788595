// The README's `npm run user:mfa-reset` command, run exactly as written (bash -c, from the repository
// root, with only the variables its "# Environment:" line names) against what `npm run dev` runs: a
// fresh database and a real Hydra with config/demo.yaml and the demo user applied by scripts/dev.sh's
// own lines, and Mailpit. A user with an authenticator and recovery codes loses them, every session
// and token of theirs ends and the notice arrives; without a second factor nothing changes; an
// unknown address, or Hydra not answering, changes nothing; Hydra failing half-way says what is left.
import { Browser } from "../support/browser";
import { freePort, startStack, type Stack } from "../support/stack";
import { appSessionUser, createUser, runCommand, type TestUser } from "../support/fixtures";
import { adminEnvironment, applyDevStackConfig, parsed, readmeAdminCommands } from "../support/readme-commands";
import { callbackParams, exchangeCode, introspect, startAuthorization, tokenRequest, type TokenResponse } from "../support/oauth";
import { countRows, countSessionsOf } from "../support/db";
import { startHttpFaultProxy } from "../support/http-fault-proxy";

jest.setTimeout(300_000);

const COMMANDS = readmeAdminCommands().filter((c) => /\buser:mfa-reset\b/.test(c.line));
const COMMAND = COMMANDS[0]!;
const EMAIL = parsed(COMMAND.line).option("email")!;
/** config/demo.yaml's confidential web client (its secret: DEMO_WEB_CLIENT_SECRET, made up by applyDevStackConfig). */
const WEB = { clientId: "demo-web", redirectUri: "http://127.0.0.1:5555/callback", scope: "openid profile email offline_access" };

/** One value per secret variable, shared by dev.sh's lines and the README's command (as .run/secrets.env is). */
const secrets = new Map<string, string>();
let stack: Stack;
let user: TestUser;

beforeAll(async () => {
  stack = await startStack({ config: {} });
  await applyDevStackConfig(stack, secrets);
});
afterAll(async () => stack?.stop());

/** The README's command line as written, with the variables its "# Environment:" line names (`env`: a change for this run). */
const runReadmeCommand = (env: NodeJS.ProcessEnv = {}) => runCommand("bash", ["-c", COMMAND.line], { ...adminEnvironment(stack, COMMAND.env, secrets), ...env });

/** Signs the user in with "stay signed in" in a new browser (consent allowed) and returns the browser and its tokens. */
async function signInRemembered(): Promise<{ browser: Browser; tokens: TokenResponse }> {
  const browser = new Browser();
  const start = await startAuthorization(browser, stack, WEB);
  let page = await browser.submit(start.page, "#login-form", { email: EMAIL, password: user.password, remember: "on" }, { stopAt: [WEB.redirectUri] });
  if (page.$("#consent-form").length) page = await browser.submit(page, "#consent-form", {}, { button: ["decision", "allow"], stopAt: [WEB.redirectUri] });
  const code = callbackParams(page, WEB.redirectUri, start.state).get("code")!;
  const tokens = await exchangeCode(stack, { clientId: WEB.clientId, secret: secrets.get("DEMO_WEB_CLIENT_SECRET")!, code, redirectUri: WEB.redirectUri });
  expect(tokens.refresh_token).toBeTruthy();
  // A sign-in from a new browser mails a notice (the outbox's worker sends it within its poll): sent
  // before the test empties the mailbox, so that what arrives afterwards is the command's.
  for (let i = 0; i < 100 && (await countRows(stack.db, "outbox", { to: EMAIL, sentAt: null })) > 0; i++) await new Promise((r) => setTimeout(r, 100));
  return { browser, tokens };
}

/** Starts a new authorization in the browser: true when it shows the login form (Hydra does not remember it). */
async function askedToSignIn(browser: Browser): Promise<boolean> {
  const { page } = await startAuthorization(browser, stack, WEB);
  return page.$("#login-form").length === 1;
}

const refresh = (token: string) => tokenRequest(stack, { grant_type: "refresh_token", refresh_token: token }, { clientId: WEB.clientId, secret: secrets.get("DEMO_WEB_CLIENT_SECRET")! });

/** A confirmed authenticator, ten recovery codes and a login session that reached two factors, written directly. */
async function giveSecondFactors(userId: string): Promise<void> {
  // Any text as the secret: the command never opens it.
  await stack.db.query("INSERT INTO totp_factors (user_id, secret, confirmed_at, created_at) VALUES ($1::uuid, 'v1.x.y.z', now(), now())", [userId]);
  await stack.db.query("INSERT INTO recovery_codes (id, user_id, code_hash, created_at) SELECT gen_random_uuid(), $1::uuid, 'hash-' || i, now() FROM generate_series(1, 10) AS i", [userId]);
  await stack.db.query("INSERT INTO login_session_strength (session_id, user_id, acr, amr, created_at) VALUES (gen_random_uuid()::text, $1::uuid, 'aal2', ARRAY['pwd', 'otp'], now())", [userId]);
}

const factorRows = async (userId: string) => ({
  totp: await countRows(stack.db, "totp_factors", { userId }),
  recoveryCodes: await countRows(stack.db, "recovery_codes", { userId }),
  strength: await countRows(stack.db, "login_session_strength", { userId }),
});
const NONE = { totp: 0, recoveryCodes: 0, strength: 0 };
const ALL = { totp: 1, recoveryCodes: 10, strength: 1 };

const output = (r: { code: number; stdout: string; stderr: string }) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

test("the README has the command once, literal, naming what it needs", () => {
  expect(COMMANDS.map((c) => c.line)).toEqual([expect.stringMatching(/^npm run user:mfa-reset -- --email \S+@\S+$/)]);
  expect([...COMMAND.env].sort()).toEqual(["DATABASE_URL", "HYDRA_ADMIN_URL", "MAIL_FROM", "SMTP_URL"]);
});

test("an address nobody has: exit 1 with a clear message, nothing done", async () => {
  const r = await runReadmeCommand();
  expect(r.code).toBe(1);
  expect(r.stderr).toContain(`user:mfa-reset: there is no user ${EMAIL}; nothing was changed`);
  expect(await countRows(stack.db, "outbox", { to: EMAIL })).toBe(0);
});

test("factors and recovery codes removed, every session and token ended, the notice mailed; the password alone signs in", async () => {
  user = await createUser(stack.db, { email: EMAIL, password: "a long passphrase for ada", name: "Ada Lovelace" });
  // Signed in before the factors are written: a remembered browser (app session, Hydra login and consent) with tokens.
  const { browser, tokens } = await signInRemembered();
  expect(await appSessionUser(stack, browser)).toBe(user.id);
  expect((await introspect(stack, tokens.access_token)).active).toBe(true);
  await giveSecondFactors(user.id);
  expect(await factorRows(user.id)).toEqual(ALL);
  await stack.mailpit!.deleteAll();

  const r = await runReadmeCommand();
  expect({ code: r.code, output: output(r) }).toEqual({ code: 0, output: expect.any(String) });
  expect(r.stdout).toContain(
    `user ${EMAIL} (id ${user.id}): second factors removed (authenticator and recovery codes); notice mail sent to ${EMAIL}; ended 1 app session, revoked Hydra login sessions and consent sessions (tokens). They sign in with their password alone now`,
  );
  expect(await factorRows(user.id)).toEqual(NONE);

  // The mail is in the mailbox when the command returns.
  expect(await stack.mailpit!.messages(EMAIL)).toHaveLength(1);
  const mail = await stack.mailpit!.waitForMessage({ to: EMAIL, subject: /^The second factors of your account were removed by an administrator – /, timeoutMs: 1000 });
  expect(mail.text).toContain(`an administrator removed the second factors of your account ${EMAIL}`);
  expect(mail.text).toContain("signing in needs only your password. Set up a new authenticator on your account page");
  expect(mail.text).toContain("If you did not ask for this, contact support right away");
  expect((await countRows(stack.db, "outbox", { to: EMAIL, template: "factors-reset", sentAt: null }))).toBe(0);

  // Access ended everywhere: the app session, Hydra's remembered login, the tokens.
  expect(await appSessionUser(stack, browser)).toBeUndefined();
  expect(await countSessionsOf(stack.db, user.id)).toBe(0);
  expect(await askedToSignIn(browser)).toBe(true);
  expect((await introspect(stack, tokens.access_token)).active).toBe(false);
  expect((await refresh(tokens.refresh_token!)).status).toBeGreaterThanOrEqual(400);

  // The password alone signs in (in a new browser).
  const again = await signInRemembered();
  expect(await appSessionUser(stack, again.browser)).toBe(user.id);
});

test("Hydra failing half-way: exit 2, it says what was not done and how to end the rest (running it again does nothing more)", async () => {
  const { browser, tokens } = await signInRemembered();
  // This browser's app session and that of the browser that signed in at the end of the test before.
  expect(await countSessionsOf(stack.db, user.id)).toBe(2);
  await giveSecondFactors(user.id);
  await stack.mailpit!.deleteAll();
  const proxy = await startHttpFaultProxy(stack.hydraAdminUrl);
  try {
    proxy.failNext(/^\/admin\/oauth2\/auth\/sessions\/consent\?/);
    const r = await runReadmeCommand({ HYDRA_ADMIN_URL: proxy.url });
    expect({ code: r.code, output: output(r) }).toEqual({ code: 2, output: expect.any(String) });
    expect(r.stderr).toContain(`user:mfa-reset: user ${EMAIL} (id ${user.id}): second factors removed (authenticator and recovery codes); notice mail sent to ${EMAIL}; BUT THE USER'S ACCESS WAS NOT FULLY ENDED.`);
    expect(r.stderr).toContain("  done: ended 2 app sessions, revoked Hydra login sessions\n");
    expect(r.stderr).toContain("  not done: Hydra consent sessions (tokens) not revoked");
    expect(r.stderr).toContain(`end the rest with npm run user:disable -- --email ${EMAIL}, then npm run user:enable -- --email ${EMAIL}.`);
  } finally {
    await proxy.close();
  }
  expect(await factorRows(user.id)).toEqual(NONE);
  expect(await stack.mailpit!.messages(EMAIL)).toHaveLength(1);
  expect(await appSessionUser(stack, browser)).toBeUndefined();
  expect((await introspect(stack, tokens.access_token)).active).toBe(true); // the step that failed

  // Run again, it finds no factor and does nothing; what it said to do ends the rest.
  const rerun = await runReadmeCommand();
  expect(rerun.code).toBe(0);
  expect(rerun.stdout).toContain("has no second factor (no confirmed authenticator); nothing was changed");
  expect((await introspect(stack, tokens.access_token)).active).toBe(true);
  const env = adminEnvironment(stack, ["DATABASE_URL", "HYDRA_ADMIN_URL"], secrets);
  expect((await runCommand("npm", ["run", "--silent", "user:disable", "--", "--email", EMAIL], env)).code).toBe(0);
  expect((await runCommand("npm", ["run", "--silent", "user:enable", "--", "--email", EMAIL], env)).code).toBe(0);
  expect((await introspect(stack, tokens.access_token)).active).toBe(false);
});

test("a user without a second factor is told so: nothing removed, no mail, no session ended", async () => {
  const { browser, tokens } = await signInRemembered();
  // An authenticator whose set-up was begun but never confirmed is no second factor: it stays as it is.
  await stack.db.query("INSERT INTO totp_factors (user_id, secret, created_at) VALUES ($1::uuid, 'v1.x.y.z', now())", [user.id]);
  await stack.mailpit!.deleteAll();
  const mails = await countRows(stack.db, "outbox", { to: EMAIL });

  const r = await runReadmeCommand();
  expect({ code: r.code, output: output(r) }).toEqual({ code: 0, output: expect.any(String) });
  expect(r.stdout).toContain(`user ${EMAIL} (id ${user.id}): has no second factor (no confirmed authenticator); nothing was changed: no mail sent, no session ended`);
  expect(await factorRows(user.id)).toEqual({ ...NONE, totp: 1 });
  expect(await countRows(stack.db, "outbox", { to: EMAIL })).toBe(mails);
  expect(await stack.mailpit!.messages(EMAIL)).toHaveLength(0);
  expect(await appSessionUser(stack, browser)).toBe(user.id);
  expect(await askedToSignIn(browser)).toBe(false);
  expect((await introspect(stack, tokens.access_token)).active).toBe(true);
  await stack.db.query("DELETE FROM totp_factors WHERE user_id = $1::uuid", [user.id]);
});

test("Hydra's admin API not answering: exit 1 before anything is done", async () => {
  await giveSecondFactors(user.id);
  const mails = await countRows(stack.db, "outbox", { to: EMAIL });
  const hydraAdminUrl = `http://127.0.0.1:${await freePort()}`;
  const r = await runReadmeCommand({ HYDRA_ADMIN_URL: hydraAdminUrl });
  expect(r.code).toBe(1);
  expect(r.stderr).toContain(`user:mfa-reset: Ory Hydra's admin API at ${hydraAdminUrl} (HYDRA_ADMIN_URL) is not reachable or not ready. Nothing was changed.`);
  expect(await factorRows(user.id)).toEqual(ALL);
  expect(await countRows(stack.db, "outbox", { to: EMAIL })).toBe(mails);
});
