// What every table family of the store shares: how a statement reaches the database (the server's
// plain pg pool, or Prisma's raw queries in the admin commands, which have no pool), transactions,
// statements composed of several writes, and the conversions every family makes the same way.
import type { Pool, PoolClient, QueryResultRow } from "pg";
import type { PrismaClient } from "../generated/prisma/client";

/** A Prisma client (admin commands and the seed; src/services/db.ts createDb). A type only: the server never loads Prisma. */
export type Db = PrismaClient;

/** Something to run a statement on: the pool, or a client inside a transaction. */
export interface Queryable {
  query<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]): Promise<{ rows: R[]; rowCount: number | null }>;
}

/** Prisma's client or one of its interactive transactions: what prismaQueryable runs statements on. */
export type PrismaRaw = Pick<Db, "$queryRawUnsafe">;

/**
 * Statements through Prisma's raw queries (admin commands, which have no pool): the same SQL as on
 * the pool. Prisma returns every statement's rows (none without RETURNING), bigint as BigInt and
 * count(*) as BigInt too (cast to int where a number is wanted); rowCount is the number of rows returned.
 */
export function prismaQueryable(db: PrismaRaw): Queryable {
  return {
    async query(text, values) {
      const rows = (await db.$queryRawUnsafe(text, ...(values ?? []))) as never[];
      return { rows, rowCount: rows.length };
    },
  };
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
  /** Further data-modifying statements; each puts `guard` (true while the gate holds) into its WHERE. */
  writes?: ((p: Param, guard: string) => string)[];
}

/**
 * Runs `fn` on one client between BEGIN and COMMIT (ROLLBACK when it throws). `durable`: the commit
 * waits for the WAL flush (synchronous_commit on for this transaction; set in BEGIN's round trip).
 */
export async function inTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>, opts: { durable?: boolean } = {}): Promise<T> {
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

/** Where the store's statements go: the server's plain pg pool, or a Prisma client whose raw queries run the same SQL. */
export type Target = { pool: Pool; db?: undefined } | { db: Db; pool?: undefined };

/** How a table family runs its statements (made by connect). */
export interface Connection {
  /** The plain pool (its commits asynchronous: sign-in bookkeeping, services/db.ts createPool). Without a pool (admin commands), Prisma's raw queries. */
  sql: Queryable;
  /**
   * One statement committed synchronously on the pool too, for what must survive a crash (accounts,
   * invitations, revocations, deletions, ended sessions); Prisma's connections always commit so.
   */
  durable: Queryable;
  /**
   * Runs `fn` between BEGIN and COMMIT on one connection (a pool's client, or Prisma's interactive
   * transaction). `durable`: committed synchronously on the pool too (Prisma's connections always are).
   */
  tx<T>(fn: (q: Queryable) => Promise<T>, how?: { durable?: boolean; limits?: { maxWait: number; timeout: number } }): Promise<T>;
}

export function connect({ pool, db }: Target): Connection {
  const sql: Queryable = pool ?? prismaQueryable(db!);
  const tx: Connection["tx"] = (fn, how = {}) => (pool ? inTransaction(pool, fn, { durable: how.durable }) : db!.$transaction((t) => fn(prismaQueryable(t)), how.limits));
  const durable: Queryable = pool ? { query: (text, values) => tx((q) => q.query(text, values), { durable: true }) } : sql;
  return { sql, durable, tx };
}

// Every statement is SQL with parameters (constant texts: the pool prepares them by name, services/db.ts):
// rows are read into the app's shapes (the shapes Prisma's generated model types have: the schema's
// field names, Date for timestamps, string[] for arrays, JSON as parsed values). Every time column is
// timestamp with time zone: an instant, whatever the time zone of the server or the connection.

/** A JSON column's value, parsed. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key in string]?: JsonValue };

/** A JS time as a statement parameter (`$n::timestamptz`): its ISO form, the same in every process's time zone. */
export const utc = (d: Date | null) => (d ? d.toISOString() : null);

/** Counts as numbers: Prisma's raw queries return bigint columns as BigInt, pg as text. */
export const count = (v: unknown) => Number(v ?? 0);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `id` can be a uuid column's value (a statement given anything else fails instead of finding nothing). */
export const isUuid = (id: string) => UUID.test(id);

/** `id` for a uuid parameter: anything that is not a uuid becomes the nil uuid, which no row has. */
export const uuidOrNil = (id: string) => (UUID.test(id) ? id : "00000000-0000-0000-0000-000000000000");

/** Addresses are stored and compared normalized (users.email_normalized, invitations.email). */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/**
 * A unique constraint refused a write: PostgreSQL's 23505 (on the pg pool), or Prisma's P2002 (a
 * model call) or P2010 (a raw query) with 23505 from its driver adapter (admin commands).
 */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: unknown; meta?: { code?: unknown; driverAdapterError?: { cause?: { originalCode?: unknown; kind?: unknown } } } } | null;
  if (!e || typeof e !== "object") return false;
  if (e.code === "23505" || e.code === "P2002") return true;
  const cause = e.meta?.driverAdapterError?.cause;
  return e.code === "P2010" && (e.meta?.code === "23505" || cause?.originalCode === "23505" || cause?.kind === "UniqueConstraintViolation");
}

/** A write that was to change one row by its id and changed none throws: the caller's transaction rolls back. */
export function expectOne(rows: readonly unknown[], what: string): void {
  if (rows.length !== 1) throw new Error(`${what}: no such row`);
}
