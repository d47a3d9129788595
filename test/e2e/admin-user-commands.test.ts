// The admin commands' behaviour beyond the README's examples (test/e2e/admin-commands.test.ts runs
// those): refused input, disabling and enabling a signed-in user, a recovery mail with the SMTP server
// down. Each command runs as a reader would run it (npm run), with only the variables it needs.
import net from "node:net";
import { randomBytes } from "node:crypto";
import { startStack, type Stack } from "../support/stack";
import { runCommand } from "../support/fixtures";
import { adminEnvironment } from "../support/readme-commands";
import { Browser } from "../support/browser";
import { countRows, findRow } from "../support/db";

jest.setTimeout(300_000);

let stack: Stack;
const secrets = new Map<string, string>();
beforeAll(async () => {
  stack = await startStack({ config: {} });
});
afterAll(async () => stack?.stop());

const environmentFor = (names: readonly string[]) => adminEnvironment(stack, names, secrets);

test("user:create refuses malformed --attribute options with a clear message and writes nothing", async () => {
  const env = environmentFor(["DATABASE_URL"]);
  const email = `attr-${randomBytes(4).toString("hex")}@example.com`;
  const cases: [string[], string][] = [
    [["--attribute", "username"], '--attribute "username": expected key=value'],
    [["--attribute", "user name=ada"], 'the key "user name" must be 1-64 letters, digits'],
    [["--attribute", "=ada"], 'the key "" must be 1-64 letters, digits'],
    [["--attribute", "username="], '--attribute "username=": the value is empty'],
    [["--attribute", "__proto__=x"], 'the key "__proto__" is not allowed'],
    [["--attribute", "a=1", "--attribute", "a=2"], 'the key "a" is given twice'],
  ];
  for (const [args, message] of cases) {
    const r = await runCommand("npm", ["run", "--silent", "user:create", "--", "--email", email, "--password", "a long passphrase", ...args], env);
    expect({ args, code: r.code }).toEqual({ args, code: 1 });
    expect(r.stderr).toMatch(/^user:create: /);
    expect(r.stderr).toContain(message);
  }
  expect(await findRow(stack.db, "users", { emailNormalized: email })).toBeNull();
});

test("a disabled user cannot sign in (their sessions ended) and can again once enabled; unknown addresses are refused", async () => {
  const env = environmentFor(["DATABASE_URL", "HYDRA_ADMIN_URL"]);
  const email = `disable-${randomBytes(4).toString("hex")}@example.com`;
  const password = "a long passphrase for disabling";
  const created = await runCommand("npm", ["run", "--silent", "user:create", "--", "--email", email, "--password", password], env);
  expect(created.code).toBe(0);
  const user = (await findRow(stack.db, "users", { emailNormalized: email }))!;

  /** Opens /account (the app's own client) and signs in on the form, "remember me" ticked. */
  const signIn = async (browser: Browser) => browser.submit(await browser.get(`${stack.appUrl}/account`), "#login-form", { email, password, remember: "on" });
  const browser = new Browser();
  const signedIn = await signIn(browser);
  expect(new URL(signedIn.url).pathname).toBe("/account");

  const disabled = await runCommand("npm", ["run", "--silent", "user:disable", "--", "--email", email], env);
  expect(disabled.code).toBe(0);
  expect(disabled.stdout).toContain(`user ${email} (id ${user.id}): disabled`);
  // The browser's app session ended and Hydra no longer remembers it: it is asked to sign in, and refused.
  const asked = await browser.get(`${stack.appUrl}/account`);
  expect(new URL(asked.url).pathname).toBe("/login");
  const refused = await browser.submit(asked, "#login-form", { email, password });
  expect(refused.status).toBe(403);
  expect(refused.text("#error")).toMatch(/disabled/);
  expect((await runCommand("npm", ["run", "--silent", "user:disable", "--", "--email", email], env)).stdout).toContain("already disabled since");

  const enabled = await runCommand("npm", ["run", "--silent", "user:enable", "--", "--email", email], environmentFor(["DATABASE_URL"]));
  expect(enabled.code).toBe(0);
  expect(enabled.stdout).toContain(`user ${email} (id ${user.id}): enabled`);
  const again = await signIn(new Browser());
  expect(new URL(again.url).pathname).toBe("/account");
  expect(again.text("main")).toContain(email);
  // The first browser still holds Hydra's cookie of the login session the disabling ended; signing
  // in there again without "stay signed in" works too (the cookie Hydra sets now ends with the browser).
  const stale = await browser.cookie(stack.hydraPublicUrl, "ory_hydra_session");
  const unticked = await browser.submit(await browser.get(`${stack.appUrl}/account`), "#login-form", { email, password });
  expect(new URL(unticked.url).pathname).toBe("/account");
  const fresh = await browser.cookie(stack.hydraPublicUrl, "ory_hydra_session");
  expect(fresh).toMatchObject({ persistent: false });
  expect(fresh!.value).not.toBe(stale!.value);

  for (const action of ["disable", "enable", "delete"]) {
    const r = await runCommand("npm", ["run", "--silent", `user:${action}`, "--", "--email", "nobody@example.com"], env);
    expect({ action, code: r.code }).toEqual({ action, code: 1 });
    expect(r.stderr).toContain(`user:${action}: there is no user nobody@example.com; nothing was changed`);
  }
  // Without Hydra's admin URL, disabling changes nothing.
  const noHydra = await runCommand("npm", ["run", "--silent", "user:disable", "--", "--email", email], environmentFor(["DATABASE_URL"]));
  expect(noHydra.code).toBe(1);
  expect(noHydra.stderr).toContain("set HYDRA_ADMIN_URL");
  expect((await findRow(stack.db, "users", { id: user.id }))!.disabledAt).toBeNull();
});

