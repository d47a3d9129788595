// Tables account_sessions (where a person is signed in: one row per sign-in, keyed by Hydra's login
// session id) and account_events (what happened to the account). A sign-in's rows ride in the
// statement that saves its app session (writes of sql.ts Along), a remembered sign-in's "last seen"
// in the statement that claims its challenge: neither adds a transaction to a flow.
import { challengeHash } from "./challenges";
import { uuidOrNil, type Along, type Connection, type JsonValue, type Param, type Queryable } from "./sql";

type Writes = NonNullable<Along["writes"]>;

/** An event as written: its kind and details (decisions/activity.ts). */
export interface EventRow {
  userId: string;
  kind: string;
  detail?: object;
}

/** One place the person is signed in, as /account lists it. */
export interface AccountSessionView {
  id: string;
  userAgent: string;
  ipPrefix: string;
  signedInAt: Date;
  lastSeenAt: Date;
  /** The browser's app session, when it has a live one (compared with the request's to mark "this browser"). */
  appSessionId: string | null;
  remembered: boolean;
}

/** An event as /account lists it (account_events and consent_events alike). */
export interface ActivityRow {
  kind: string;
  detail: Record<string, JsonValue>;
  at: Date;
}

/** A sign-in as the statement that saves its session writes it. */
export interface SignInRecord {
  id: string;
  userId: string;
  /** Hydra's login session id; without one no place is kept (only the event). */
  loginSessionId: string | undefined;
  userAgent: string;
  ipPrefix: string;
  /** Until when Hydra remembers the sign-in; null: while the app session lives. */
  rememberedUntil: Date | null;
  event: EventRow;
  /**
   * The notice mail of a sign-in from a new browser (outbox data, JSON): written only when the account
   * has signed in before (a first sign-in is new everywhere) and its address is confirmed.
   */
  notice?: { template: string; data: string };
}

const eventWrite = (e: EventRow): Writes[number] => (p, guard) =>
  `INSERT INTO account_events (user_id, kind, detail, created_at) SELECT ${p(e.userId)}::uuid, ${p(e.kind)}, ${p(JSON.stringify(e.detail ?? {}))}::jsonb, now() WHERE ${guard}`;

/**
 * The writes of a sign-in in its session's save: the place (a sign-in again on the same Hydra
 * session takes its row over), the places this browser's replaced session held for other Hydra
 * sessions dropped, the event, and the notice mail when there is one.
 */
export function signInWrites(r: SignInRecord): Writes {
  const writes: Writes = [];
  if (r.loginSessionId) {
    const sid = r.loginSessionId;
    writes.push(
      (p, guard, saved) =>
        `INSERT INTO account_sessions AS a (id, user_id, login_session_id, app_session_id, user_agent, ip_prefix, remembered_until, signed_in_at, last_seen_at)
         SELECT ${p(r.id)}::uuid, ${p(r.userId)}::uuid, ${p(sid)}, ${saved.sid}, ${p(r.userAgent)}, ${p(r.ipPrefix)}, ${p(r.rememberedUntil)}::timestamptz, now(), now() WHERE ${guard}
         ON CONFLICT (login_session_id) DO UPDATE SET id = EXCLUDED.id, user_id = EXCLUDED.user_id, app_session_id = EXCLUDED.app_session_id, user_agent = EXCLUDED.user_agent,
           ip_prefix = EXCLUDED.ip_prefix, remembered_until = EXCLUDED.remembered_until, signed_in_at = now(), last_seen_at = now()`,
      (p, guard, saved) => `DELETE FROM account_sessions WHERE app_session_id = ${saved.replaces} AND login_session_id IS DISTINCT FROM ${p(sid)} AND ${guard}`,
    );
  }
  writes.push(eventWrite(r.event));
  const notice = r.notice;
  if (notice) {
    writes.push(
      (p, guard) =>
        `INSERT INTO outbox ("to", template, data, user_id, attempts, next_attempt_at, created_at)
         SELECT u.email, ${p(notice.template)}, ${p(notice.data)}::jsonb || jsonb_build_object('name', coalesce(u.name, ''), 'email', u.email), u.id, 0, now(), now()
         FROM users u WHERE u.id = ${p(r.userId)}::uuid AND u.email_verified AND ${guard}
           AND EXISTS (SELECT 1 FROM account_events e WHERE e.user_id = u.id AND e.kind = 'sign_in')`,
    );
  }
  return writes;
}

