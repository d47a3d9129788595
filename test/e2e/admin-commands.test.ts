// Every command of the README's "Admin scripts" section, run exactly as written (bash -c, from the
// repository root) against what `npm run dev` runs: a fresh database and a real Hydra with
// config/demo.yaml and the demo user applied by scripts/dev.sh's own lines, and only the environment
// variables the README's "# Environment:" line names. A README admin command that does not work
// against the demo stack fails here.
import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import YAML from "yaml";
import { configSnapshot, startStack, type Stack } from "../support/stack";
import { ROOT } from "../support/paths";
import { runCommand, type CommandResult } from "../support/fixtures";
import { adminEnvironment, applyDevStackConfig, devStackSeedCommands, parsed, readmeAdminCommands, type ReadmeCommand } from "../support/readme-commands";
import { invitationCodeHash, normalizeEmail } from "../../src/services/store";
import { verifyPassword } from "../../src/services/passwords";
import { Browser } from "../support/browser";
import { countRows, deleteRows, findRow, insertRow } from "../support/db";

jest.setTimeout(300_000);

const COMMANDS = readmeAdminCommands();
const DEV = devStackSeedCommands();
/** The configuration file scripts/dev.sh applies. */
const DEV_CONFIG = (() => {
  const p = parsed(DEV.seed[0]!);
  return p.option("config") ?? p.assignments.AUDIENCES_CONFIG ?? "config/audiences.yaml";
})();
/** One value per secret variable, shared by dev.sh's lines and the README's commands (as .run/secrets.env is). */
const secrets = new Map<string, string>();
let stack: Stack;

const environmentFor = (names: readonly string[]) => adminEnvironment(stack, names, secrets);

beforeAll(async () => {
  stack = await startStack({ config: {} });
  await applyDevStackConfig(stack, secrets);
});
afterAll(async () => stack?.stop());

const snapshot = () => configSnapshot(stack);

interface ConfigFileShape {
  audiences?: { id: string; "sign-up-enabled"?: boolean; "invitation-enabled"?: boolean; "start-url"?: string }[];
  scopes?: { name: string }[];
  claims?: { name: string }[];
  clients?: { id: string; audience: string; "secret-env"?: string; "redirect-uris"?: string[] }[];
}

