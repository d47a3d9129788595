// Every command of the README's "Admin scripts" section, run exactly as written (bash -c, from the
// repository root) against a fresh database and a real Hydra, with only the environment variables
// the README's "# Environment:" line names. A README admin command that does not work fails here.
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { randomBytes } from "node:crypto";
import YAML from "yaml";
import { configSnapshot, startStack, type Stack } from "../support/stack";
import { ROOT } from "../support/paths";
import { runCommand, type CommandResult } from "../support/fixtures";
import { invitationCodeHash, normalizeEmail } from "../../src/services/store";
import { verifyPassword } from "../../src/services/passwords";
import { Browser } from "../support/browser";

jest.setTimeout(300_000);

interface ReadmeCommand {
  line: string;
  /** Variables named by the last "# Environment:" line before the command, in its block. */
  env: string[];
}

/** The shell commands of the README's "## Admin scripts" section, block by block, in order. */
function readmeAdminCommands(): ReadmeCommand[] {
  const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
  const start = readme.indexOf("\n## Admin scripts\n");
  if (start < 0) throw new Error('README.md has no "## Admin scripts" section');
  const rest = readme.slice(start + 1);
  const next = rest.indexOf("\n## ", 3);
  const section = next < 0 ? rest : rest.slice(0, next);
  const commands: ReadmeCommand[] = [];
  for (const block of section.matchAll(/^```(?:sh|bash|shell)\n([\s\S]*?)^```$/gm)) {
    let env: string[] | undefined;
    let pending = "";
    for (const raw of block[1]!.split("\n")) {
      const line = pending + raw;
      pending = "";
      const envLine = /^#\s*Environment:\s*(.*)$/.exec(line.trim());
      if (envLine) {
        env = envLine[1]!.split(/[,\s]+/).filter(Boolean);
        for (const name of env) if (!/^[A-Z][A-Z0-9_]*$/.test(name)) throw new Error(`README "# Environment:" line names "${name}", which is not a variable name`);
        continue;
      }
      if (line.trim() === "" || line.trim().startsWith("#")) continue;
      if (line.endsWith("\\")) {
        pending = line.slice(0, -1);
        continue;
      }
      if (!env) throw new Error(`README admin command without an "# Environment:" line before it in its block: ${line}`);
      commands.push({ line: line.trim(), env });
    }
  }
  return commands;
}

/** Splits a command line the way a POSIX shell would for the simple quoting the README uses. */
function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (/\s/.test(ch)) {
      if (word !== null) words.push(word);
      word = null;
    } else if (ch === "#" && word === null) {
      break;
    } else if (ch === "'") {
      const end = line.indexOf("'", i + 1);
      word = (word ?? "") + line.slice(i + 1, end);
      i = end;
    } else if (ch === '"') {
      const end = line.indexOf('"', i + 1);
      word = (word ?? "") + line.slice(i + 1, end);
      i = end;
    } else if (ch === "\\") {
      word = (word ?? "") + line[++i];
    } else word = (word ?? "") + ch;
  }
  if (word !== null) words.push(word);
  return words;
}

/** The values of `--name value` options (repeatable), and the leading VAR=value assignments. */
function parsed(line: string) {
  const words = shellWords(line);
  const assignments: Record<string, string> = {};
  while (words.length && /^[A-Z_][A-Z0-9_]*=/.test(words[0]!)) {
    const [k, ...v] = words.shift()!.split("=");
    assignments[k!] = v.join("=");
  }
  const options = (name: string) => words.flatMap((w, i) => (w === `--${name}` && words[i + 1] !== undefined ? [words[i + 1]!] : []));
  const option = (name: string) => options(name)[0];
  const flag = (name: string) => words.includes(`--${name}`);
  return { words, assignments, options, option, flag };
}

const COMMANDS = readmeAdminCommands();
const secrets = new Map<string, string>();
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ config: {} });
});
afterAll(async () => stack?.stop());

