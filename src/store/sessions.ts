// Table session (sid, sess json, expire): the express-session rows of every replica
// (services/sessions.ts PgSessionStore runs these statements), and the ends of a user's sessions.
import type { SessionData } from "express-session";
import { uuidOrNil, type Along, type Connection, type Param, type Queryable } from "./sql";

/** The condition that finds a live session row by its id (`sid` a placeholder such as "$1"). */
export function sessionWhere(sid: string): string {
  return `sid = ${sid} AND expire >= now()`;
}

const READ_SESSION = `SELECT sess FROM session WHERE ${sessionWhere("$1")}`;

/** The live session's data, or null. */
export function readSession(q: Queryable, sid: string): Promise<SessionData | null> {
  return q.query<{ sess: SessionData }>(READ_SESSION, [sid]).then((r) => r.rows[0]?.sess ?? null);
}

/**
 * Writes the session's row (`sess`: its JSON), in one statement with what rides along: the row it
 * replaces (a regenerated session's old id) is deleted, and `also`'s writes are written, all only
 * while `also`'s gate returns a row; when it returns none, nothing is written and this fails with
 * the gate's error.
 */
export function saveSession(q: Queryable, row: { sid: string; sess: string; expire: Date; replaces?: string }, also?: Along): Promise<void> {
  const values: unknown[] = [];
  const p: Param = (v) => `$${values.push(v)}`;
  const gate = also?.gate;
  const guard = gate ? "EXISTS (SELECT 1 FROM gate)" : "true";
  const gateSql = gate ? [`gate AS (${gate.sql(p)})`] : [];
  const writes = also?.writes ?? [];
  const sid = p(row.sid);
  const saved = { sid: `${sid}::varchar`, replaces: row.replaces ? `${p(row.replaces)}::varchar` : "NULL::varchar" };
  const ctes = [
    ...gateSql,
    ...writes.map((w, i) => `w${i} AS (${w(p, guard, saved)})`),
    ...(row.replaces ? [`gone AS (DELETE FROM session WHERE sid = ${saved.replaces} AND ${guard})`] : []),
    `saved AS (INSERT INTO session (sid, sess, expire) SELECT ${saved.sid}, ${p(row.sess)}::json, ${p(row.expire)}::timestamptz WHERE ${guard} ` +
      "ON CONFLICT (sid) DO UPDATE SET sess = EXCLUDED.sess, expire = EXCLUDED.expire)",
  ];
  const text = `WITH ${ctes.join(", ")} SELECT ${gate ? "(SELECT count(*) FROM gate)::int" : "1"} AS passed`;
  return q.query<{ passed: number }>(text, values).then((r) => {
    if (gate && r.rows[0]?.passed !== 1) throw gate.refused();
  });
}

/** Ends a session (a sign-out), and the place it was signed in from goes with it (account_sessions). */
export function destroySession(q: Queryable, sid: string): Promise<unknown> {
  return q.query("WITH place AS (DELETE FROM account_sessions WHERE app_session_id = $1) DELETE FROM session WHERE sid = $1", [sid]);
}

/** Deletes the expired rows; returns how many. */
export async function pruneSessions(q: Queryable): Promise<number> {
  return (await q.query("DELETE FROM session WHERE expire < now()")).rowCount ?? 0;
}

export function sessionQueries({ durable }: Connection) {
  return {
    /**
     * Ends every app session (express-session rows) of the user, and forgets where they were signed
     * in (account_sessions: their Hydra sessions were revoked before); returns how many ended.
     */
    async endUserSessions(userId: string): Promise<number> {
      const { rows } = await durable.query<{ n: number }>(
        `WITH gone AS (DELETE FROM session WHERE sess->>'userId' = $1 RETURNING 1),
              places AS (DELETE FROM account_sessions WHERE user_id = $2::uuid)
         SELECT count(*)::int AS n FROM gone`,
        [userId, uuidOrNil(userId)],
      );
      return (rows[0]?.n ?? 0);
    },

    /**
     * Ends every app session of the user except `keepSid` (this browser's), with their places; this
     * browser's stays a place only while its app session lives (Hydra's sessions were revoked before).
     * Returns how many ended.
     */
    async endUserSessionsExcept(userId: string, keepSid: string): Promise<number> {
      const { rows } = await durable.query<{ n: number }>(
        `WITH gone AS (DELETE FROM session WHERE sess->>'userId' = $1 AND sid <> $2 RETURNING 1),
              places AS (DELETE FROM account_sessions WHERE user_id = $3::uuid AND app_session_id IS DISTINCT FROM $2),
              kept AS (UPDATE account_sessions SET remembered_until = NULL WHERE user_id = $3::uuid AND app_session_id = $2)
         SELECT count(*)::int AS n FROM gone`,
        [userId, keepSid, uuidOrNil(userId)],
      );
      return (rows[0]?.n ?? 0);
    },
  };
}