/** The change lines of a seed run's report (after its "seed: <file>" line). */
function reportLines(out: string, file: string): string[] {
  const lines = out.split("\n");
  const at = lines.findIndex((l) => l.startsWith(`seed: ${file}`));
  if (at < 0) return [];
  const rest = lines.slice(at + 1);
  const end = rest.findIndex((l) => !l.startsWith("  "));
  return end < 0 ? rest : rest.slice(0, end);
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
    if (file === DEV_CONFIG) {
      // The demo stack runs with this file applied: every item unchanged, nothing to report.
      // Each client is two items (its membership in the store, its Hydra client); + the account page's client.
      const items = (config.audiences?.length ?? 0) + (config.scopes?.length ?? 0) + (config.claims?.length ?? 0) + 2 * (config.clients?.length ?? 0) + 1;
      expect({ command: cmd.line, report: reportLines(out, file) }).toEqual({ command: cmd.line, report: [`  ${items} unchanged`] });
      expect(await snapshot()).toEqual(before);
    }
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
    const invitation = await findRow(stack.db, "invitations", { codeHash: invitationCodeHash(link![1]!) });
    expect(invitation).toMatchObject({ audienceId: p.option("audience"), email: p.option("email") ? normalizeEmail(p.option("email")!) : null, usedAt: null });
    if (p.option("expires-in") === "7d") expect(Math.abs(invitation!.expiresAt.getTime() - (Date.now() + 7 * 86400_000))).toBeLessThan(60_000);
    return;
  }

  if (/\buser:create\b/.test(cmd.line)) {
    const email = p.option("email")!;
    const attributes = Object.fromEntries(p.options("attribute").map((a) => [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)]));
    const before = await findRow(stack.db, "users", { emailNormalized: normalizeEmail(email) });
    let planted: string | undefined;
    if (before && p.flag("reset-password")) {
      // An app session of this user (as a browser that signed in has one) must end.
      planted = randomBytes(12).toString("hex");
      await insertRow(stack.db, "session", { sid: planted, sess: { cookie: {}, userId: before.id }, expire: new Date(Date.now() + 3600_000) });
    }
    const out = ok(await run());
    const user = await findRow(stack.db, "users", { emailNormalized: normalizeEmail(email) });
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
      expect(await findRow(stack.db, "session", { sid: planted! })).toBeNull();
    } else {
      expect(out).toContain(`user ${email} exists (id ${user!.id})`);
      expect(user!.passwordHash).toBe(before.passwordHash);
    }
    return;
  }

  if (/\buser:reset-password\b/.test(cmd.line)) {
    const email = p.option("email")!;
    const before = (await findRow(stack.db, "users", { emailNormalized: normalizeEmail(email) }))!;
    expect(before).not.toBeNull();
    const planted = randomBytes(12).toString("hex");
    await insertRow(stack.db, "session", { sid: planted, sess: { cookie: {}, userId: before.id }, expire: new Date(Date.now() + 3600_000) });
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
    const after = (await findRow(stack.db, "users", { id: before.id }))!;
    expect(after.passwordHash).toBe(before.passwordHash); // nothing changes until the link is used
    const session = await findRow(stack.db, "session", { sid: planted });
    if (p.flag("revoke")) {
      expect(out).toContain("ended 1 app session, revoked Hydra login sessions and consent sessions (tokens)");
      expect(session).toBeNull();
    } else {
      expect(out).not.toContain("revoked");
      expect(session).not.toBeNull();
      await deleteRows(stack.db, "session", { sid: planted });
    }
    return;
  }

  if (/\buser:export\b/.test(cmd.line)) {
    const email = p.option("email")!;
    const user = (await findRow(stack.db, "users", { emailNormalized: normalizeEmail(email) }))!;
    const file = path.join(ROOT, p.option("output")!);
    fs.rmSync(file, { force: true });
    expect(ok(await run())).toContain(`user ${user.email} (id ${user.id}): data written to ${p.option("output")}`);
    const data = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, any>;
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    fs.rmSync(file);
    expect(data).toMatchObject({ format: "hydra-audience-login/user-export/v1", profile: { id: user.id, email: user.email } });
    expect(JSON.stringify(data)).not.toContain(user.passwordHash);
    return;
  }

  if (/\buser:(disable|enable|delete)\b/.test(cmd.line)) {
    const action = /\buser:(disable|enable|delete)\b/.exec(cmd.line)![1]!;
    const email = p.option("email")!;
    const before = await findRow(stack.db, "users", { emailNormalized: normalizeEmail(email) });
    expect(before).not.toBeNull(); // the README's earlier commands created the user
    // An app session of this user (as a browser that signed in has one): disable and delete end it.
    const planted = randomBytes(12).toString("hex");
    await insertRow(stack.db, "session", { sid: planted, sess: { cookie: {}, userId: before!.id }, expire: new Date(Date.now() + 3600_000) });
    const out = ok(await run());
    const after = await findRow(stack.db, "users", { emailNormalized: normalizeEmail(email) });
    const session = await findRow(stack.db, "session", { sid: planted });
    if (action === "disable") {
      expect(out).toContain(`user ${before!.email} (id ${before!.id}): disabled`);
      expect(out).toContain("ended 1 app session, revoked Hydra login sessions and consent sessions (tokens)");
      expect(after!.disabledAt).not.toBeNull();
      expect(session).toBeNull();
    } else if (action === "enable") {
      expect(out).toContain(before!.disabledAt ? `user ${before!.email} (id ${before!.id}): enabled` : "was not disabled; nothing changed");
      expect(after!.disabledAt).toBeNull();
      expect(after!.passwordHash).toBe(before!.passwordHash);
      await deleteRows(stack.db, "session", { sid: planted });
    } else {
      expect(out).toMatch(new RegExp(`user ${before!.email.replace(/[.]/g, "\\.")} \\(id ${before!.id}\\): deleted; deleted \\d+ consents? and \\d+ consent-history entr(y|ies); revoked Hydra consent sessions \\(tokens\\) and login sessions; ended 1 app session`));
      expect(after).toBeNull();
      expect(await countRows(stack.db, "consents", { userId: before!.id })).toBe(0);
      expect(await countRows(stack.db, "consent_events", { userId: before!.id })).toBe(0);
      expect(session).toBeNull();
    }
    return;
  }

  ok(await run()); // a kind of command this test has no specific check for: it must at least succeed
}