/** The environment the README names: these variables with this stack's values, and no others of the app's. */
function environmentFor(names: readonly string[]): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) {
    if (["DATABASE_URL", "HYDRA_ADMIN_URL", "HYDRA_PUBLIC_URL", "APP_BASE_URL", "AUDIENCES_CONFIG", "ACCOUNT_CLIENT_ID", "SMTP_URL", "MAIL_FROM"].includes(key) || /_SECRETS?$/.test(key)) delete env[key];
  }
  for (const name of names) {
    if (name === "DATABASE_URL") env[name] = stack.env.DATABASE_URL;
    else if (name === "HYDRA_ADMIN_URL") env[name] = stack.hydraAdminUrl;
    else if (name === "APP_BASE_URL") env[name] = stack.appUrl;
    else if (name === "SMTP_URL") env[name] = stack.mailpit!.smtpUrl;
    else if (name === "MAIL_FROM") env[name] = "Sign-in service <no-reply@localhost>";
    else if (/_SECRET$/.test(name)) {
      if (!secrets.has(name)) secrets.set(name, randomBytes(16).toString("hex"));
      env[name] = secrets.get(name);
    } else throw new Error(`the README names ${name}, which this test does not know how to provide`);
  }
  return env;
}

const snapshot = () => configSnapshot(stack);

interface ConfigFileShape {
  audiences?: { id: string }[];
  clients?: { id: string; audience: string; "secret-env"?: string }[];
}