/** An event as a write of a composed statement. */
export const activityWrites = (e: EventRow): Writes => [eventWrite(e)];

/**
 * The account page's own sign-in made a new app session in a browser signed in on Hydra's session
 * `loginSessionId`: that place is this session's now (a write of the new session's save).
 */
export function bindSessionWrites(userId: string, loginSessionId: string): Writes {
  return [
    (p, guard, saved) =>
      `UPDATE account_sessions SET app_session_id = ${saved.sid}, last_seen_at = now() WHERE login_session_id = ${p(loginSessionId)} AND user_id = ${p(uuidOrNil(userId))}::uuid AND ${guard}`,
  ];
}

/** Writes one event in `q` (a transaction's handle, or the pool for a statement of its own). */
export async function recordActivity(q: Queryable, e: EventRow): Promise<void> {
  const values: unknown[] = [];
  const p: Param = (v) => `$${values.push(v)}`;
  await q.query(eventWrite(e)(p, "true", { sid: "NULL", replaces: "NULL" }), values);
}

/** A remembered sign-in was used (Hydra skipped the login): its place was seen now, in `q`. */
export async function touchAccountSession(q: Queryable, loginSessionId: string, userId: string): Promise<void> {
  await q.query("UPDATE account_sessions SET last_seen_at = now() WHERE login_session_id = $1 AND user_id = $2::uuid", [loginSessionId, uuidOrNil(userId)]);
}

// coalesce: a place Hydra does not remember (NULL) is live only through its app session, also under NOT.
const LIVE = `(coalesce(a.remembered_until > now(), false) OR EXISTS (SELECT 1 FROM session s WHERE s.sid = a.app_session_id AND s.expire >= now()))`;