test("user:reset-password with the SMTP server down: the mail is queued, said plainly, and the running app sends it later; unknown and disabled users are refused", async () => {
  const email = `reset-${randomBytes(4).toString("hex")}@example.com`;
  expect((await runCommand("npm", ["run", "--silent", "user:create", "--", "--email", email, "--password", "a long passphrase to reset"], environmentFor(["DATABASE_URL"]))).code).toBe(0);
  const names = ["DATABASE_URL", "APP_BASE_URL", "SMTP_URL", "MAIL_FROM"];
  const closedPort = await new Promise<number>((resolve) => {
    const srv = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
  const down = await runCommand("npm", ["run", "--silent", "user:reset-password", "--", "--email", email], { ...environmentFor(names), SMTP_URL: `smtp://127.0.0.1:${closedPort}`, SMTP_TIMEOUT_MS: "1000" });
  expect(down.code).toBe(0);
  expect(down.stdout).toContain(`recovery mail queued for ${email} but NOT sent yet: the SMTP server at smtp://127.0.0.1:${closedPort}`);
  expect(down.stdout).toContain("it stays in the outbox and the running app sends it");
  const row = await findRow(stack.db, "outbox", { to: email, template: "recovery" });
  expect(row).toMatchObject({ sentAt: null, attempts: 1 });
  expect(row!.lastError).toBeTruthy();
  // The running app (whose SMTP server is up) retries it after its back-off.
  const mail = await stack.mailpit!.waitForMessage({ to: email, subject: /Reset your password/, timeoutMs: 30_000 });
  expect(stack.mailpit!.links(mail).some((l) => l.startsWith(`${stack.appUrl}/recovery/reset?token=`))).toBe(true);

  const unknown = await runCommand("npm", ["run", "--silent", "user:reset-password", "--", "--email", "nobody@example.com"], environmentFor(names));
  expect(unknown.code).toBe(1);
  expect(unknown.stderr).toContain("user:reset-password: there is no user nobody@example.com; no mail was sent");

  expect((await runCommand("npm", ["run", "--silent", "user:disable", "--", "--email", email], environmentFor(["DATABASE_URL", "HYDRA_ADMIN_URL"]))).code).toBe(0);
  const disabled = await runCommand("npm", ["run", "--silent", "user:reset-password", "--", "--email", email], environmentFor(names));
  expect(disabled.code).toBe(1);
  expect(disabled.stderr).toContain("is disabled");
  expect(await countRows(stack.db, "outbox", { to: email })).toBe(1);
});