/** Checks one README command: it exits with 0 and does what the README says. */
async function runAndCheck(cmd: ReadmeCommand): Promise<void> {
  const p = parsed(cmd.line);
  const env = environmentFor(cmd.env);
  const run = (): Promise<CommandResult> => runCommand("bash", ["-c", cmd.line], env);
  const ok = (r: CommandResult) => {
    if (r.code !== 0) throw new Error(`README command failed (exit ${r.code}): ${cmd.line}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
    return `${r.stdout}\n${r.stderr}`;
  };

  if (/\bseed\b/.test(cmd.line)) {
    const file = p.option("config") ?? p.assignments.AUDIENCES_CONFIG ?? "config/audiences.yaml";
    const config = YAML.parse(fs.readFileSync(path.join(ROOT, file), "utf8")) as ConfigFileShape;
    for (const c of config.clients ?? []) {
      if (c["secret-env"]) expect({ command: cmd.line, needs: cmd.env.includes(c["secret-env"]) }).toEqual({ command: cmd.line, needs: true });
    }
    const before = await snapshot();
    const out = ok(await run());
    expect(out).toContain(`seed: ${file}`);
    if (p.flag("dry-run")) {
      expect(out).toContain("(dry run: nothing changed)");
      if (before.audiences.length === 0) expect(out).toContain(`audience ${config.audiences![0]!.id}: would create`);
      expect(await snapshot()).toEqual(before);
      return;
    }
    // Applied: every audience of the file in the store, every client in the store and at Hydra.
    const after = await snapshot();
    const fileAudiences = (config.audiences ?? []).map((a) => a.id).sort();
    if (p.flag("prune")) expect(after.audiences.map((a) => a.id)).toEqual(fileAudiences);
    else expect(after.audiences.map((a) => a.id)).toEqual(expect.arrayContaining(fileAudiences));
    for (const c of config.clients ?? []) {
      expect(after.clients.find((x) => x.id === c.id)?.audienceId).toBe(c.audience);
      const hc = await stack.hydra.getClient(c.id);
      expect(hc?.metadata).toEqual({ audience: c.audience });
      expect(hc?.token_endpoint_auth_method).toEqual(c["secret-env"] ? expect.stringMatching(/^client_secret_/) : "none");
    }
    return;
  }

  if (/\binvitation:create\b/.test(cmd.line)) {
    const out = ok(await run());
    const link = new RegExp(`${stack.appUrl.replace(/[.]/g, "\\.")}/invitation\\?code=([A-Za-z0-9_-]{43})`).exec(out);
    expect(link).not.toBeNull();
    const invitation = await stack.db.invitation.findUnique({ where: { codeHash: invitationCodeHash(link![1]!) } });
    expect(invitation).toMatchObject({ audienceId: p.option("audience"), email: p.option("email") ? normalizeEmail(p.option("email")!) : null, usedAt: null });
    if (p.option("expires-in") === "7d") expect(Math.abs(invitation!.expiresAt.getTime() - (Date.now() + 7 * 86400_000))).toBeLessThan(60_000);
    return;
  }

  if (/\buser:create\b/.test(cmd.line)) {
    const email = p.option("email")!;
    const attributes = Object.fromEntries(p.options("attribute").map((a) => [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)]));
    const before = await stack.db.user.findUnique({ where: { emailNormalized: normalizeEmail(email) } });
    let planted: string | undefined;
    if (before && p.flag("reset-password")) {
      // An app session of this user (as a browser that signed in has one) must end.
      planted = randomBytes(12).toString("hex");
      await stack.db.session.create({ data: { sid: planted, sess: { cookie: {}, userId: before.id }, expire: new Date(Date.now() + 3600_000) } });
    }
    const out = ok(await run());
    const user = await stack.db.user.findUnique({ where: { emailNormalized: normalizeEmail(email) } });
    expect(user).not.toBeNull();
    expect(user!.attributes).toMatchObject({ ...((before?.attributes as object) ?? {}), ...attributes });
    if (!before) {
      expect(out).toContain(`user ${email}: created (id ${user!.id})`);
      expect(await verifyPassword(user!.passwordHash, p.option("password")!)).toBe(true);
      if (p.option("name")) expect(user!.name).toBe(p.option("name"));
      expect(user!.emailVerified).toBe(p.flag("verified"));
    } else if (p.flag("reset-password")) {
      expect(out).toContain(`user ${email}: password reset (id ${user!.id})`);
      expect(await verifyPassword(user!.passwordHash, p.option("password")!)).toBe(true);
      expect(out).toContain("ended 1 app session, revoked Hydra login sessions");
      if (p.flag("keep-tokens")) expect(out).toContain("tokens kept (--keep-tokens)");
      else expect(out).toContain("revoked Hydra login sessions and consent sessions (tokens)");
      expect(await stack.db.session.findUnique({ where: { sid: planted! } })).toBeNull();
    } else {
      expect(out).toContain(`user ${email} exists (id ${user!.id})`);
      expect(user!.passwordHash).toBe(before.passwordHash);
    }
    return;
  }

  if (/\buser:reset-password\b/.test(cmd.line)) {
    const email = p.option("email")!;
    const before = (await stack.db.user.findUnique({ where: { emailNormalized: normalizeEmail(email) } }))!;
    expect(before).not.toBeNull();
    const planted = randomBytes(12).toString("hex");
    await stack.db.session.create({ data: { sid: planted, sess: { cookie: {}, userId: before.id }, expire: new Date(Date.now() + 3600_000) } });
    await stack.mailpit!.deleteAll();
    const out = ok(await run());
    expect(out).toContain(`user ${before.email} (id ${before.id}): recovery mail sent to ${before.email}`);
    // The mail is in the mailbox when the command returns, and its link opens the reset page.
    expect(await stack.mailpit!.messages(email)).toHaveLength(1);
    const mail = await stack.mailpit!.waitForMessage({ to: email, subject: /Reset your password/, timeoutMs: 1000 });
    const link = stack.mailpit!.links(mail).find((l) => l.startsWith(`${stack.appUrl}/recovery/reset?token=`));
    expect(link).toBeTruthy();
    const page = await new Browser().get(link!);
    expect(page.status).toBe(200);
    const after = (await stack.db.user.findUnique({ where: { id: before.id } }))!;
    expect(after.passwordHash).toBe(before.passwordHash); // nothing changes until the link is used
    const session = await stack.db.session.findUnique({ where: { sid: planted } });
    if (p.flag("revoke")) {
      expect(out).toContain("ended 1 app session, revoked Hydra login sessions and consent sessions (tokens)");
      expect(session).toBeNull();
    } else {
      expect(out).not.toContain("revoked");
      expect(session).not.toBeNull();
      await stack.db.session.delete({ where: { sid: planted } });
    }
    return;
  }

  if (/\buser:(disable|enable|delete)\b/.test(cmd.line)) {
    const action = /\buser:(disable|enable|delete)\b/.exec(cmd.line)![1]!;
    const email = p.option("email")!;
    const before = await stack.db.user.findUnique({ where: { emailNormalized: normalizeEmail(email) } });
    expect(before).not.toBeNull(); // the README's earlier commands created the user
    // An app session of this user (as a browser that signed in has one): disable and delete end it.
    const planted = randomBytes(12).toString("hex");
    await stack.db.session.create({ data: { sid: planted, sess: { cookie: {}, userId: before!.id }, expire: new Date(Date.now() + 3600_000) } });
    const out = ok(await run());
    const after = await stack.db.user.findUnique({ where: { emailNormalized: normalizeEmail(email) } });
    const session = await stack.db.session.findUnique({ where: { sid: planted } });
    if (action === "disable") {
      expect(out).toContain(`user ${before!.email} (id ${before!.id}): disabled`);
      expect(out).toContain("ended 1 app session, revoked Hydra login sessions and consent sessions (tokens)");
      expect(after!.disabledAt).not.toBeNull();
      expect(session).toBeNull();
    } else if (action === "enable") {
      expect(out).toContain(before!.disabledAt ? `user ${before!.email} (id ${before!.id}): enabled` : "was not disabled; nothing changed");
      expect(after!.disabledAt).toBeNull();
      expect(after!.passwordHash).toBe(before!.passwordHash);
      await stack.db.session.deleteMany({ where: { sid: planted } });
    } else {
      expect(out).toMatch(new RegExp(`user ${before!.email.replace(/[.]/g, "\\.")} \\(id ${before!.id}\\): deleted; deleted \\d+ consents? and \\d+ consent-history entr(y|ies); revoked Hydra consent sessions \\(tokens\\) and login sessions; ended 1 app session`));
      expect(after).toBeNull();
      expect(await stack.db.consent.count({ where: { userId: before!.id } })).toBe(0);
      expect(await stack.db.consentEvent.count({ where: { userId: before!.id } })).toBe(0);
      expect(session).toBeNull();
    }
    return;
  }

  ok(await run()); // a kind of command this test has no specific check for: it must at least succeed
}

test("the README's admin section has the documented commands", () => {
  const lines = COMMANDS.map((c) => c.line);
  const has = (re: RegExp) => expect({ pattern: String(re), found: lines.some((l) => re.test(l)) }).toEqual({ pattern: String(re), found: true });
  has(/^npm run seed -- --config \S+ --dry-run/);
  has(/^npm run seed -- --config \S+(\s+#.*)?$/);
  has(/^npm run seed -- --config \S+ --prune/);
  has(/^npm run invitation:create -- --audience \S+ --email/);
  has(/^npm run user:create -- .*--attribute \S+=/);
  has(/^npm run user:create -- .*--reset-password(?!.*--keep-tokens)/);
  has(/^npm run user:create -- .*--reset-password --keep-tokens/);
  has(/^npm run user:disable -- --email \S+$/);
  has(/^npm run user:enable -- --email \S+$/);
  has(/^npm run user:delete -- --email \S+$/);
  has(/^npm run user:reset-password -- --email \S+$/);
  has(/^npm run user:reset-password -- --email \S+ --revoke$/);
  for (const c of COMMANDS) expect(c.line).not.toMatch(/…|\.\.\.|<[a-z-]+>|\[--/); // literal: no placeholders, no optional parts
});

// One test per README command, in README order (later commands build on earlier ones, as a reader's would).
test.each(COMMANDS.map((c, i) => [i + 1, c.line, c] as const))("README admin command %i runs as written: %s", async (_i, _line, cmd) => {
  await runAndCheck(cmd);
});

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
  expect(await stack.db.user.findUnique({ where: { emailNormalized: email } })).toBeNull();
});

test("a disabled user cannot sign in (their sessions ended) and can again once enabled; unknown addresses are refused", async () => {
  const env = environmentFor(["DATABASE_URL", "HYDRA_ADMIN_URL"]);
  const email = `disable-${randomBytes(4).toString("hex")}@example.com`;
  const password = "a long passphrase for disabling";
  const created = await runCommand("npm", ["run", "--silent", "user:create", "--", "--email", email, "--password", password], env);
  expect(created.code).toBe(0);
  const user = (await stack.db.user.findUnique({ where: { emailNormalized: email } }))!;

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

  for (const action of ["disable", "enable", "delete"]) {
    const r = await runCommand("npm", ["run", "--silent", `user:${action}`, "--", "--email", "nobody@example.com"], env);
    expect({ action, code: r.code }).toEqual({ action, code: 1 });
    expect(r.stderr).toContain(`user:${action}: there is no user nobody@example.com; nothing was changed`);
  }
  // Without Hydra's admin URL, disabling changes nothing.
  const noHydra = await runCommand("npm", ["run", "--silent", "user:disable", "--", "--email", email], environmentFor(["DATABASE_URL"]));
  expect(noHydra.code).toBe(1);
  expect(noHydra.stderr).toContain("set HYDRA_ADMIN_URL");
  expect((await stack.db.user.findUnique({ where: { id: user.id } }))!.disabledAt).toBeNull();
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
  const row = await stack.db.outboxMail.findFirst({ where: { to: email, template: "recovery" } });
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
  expect(await stack.db.outboxMail.count({ where: { to: email } })).toBe(1);
});