export function accountActivityQueries({ sql, durable }: Connection) {
  return {
    /**
     * The challenge's claim of a sign-in Hydra skipped, with its place seen now in the same
     * statement; false when it was claimed already (nothing written).
     */
    async claimSkippedSignIn(challenge: string, loginSessionId: string, userId: string): Promise<boolean> {
      const { rows } = await sql.query<{ n: number }>(
        `WITH claim AS (INSERT INTO handled_challenges (hash, kind, handled_at) VALUES ($1, 'login', now()) ON CONFLICT (hash) DO NOTHING RETURNING hash),
              seen AS (UPDATE account_sessions SET last_seen_at = now() WHERE login_session_id = $2 AND user_id = $3::uuid AND EXISTS (SELECT 1 FROM claim))
         SELECT count(*)::int AS n FROM claim`,
        [challengeHash("login", challenge), loginSessionId, uuidOrNil(userId)],
      );
      return rows[0]!.n === 1;
    },

    /** Where the user is signed in: places whose app session lives or whose sign-in Hydra remembers, most recently seen first. */
    async listAccountSessions(userId: string): Promise<AccountSessionView[]> {
      const { rows } = await sql.query<{ id: string; user_agent: string; ip_prefix: string; signed_in_at: Date; last_seen_at: Date; app_session_id: string | null; remembered: boolean }>(
        `SELECT a.id, a.user_agent, a.ip_prefix, a.signed_in_at, a.last_seen_at, s.sid AS app_session_id, coalesce(a.remembered_until > now(), false) AS remembered
         FROM account_sessions a LEFT JOIN session s ON s.sid = a.app_session_id AND s.expire >= now()
         WHERE a.user_id = $1::uuid AND ${LIVE}
         ORDER BY a.last_seen_at DESC, a.signed_in_at DESC LIMIT 50`,
        [uuidOrNil(userId)],
      );
      return rows.map((r) => ({ id: r.id, userAgent: r.user_agent, ipPrefix: r.ip_prefix, signedInAt: r.signed_in_at, lastSeenAt: r.last_seen_at, appSessionId: r.app_session_id, remembered: r.remembered }));
    },

    /** One place of the user's (what ending it needs: Hydra's session id, the app session). */
    async getAccountSession(userId: string, id: string): Promise<{ loginSessionId: string | null; appSessionId: string | null; userAgent: string; ipPrefix: string } | null> {
      const { rows } = await sql.query<{ login_session_id: string | null; app_session_id: string | null; user_agent: string; ip_prefix: string }>(
        "SELECT login_session_id, app_session_id, user_agent, ip_prefix FROM account_sessions WHERE id = $1::uuid AND user_id = $2::uuid",
        [uuidOrNil(id), uuidOrNil(userId)],
      );
      const r = rows[0];
      return r ? { loginSessionId: r.login_session_id, appSessionId: r.app_session_id, userAgent: r.user_agent, ipPrefix: r.ip_prefix } : null;
    },

    /** Ends a place (after Hydra's session was revoked): its row, its app session and the event, in one statement, durably. */
    async endAccountSession(userId: string, id: string, event: EventRow): Promise<boolean> {
      const values: unknown[] = [uuidOrNil(id), uuidOrNil(userId)];
      const p: Param = (v) => `$${values.push(v)}`;
      const { rows } = await durable.query<{ n: number }>(
        `WITH gone AS (DELETE FROM account_sessions WHERE id = $1::uuid AND user_id = $2::uuid RETURNING app_session_id),
              app AS (DELETE FROM session WHERE sid IN (SELECT app_session_id FROM gone)),
              ev AS (${eventWrite(event)(p, "EXISTS (SELECT 1 FROM gone)", { sid: "NULL", replaces: "NULL" })})
         SELECT count(*)::int AS n FROM gone`,
        values,
      );
      return rows[0]!.n === 1;
    },

    /** Hydra's logout step ended login session `loginSessionId`: its place goes. */
    async forgetLoginSession(loginSessionId: string): Promise<void> {
      await sql.query("DELETE FROM account_sessions WHERE login_session_id = $1", [loginSessionId]);
    },

    /** Writes one event on its own (a statement committed durably). */
    async recordActivity(e: EventRow, q: Queryable = durable): Promise<void> {
      await recordActivity(q, e);
    },

    /**
     * The account's activity, newest first: its events (kept ACTIVITY_RETENTION_DAYS, pruneActivity)
     * and its consent history (grants, merges, revocations: kept for good), `limit` from `offset`.
     */
    async listActivity(userId: string, offset: number, limit: number): Promise<ActivityRow[]> {
      const { rows } = await sql.query<ActivityRow>(
        `SELECT kind, detail, at FROM (
           SELECT e.kind, e.detail, e.created_at AS at, e.id AS n FROM account_events e
           WHERE e.user_id = $1::uuid
           UNION ALL
           SELECT CASE c.action WHEN 'GRANT' THEN 'consent_granted' WHEN 'MERGE' THEN 'consent_merged' WHEN 'REVOKE' THEN 'consent_revoked'
                    ELSE CASE WHEN cardinality(c.scopes_added) > 0 THEN 'consent_ask_again' ELSE 'consent_declined' END END,
                  jsonb_build_object('audience', coalesce(a.display_name, c.audience_id), 'client', c.client_id,
                    'scopes', to_jsonb(CASE WHEN c.action = 'REVOKE' OR (c.action = 'DECLINE' AND cardinality(c.scopes_added) = 0) THEN c.scopes_removed ELSE c.scopes_added END)),
                  c.created_at, c.id
           FROM consent_events c LEFT JOIN audiences a ON a.id = c.audience_id
           WHERE c.user_id = $1::uuid
         ) x ORDER BY at DESC, n DESC OFFSET $2 LIMIT $3`,
        [uuidOrNil(userId), offset, limit],
      );
      return rows;
    },

    /** Deletes events older than `retentionDays` (every replica may run it: a DELETE by age is idempotent); returns how many. */
    async pruneActivity(retentionDays: number): Promise<number> {
      const { rowCount } = await sql.query("DELETE FROM account_events WHERE created_at < now() - make_interval(days => $1::int)", [retentionDays]);
      return rowCount ?? 0;
    },

    /** Deletes places that ended by themselves (app session expired, not remembered by Hydra any more); returns how many. */
    async pruneAccountSessions(): Promise<number> {
      const { rowCount } = await sql.query(`DELETE FROM account_sessions a WHERE NOT ${LIVE}`);
      return rowCount ?? 0;
    },
  };
}
