// Table rate_limits (key, points, expire in Unix milliseconds): fixed-window attempt counters shared
// by every replica, counted with atomic upserts (services/limits.ts decides what is counted and
// what the counts allow).
import type { LimitKey } from "../decisions/device-cookie";
import type { Param, Queryable } from "./sql";

/** The counters one CONSUME counts: their row keys, now (Unix ms) and each one's window (ms). */
export interface Counting {
  rows: string[];
  now: number;
  durationsMs: number[];
}

/** A sign-in's counters, ready to count (services/limits.ts signInCounters; users.ts attemptSignIn counts them). */
export interface SignInCounters extends Counting {
  keys: LimitKey[];
}

/**
 * Counts one attempt on each key, atomically: a counter whose window ended starts again at 1.
 * Returns each counter's points and window end after counting. Parameters: $1 the row keys, $2 now
 * (Unix ms), $3 each key's window in ms. (users.ts attemptSignIn runs it as a CTE of its own statement.)
 */
export const CONSUME = `
  INSERT INTO rate_limits (key, points, expire)
  SELECT k, 1, $2::bigint + d FROM unnest($1::varchar[], $3::bigint[]) AS t(k, d)
  ON CONFLICT (key) DO UPDATE SET
    points = CASE WHEN rate_limits.expire IS NOT NULL AND rate_limits.expire <= $2::bigint THEN 1 ELSE rate_limits.points + 1 END,
    expire = CASE WHEN rate_limits.expire IS NOT NULL AND rate_limits.expire <= $2::bigint THEN EXCLUDED.expire ELSE rate_limits.expire END
  RETURNING key, points, expire`;

/** A row CONSUME returned. */
export interface CountedRow {
  key: string;
  points: number;
  expire: string | number;
}

/** CONSUME on its own. */
export async function consumeCounters(q: Queryable, { rows, now, durationsMs }: Counting): Promise<CountedRow[]> {
  return (await q.query<CountedRow>(CONSUME, [rows, now, durationsMs])).rows;
}

/**
 * After a right password, as writes of a composed statement (sql.ts Along): the counters `clear`
 * are deleted, the counters `takeBack` give their attempt back.
 */
export function settleWrites(clear: readonly string[], takeBack: readonly string[]): ((p: Param, guard: string) => string)[] {
  return [
    (p, guard) => `DELETE FROM rate_limits WHERE key = ANY(${p(clear)}::varchar[]) AND ${guard}`,
    (p, guard) => `UPDATE rate_limits SET points = GREATEST(points - 1, 0) WHERE key = ANY(${p(takeBack)}::varchar[]) AND ${guard}`,
  ];
}

/** settleWrites as a statement of its own. */
export async function settle(q: Queryable, clear: readonly string[], takeBack: readonly string[]): Promise<void> {
  const values: unknown[] = [];
  const p: Param = (v) => `$${values.push(v)}`;
  const [deleted, tookBack] = settleWrites(clear, takeBack).map((w) => w(p, "true"));
  await q.query(`WITH cleared AS (${deleted}) ${tookBack}`, values);
}

/** Deletes counters whose window ended before `before` (Unix ms); returns how many. */
export async function pruneCounters(q: Queryable, before: number): Promise<number> {
  return (await q.query("DELETE FROM rate_limits WHERE expire < $1", [before])).rowCount ?? 0;
}
