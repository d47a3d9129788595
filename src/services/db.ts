// The app's two ways into its database:
// - Prisma (Rust-free engine + pg driver adapter; see README "Development") for everything but the
//   sign-in path;
// - a plain `pg` pool for the sign-in path's few statements (sessions, attempt counters, answered
//   challenges, the consent read and write): one round trip each, none of Prisma's per-query
//   compilation, and several of them in one transaction where a step writes more than one thing.
import { createHash } from "node:crypto";
import { Client, Pool, type PoolClient, type QueryResultRow } from "pg";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "../generated/prisma/client";

export type Db = PrismaClient;

export function createDb(databaseUrl: string, opts: { max?: number } = {}): Db {
  const adapter = new PrismaPg({
    connectionString: databaseUrl,
    max: opts.max ?? 5,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
  });
  return new PrismaClient({ adapter });
}

/**
 * The plain pool. An idle client losing its connection (database restarted) must not crash the process.
 *
 * Its transactions commit asynchronously (synchronous_commit=off): a commit does not wait for the
 * WAL flush. What it writes is sign-in bookkeeping (sessions, attempt counters, answered challenges,
 * the note that a client used a consent); a database crash can lose the last fraction of a second
 * of it (never corrupt it: PostgreSQL "Asynchronous Commit"), which at worst signs a person out or
 * forgets a few counted attempts. A consent decision is durable: recordConsent commits synchronously.
 */
export function createPool(databaseUrl: string, opts: { max?: number; onError?: (err: Error) => void } = {}): Pool {
  const pool = new Pool({
    Client: PreparingClient,
    connectionString: databaseUrl,
    max: opts.max ?? 10,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
    options: "-c synchronous_commit=off",
  });
  pool.on("error", (err) => opts.onError?.(err));
  return pool;
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
 * A connection of the plain pool: a statement with parameters runs as a named prepared statement
 * (issue #12). PostgreSQL parses it once per connection, and after five executions plans it once
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

/** Something to run a statement on: the pool, or a client inside a transaction. */
export interface Queryable {
  query<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]): Promise<{ rows: R[]; rowCount: number | null }>;
}

/** Adds a value to a composed statement's parameters and returns its placeholder ("$3"). */
export type Param = (value: unknown) => string;

/**
 * Writes that ride along in another statement (the session's save at sign-in, sessions.ts): one
 * statement of data-modifying CTEs is one round trip and one implicit transaction, where BEGIN,
 * each write and COMMIT would be one each (issue #12).
 */
export interface Along {
  /**
   * A data-modifying statement with RETURNING (the challenge's claim) that must return a row for
   * anything of the composed statement to be written; when it returns none, nothing is written and
   * the save fails with `refused()`.
   */
  gate?: { sql: (p: Param) => string; refused: () => Error };
  /** Further data-modifying statements; each puts `guard` (true while the gate holds) into its WHERE. */
  writes?: ((p: Param, guard: string) => string)[];
}

/** Runs `fn` on one client between BEGIN and COMMIT (ROLLBACK when it throws). */
export async function inTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query("BEGIN");
    const result = await fn(client);
    await client.query("COMMIT");
    return result;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {
      broken = true;
    });
    throw err;
  } finally {
    client.release(broken);
  }
}
