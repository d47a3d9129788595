// What every table family of the store shares: how a statement reaches the database (a pg pool:
// the server's, an admin command's, the seed's or a test's), transactions, statements composed of
// several writes, and the conversions every family makes the same way.
import type { Pool, PoolClient, QueryResultRow } from "pg";

/** Something to run a statement on: the pool, or a client inside a transaction. */
export interface Queryable {
  query<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]): Promise<{ rows: R[]; rowCount: number | null }>;
}

/** Adds a value to a composed statement's parameters and returns its placeholder ("$3"). */
export type Param = (value: unknown) => string;

/**
 * Writes that ride along in another statement (the session's save at sign-in, sessions.ts): one
 * statement of data-modifying CTEs is one round trip and one implicit transaction, where BEGIN,
 * each write and COMMIT would be one each.
 */
export interface Along {
  /**
   * A data-modifying statement with RETURNING (the challenge's claim) that must return a row for
   * anything of the composed statement to be written; when it returns none, nothing is written and
   * the save fails with `refused()`.
   */
  gate?: { sql: (p: Param) => string; refused: () => Error };
  /**
   * Further data-modifying statements; each puts `guard` (true while the gate holds) into its WHERE.
   * `saved` names the session being saved and the one it replaces (placeholders; "NULL" when none).
   */
  writes?: ((p: Param, guard: string, saved: SavedSession) => string)[];
}

/** The session a composed save writes, as SQL values: its id, and the id of the row it replaces ("NULL" when none). */
export interface SavedSession {
  sid: string;
  replaces: string;
}

/**
 * Runs `fn` on one client between BEGIN and COMMIT (ROLLBACK when it throws). `durable`: the commit
 * waits for the WAL flush (synchronous_commit on for this transaction; set in BEGIN's round trip).
 */
export async function transactionOn<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>, opts: { durable?: boolean } = {}): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query(opts.durable ? "BEGIN; SET LOCAL synchronous_commit = on" : "BEGIN");
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

/** How a table family runs its statements (made by connect). */
export interface Connection {
  /** The pool (the server's commits asynchronously by default: sign-in bookkeeping, services/db.ts createPool). */
  sql: Queryable;
  /** One statement committed synchronously, for what must survive a crash (accounts, invitations, revocations, deletions, ended sessions). */
  durable: Queryable;
  /** Runs `fn` between BEGIN and COMMIT on one client of the pool (`fn`'s `tx`). `durable`: committed synchronously. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>, how?: { durable?: boolean }): Promise<T>;
}

export function connect(pool: Pool): Connection {
  const transaction: Connection["transaction"] = (fn, how = {}) => transactionOn(pool, fn, { durable: how.durable });
  const durable: Queryable = { query: (text, values) => transaction((tx) => tx.query(text, values), { durable: true }) };
  return { sql: pool, durable, transaction };
}

// Every statement is SQL with parameters (constant texts: the pool prepares them by name, services/db.ts):
// rows are read into the app's shapes (tables.ts's row types: the schema's field names, Date for
// timestamps, string[] for arrays, JSON as parsed values). Every time column is timestamp with time
// zone: an instant, whatever the time zone of the server or the connection.

/** A JSON column's value, parsed. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key in string]?: JsonValue };

/** A JS time as a statement parameter (`$n::timestamptz`): its ISO form, the same in every process's time zone. */
export const utc = (d: Date | null) => (d ? d.toISOString() : null);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `id` can be a uuid column's value (a statement given anything else fails instead of finding nothing). */
export const isUuid = (id: string) => UUID.test(id);

/** `id` for a uuid parameter: anything that is not a uuid becomes the nil uuid, which no row has. */
export const uuidOrNil = (id: string) => (UUID.test(id) ? id : "00000000-0000-0000-0000-000000000000");

/** Addresses are stored and compared normalized (users.email_normalized, invitations.email). */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** A unique constraint refused a write (PostgreSQL's SQLSTATE 23505). */
export function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === "23505";
}

/** A write that was to change one row by its id and changed none throws: the caller's transaction rolls back. */
export function expectOne(rows: readonly unknown[], what: string): void {
  if (rows.length !== 1) throw new Error(`${what}: no such row`);
}
