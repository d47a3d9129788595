// Admin script: create a user, set attributes, or reset a password (the "account compromised" case).
// Usage: npm run user:create -- --email ada@example.com --password '…' [--name 'Ada Lovelace'] [--verified] [--attribute key=value]…
//        npm run user:create -- --email ada@example.com --attribute key=value…        (an existing user: sets attributes only)
//        npm run user:create -- --email ada@example.com --password '…' --reset-password [--keep-tokens]
//
// A reset of an existing user's password ends the user's access everywhere (endUserAccess):
// Hydra's login sessions (remembered browsers), every Hydra consent session and so every access and
// refresh token (unless --keep-tokens), and every app session. Order: Hydra's admin API is checked
// first and nothing is changed when it is unreachable (HYDRA_ADMIN_URL must be set); then the new
// hash is stored (from then on the old password no longer works, so nobody can sign in again with
// it while the sessions are being ended), then the sessions are ended. Should Hydra fail in between,
// the command says loudly what was not ended and exits 2; rerunning the same command completes it.
import "./node-version"; // first: an older Node.js stops here, with a message, before anything crashes it
import { parseArgs } from "node:util";
import { createCommandPool } from "../services/db";
import { createHydra } from "../services/hydra";
import { hashPassword } from "../services/passwords";
import { createStore, type JsonValue } from "../services/store";
import { describeAccessEnded, endUserAccess, EndUserAccessError } from "../flows/credential-change";
import { splitName } from "../decisions/account-settings";

/** Attribute keys: what a declared claim's `source: attributes.<key>` can name. */
const ATTRIBUTE_KEY = /^[A-Za-z0-9_.-]{1,64}$/;
const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);

class UsageError extends Error {}

/** Parses repeated `--attribute key=value` options into an object; throws a UsageError naming the bad one. */
export function parseAttributes(items: readonly string[]): Record<string, string> {
  const attributes: Record<string, string> = Object.create(null);
  for (const item of items) {
    const eq = item.indexOf("=");
    if (eq < 0) throw new UsageError(`--attribute "${item}": expected key=value, e.g. --attribute username=ada`);
    const key = item.slice(0, eq);
    const value = item.slice(eq + 1);
    if (FORBIDDEN_KEYS.has(key)) throw new UsageError(`--attribute "${item}": the key "${key}" is not allowed`);
    if (!ATTRIBUTE_KEY.test(key)) {
      throw new UsageError(
        `--attribute "${item}": the key "${key}" must be 1-64 letters, digits, "_", "." or "-" (the <key> of a claim's source attributes.<key>)`,
      );
    }
    if (value === "") throw new UsageError(`--attribute "${item}": the value is empty`);
    if (Object.hasOwn(attributes, key)) throw new UsageError(`--attribute: the key "${key}" is given twice`);
    attributes[key] = value;
  }
  return { ...attributes };
}

function currentAttributes(value: JsonValue): { [key: string]: JsonValue | undefined } {
  return value && typeof value === "object" && !Array.isArray(value) ? value : {};
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      email: { type: "string" },
      password: { type: "string" },
      name: { type: "string" },
      verified: { type: "boolean", default: false },
      attribute: { type: "string", multiple: true, default: [] },
      "reset-password": { type: "boolean", default: false },
      "keep-tokens": { type: "boolean", default: false },
    },
  });
  if (!values.email) throw new UsageError("--email is required");
  if (!/^[^\s@]+@[^\s@]+$/.test(values.email)) throw new UsageError("--email is not an email address");
  if (values.password !== undefined && values.password.length < 8) throw new UsageError("--password must be at least 8 characters");
  if (values["reset-password"] && values.password === undefined) throw new UsageError("--reset-password needs --password (the new password)");
  if (values["keep-tokens"] && !values["reset-password"]) throw new UsageError("--keep-tokens only applies to --reset-password");
  const attributes = parseAttributes(values.attribute ?? []);
  const attributeNote = Object.keys(attributes).length ? `; attributes set: ${Object.keys(attributes).join(", ")}` : "";
  if (!process.env.DATABASE_URL) throw new UsageError("DATABASE_URL is not set (the app's database)");

  // A durable pool (services/db.ts createCommandPool): an account, its password and attributes are an admin's decision.
  const pool = createCommandPool(process.env.DATABASE_URL, 1);
  try {
    const store = createStore({ pool });
    const existing = await store.findUserByEmail(values.email);

    if (!existing) {
      if (values.password === undefined) throw new UsageError(`there is no user ${values.email}; --password is required to create one`);
      const user = await store.createUser({
        email: values.email,
        passwordHash: await hashPassword(values.password),
        emailVerified: values.verified ?? false,
        ...splitName(values.name ?? ""),
        attributes,
      });
      console.log(`user ${user.email}: created (id ${user.id})${attributeNote}`);
      return 0;
    }

    const mergedAttributes: JsonValue = { ...currentAttributes(existing.attributes), ...attributes };
    if (!values["reset-password"]) {
      if (attributeNote) await store.setAttributes(existing.id, mergedAttributes);
      console.log(`user ${existing.email} exists (id ${existing.id})${attributeNote}; password unchanged (pass --reset-password to set a new one)`);
      return 0;
    }

    // Reset: make sure the user's access can be ended before changing anything.
    const adminUrl = process.env.HYDRA_ADMIN_URL;
    if (!adminUrl) {
      throw new UsageError(
        "--reset-password ends the user's sessions and tokens at Ory Hydra: set HYDRA_ADMIN_URL to Hydra's admin API (e.g. http://127.0.0.1:4445). Nothing was changed.",
      );
    }
    const hydra = createHydra({ adminUrl, timeoutMs: 10_000 });
    if (!(await hydra.isReady())) {
      throw new UsageError(`Ory Hydra's admin API at ${adminUrl} (HYDRA_ADMIN_URL) is not reachable or not ready. Nothing was changed: the old password still works.`);
    }
    const passwordHash = await hashPassword(values.password!);
    await store.transaction(async (tx) => {
      await store.setPasswordHash(tx, existing.id, passwordHash);
      await store.setAttributes(existing.id, mergedAttributes, tx);
    });
    const revokeTokens = !values["keep-tokens"];
    try {
      const ended = await endUserAccess({ store, hydra, userId: existing.id, revokeTokens });
      console.log(`user ${existing.email}: password reset (id ${existing.id})${attributeNote}; ${describeAccessEnded(ended)}${revokeTokens ? "" : "; tokens kept (--keep-tokens)"}`);
      return 0;
    } catch (err) {
      if (!(err instanceof EndUserAccessError)) throw err;
      console.error(
        [
          `user:create: THE PASSWORD OF ${existing.email} WAS RESET, BUT THE USER'S ACCESS WAS NOT FULLY ENDED.`,
          `  done: ${describeAccessEnded(err.ended)}`,
          ...err.failures.map((f) => `  not done: ${f}`),
          `  Run the same command again once the problem is fixed; it sets the same password and ends the rest.`,
        ].join("\n"),
      );
      return 2;
    }
  } finally {
    await pool.end();
  }
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      console.error(`user:create: ${(err as Error).message}`);
      process.exit(1);
    },
  );
}
