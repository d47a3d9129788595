// The app's one way into its database: a `pg` pool. The server, the admin commands, the seed and
// the tests all run the store's statements (src/store/) on one; Prisma stays the schema, the
// migrations and the seed's entry point (prisma/), never loaded at run time.
import { createHash } from "node:crypto";
import { Client, Pool } from "pg";

// The statement plumbing, for the modules that import it from here.
export { transactionOn, type Along, type Param, type Queryable } from "../store/sql";

/**
 * A pool. An idle client losing its connection (database restarted) must not crash the process.
 *
 * Its transactions commit asynchronously by default (synchronous_commit=off): a commit does not wait
 * for the WAL flush. What it writes so is sign-in bookkeeping (sessions, attempt counters, answered
 * challenges, the note that a client used a consent) and pruning; a database crash can lose the last
 * fraction of a second of it (never corrupt it: PostgreSQL "Asynchronous Commit"), which at worst
 * signs a person out or forgets a few counted attempts. Everything else is durable: a consent
 * decision (recordConsent), and the writes the store and the mail outbox commit synchronously
 * (transactionOn's `durable`, or set_config in the statement): accounts, passwords, addresses, mail
 * links and codes, mail, revocations, deletions, ended sessions.
 *
 * `durable`: every commit waits for the WAL flush (synchronous_commit=on, whatever the database's
 * own setting). The admin commands and the seed use such a pool: everything they write is an admin's
 * decision (accounts, passwords, invitations, the configuration) that the command reports as done,
 * so it must survive a crash right after; and they write little, so the wait costs nothing.
 */
export function createPool(databaseUrl: string, opts: { max?: number; onError?: (err: Error) => void; durable?: boolean } = {}): Pool {
  const pool = new Pool({
    Client: PreparingClient,
    connectionString: databaseUrl,
    max: opts.max ?? 10,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
    options: `-c synchronous_commit=${opts.durable ? "on" : "off"}`,
  });
  pool.on("error", (err) => opts.onError?.(err));
  return pool;
}

/**
 * The pool of an admin command or the seed: durable (every commit waits for the WAL flush; see
 * createPool), since what they write is an admin's decision they report as done.
 */
export function createCommandPool(databaseUrl: string, max: number): Pool {
  return createPool(databaseUrl, { max, durable: true });
}

/** At most this many statement texts get a prepared statement (per connection); others run unprepared. */
const MAX_PREPARED = 256;
const preparedNames = new Map<string, string>();

/** The prepared statement's name for a statement text ("" when there are too many already). */
export function preparedName(text: string): string {
  let name = preparedNames.get(text);
  if (name === undefined) {
    name = preparedNames.size < MAX_PREPARED ? `p${createHash("sha1").update(text).digest("hex").slice(0, 24)}` : "";
    if (name) preparedNames.set(text, name);
  }
  return name;
}

/**
 * A connection of the plain pool: a statement with parameters runs as a named prepared statement:
 * PostgreSQL parses it once per connection, and after five executions plans it once
 * too (plan_cache_mode auto: a generic plan when it costs no more than the custom ones); before, the
 * parse and the plan (0.2–0.7 ms for the sign-in path's statements) were repeated at every call.
 * The sign-in path's statements are a fixed set of texts (parameters carry every value, arrays
 * included), so the number of prepared statements stays small; MAX_PREPARED bounds it anyway.
 */
class PreparingClient extends Client {
  override query(...args: unknown[]): never {
    const [text, values] = args;
    if (typeof text === "string" && Array.isArray(values) && (args.length === 2 || typeof args[2] === "function")) {
      const name = preparedName(text);
      if (name) return (super.query as (...a: unknown[]) => never)({ name, text, values }, ...args.slice(2));
    }
    return (super.query as (...a: unknown[]) => never)(...args);
  }
}