test("the README's admin section has the documented commands, all npm scripts, for the demo's configuration", () => {
  expect(DEV_CONFIG).toBe("config/demo.yaml");
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
  has(/^npm run user:export -- --email \S+ --output \S+$/);
  for (const c of COMMANDS) {
    expect(c.line).not.toMatch(/…|\.\.\.|<[a-z-]+>|\[--/); // literal: no placeholders, no optional parts
    // npm scripts run on Node.js 24 whatever node is on PATH (scripts/node.sh); npx, tsx and node do not.
    expect(c.line).toMatch(/^([A-Z_][A-Z0-9_]*=\S+ )*npm run /);
    const p = parsed(c.line);
    const file = p.option("config") ?? p.assignments.AUDIENCES_CONFIG;
    if (file) expect({ command: c.line, file }).toEqual({ command: c.line, file: DEV_CONFIG });
  }
});

// One test per README command, in README order (later commands build on earlier ones, as a reader's would).
test.each(COMMANDS.map((c, i) => [i + 1, c.line, c] as const))("README admin command %i runs as written: %s", async (_i, _line, cmd) => {
  await runAndCheck(cmd);
});

test("the demo's invitation-only audience: the link's Continue starts a sign-in for its client, sign-up with the invitation, consent, then the app's home page", async () => {
  const config = YAML.parse(fs.readFileSync(path.join(ROOT, DEV_CONFIG), "utf8")) as ConfigFileShape;
  const audience = config.audiences!.find((a) => a["sign-up-enabled"] === false && a["invitation-enabled"] === true)!;
  expect(audience).toBeDefined();
  const client = config.clients!.find((c) => c.audience === audience.id)!;
  const email = `invited-${randomBytes(4).toString("hex")}@example.com`;
  const created = await runCommand("npm", ["run", "--silent", "invitation:create", "--", "--audience", audience.id, "--email", email], environmentFor(["DATABASE_URL", "APP_BASE_URL"]));
  expect(created.code).toBe(0);
  const link = /\S+\/invitation\?code=\S+/.exec(created.stdout)![0];

  const browser = new Browser();
  const landing = await browser.get(link);
  expect(landing.status).toBe(200);
  expect(landing.$("#start").attr("href")).toBe(audience["start-url"]);
  // The start URL names the demo stack's Hydra (127.0.0.1:4444); this stack's Hydra is elsewhere.
  const start = new URL(audience["start-url"]!);
  expect(start.origin).toBe("http://127.0.0.1:4444");
  expect(start.searchParams.get("client_id")).toBe(client.id);
  const redirectUri = start.searchParams.get("redirect_uri")!;
  expect(client["redirect-uris"]).toContain(redirectUri);
  const login = await browser.get(`${stack.hydraPublicUrl}${start.pathname}${start.search}`, { stopAt: [redirectUri] });
  expect(new URL(login.url).pathname).toBe("/login");
  const form = await browser.get(new URL(login.$("#sign-up a").attr("href")!, login.url).toString());
  expect(form.$("#invitation").attr("value")).toBeTruthy();
  // Bound to the address, the invitation confirms it: no mail round trip before consent.
  const consent = await browser.submit(form, "#registration-form", { name: "Ivo Invited", email, password: "lantern-orbit-saffron-93" }, { stopAt: [redirectUri] });
  expect(new URL(consent.url).pathname).toBe("/consent");
  const done = await browser.submit(consent, "#consent-form", {}, { button: ["decision", "allow"], stopAt: [redirectUri] });
  expect(done.url.startsWith(redirectUri)).toBe(true);
  expect(new URL(done.url).searchParams.get("code")).toBeTruthy();
  // What that redirect URI shows in the demo stack (the app's home page), reached on this stack's app.
  const home = await browser.get(`${stack.appUrl}${new URL(redirectUri).pathname}${new URL(done.url).search}`);
  expect(home.status).toBe(200);
  expect((await findRow(stack.db, "users", { emailNormalized: email }))?.emailVerified).toBe(true);
});
