import type { ConfigFile } from "../../src/config/audiences";
import { randomBytes } from "node:crypto";
import type { Pool } from "pg";
import { hashPassword } from "../../src/services/passwords";
import { createStore, type JsonValue } from "../../src/services/store";
import { findRow } from "./db";

/** A verified account made through the store (as user:create makes one), with its password. `db`: the stack's pool. */
export async function createUser(db: Pool, opts: { email?: string; password?: string; name?: string; attributes?: Record<string, JsonValue> } = {}) {
  const email = opts.email ?? `user-${randomBytes(4).toString("hex")}@example.com`;
  const password = opts.password ?? "correct horse battery staple";
  const [given, ...rest] = (opts.name ?? "Ada Lovelace").split(" ");
  const user = await createStore({ pool: db }).createUser({
    email,
    passwordHash: await hashPassword(password),
    name: opts.name ?? "Ada Lovelace",
    givenName: given ?? null,
    familyName: rest.join(" ") || null,
    emailVerified: true,
    attributes: opts.attributes ?? {},
  });
  return { ...user, password };
}

export const CALLBACK = "http://127.0.0.1:9/callback";

/** The user id stored in the app session that the browser's session cookie points to (undefined if none). */
export async function appSessionUser(stack: { db: Pool; appUrl: string; env: { SESSION_COOKIE_NAME: string } }, browser: { jar: import("tough-cookie").CookieJar }): Promise<string | undefined> {
  const cookies = await browser.jar.getCookies(stack.appUrl);
  const raw = cookies.find((c) => c.key === stack.env.SESSION_COOKIE_NAME)?.value;
  if (!raw) return undefined;
  const sid = decodeURIComponent(raw).replace(/^s:/, "").replace(/\.[^.]*$/, "");
  const row = await findRow(stack.db, "session", { sid });
  return (row?.sess as { userId?: string } | undefined)?.userId;
}

export type TestUser = Awaited<ReturnType<typeof createUser>>;

/** One audience "demo" with one confidential client "demo-web" (its secret: stack.secrets.DEMO_WEB_SECRET). */
export function demoConfig(client: Record<string, unknown> = {}): ConfigFile {
  return {
    audiences: [{ id: "demo", name: "Demo App" }],
    clients: [{ id: "demo-web", name: "Demo Web", audience: "demo", "secret-env": "DEMO_WEB_SECRET", "redirect-uris": [CALLBACK], scopes: ["openid", "profile"], ...client }],
  } as ConfigFile;
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command as a child process from the repository root (no shell unless `file` is one) and
 * resolves with its exit code and output (never rejects on a non-zero exit).
 */
export async function runCommand(file: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<CommandResult> {
  // Imported here: helpers are appended to this file without touching its imports.
  const { execFile } = await import("node:child_process");
  const { ROOT } = await import("./paths");
  return new Promise((resolve) => {
    execFile(file, [...args], { cwd: ROOT, env, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}
