// The express-session store: table "session" (sid, sess json, expire) in the app's database, shared
// by every replica. Written for the sign-in path's database budget (issue #12):
// - no "touch": the browser's cookie expires SESSION_TTL_SECONDS after the session was last saved,
//   and so does the row (both are set at every save), so an unmodified session costs one read;
// - a regenerated session (new id at sign-in: no fixation) replaces the old row in the same
//   statement that writes the new one, instead of a DELETE first;
// - a save whose data this process has just written for the same id is skipped (express-session
//   saves a regenerated session once more when the response ends);
// - `saveSessionWith` writes other rows (the challenge's claim, the sign-in's counters) in the same
//   statement as the session: data-modifying CTEs, one round trip and one implicit transaction.
import type { Request } from "express";
import session, { type SessionData } from "express-session";
import type { Pool } from "pg";
import type { Along, Param } from "./db";

const REPLACES = Symbol("replaces");
const WRITTEN = Symbol("written");
const ALSO = Symbol("also");

type Tagged = session.Session & Partial<SessionData> & { [REPLACES]?: string; [WRITTEN]?: string; [ALSO]?: Along };

/** The session's data without its cookie (what decides whether a save changes anything). */
function dataOf(sess: session.SessionData | session.Session): string {
  return JSON.stringify(sess, function (this: unknown, key, value: unknown) {
    return this === sess && key === "cookie" ? undefined : value;
  });
}

function expiryOf(sess: session.SessionData, ttlMs: number): Date {
  const expires = sess.cookie?.expires;
  return expires ? new Date(expires) : new Date(Date.now() + ttlMs);
}

/** The condition that finds a live session row by its id (`sid` a placeholder such as "$1"). */
export function sessionWhere(sid: string): string {
  return `sid = ${sid} AND expire >= now()`;
}

export class PgSessionStore extends session.Store {
  private readonly pruner: NodeJS.Timeout;

  constructor(
    private readonly pool: Pool,
    private readonly opts: { ttlSeconds: number; pruneIntervalSeconds?: number; onError?: (err: unknown) => void },
  ) {
    super();
    // Expired rows are deleted now and then by every replica (idempotent).
    this.pruner = setInterval(() => void this.prune().catch((err: unknown) => opts.onError?.(err)), (opts.pruneIntervalSeconds ?? 15 * 60) * 1000);
    this.pruner.unref();
  }

  async prune(): Promise<number> {
    return (await this.pool.query("DELETE FROM session WHERE expire < now()")).rowCount ?? 0;
  }

  close(): void {
    clearInterval(this.pruner);
  }

  private primed: ((sid: string) => Promise<session.SessionData | null>) | null = null;

  /**
   * The next get() — the one express-session makes at once when the caller loads the session right
   * after this — reads the session with `read` (another statement that reads it alongside its own
   * work: one round trip instead of two) instead of on its own. unprime() right after the load call.
   */
  prime(read: (sid: string) => Promise<session.SessionData | null>): void {
    this.primed = read;
  }

  unprime(): void {
    this.primed = null;
  }

  override get(sid: string, cb: (err: unknown, sess?: session.SessionData | null) => void): void {
    const primed = this.primed;
    this.primed = null;
    const read = primed ? primed(sid) : this.pool.query<{ sess: session.SessionData }>(`SELECT sess FROM session WHERE ${sessionWhere("$1")}`, [sid]).then((r) => r.rows[0]?.sess ?? null);
    read.then(
      (sess) => cb(null, sess),
      (err: unknown) => cb(err),
    );
  }

  override set(sid: string, sess: session.SessionData, cb?: (err?: unknown) => void): void {
    const tagged = sess as unknown as Tagged;
    const data = dataOf(sess);
    const replaces = tagged[REPLACES];
    const also = tagged[ALSO];
    if (!replaces && !also && tagged[WRITTEN] === data) {
      cb?.();
      return;
    }
    const values: unknown[] = [];
    const p: Param = (v) => `$${values.push(v)}`;
    const gate = also?.gate;
    const guard = gate ? "EXISTS (SELECT 1 FROM gate)" : "true";
    const ctes = [
      ...(gate ? [`gate AS (${gate.sql(p)})`] : []),
      ...(also?.writes ?? []).map((w, i) => `w${i} AS (${w(p, guard)})`),
      // The old row (a regenerated session's) goes in the same statement.
      ...(replaces ? [`gone AS (DELETE FROM session WHERE sid = ${p(replaces)} AND ${guard})`] : []),
      `saved AS (INSERT INTO session (sid, sess, expire) SELECT ${p(sid)}::varchar, ${p(JSON.stringify(sess))}::json, ${p(expiryOf(sess, this.opts.ttlSeconds * 1000))}::timestamptz WHERE ${guard} ` +
        "ON CONFLICT (sid) DO UPDATE SET sess = EXCLUDED.sess, expire = EXCLUDED.expire)",
    ];
    const text = `WITH ${ctes.join(", ")} SELECT ${gate ? "(SELECT count(*) FROM gate)::int" : "1"} AS passed`;
    const write = this.pool.query<{ passed: number }>(text, values).then((r) => {
      if (gate && r.rows[0]?.passed !== 1) throw gate.refused();
    });
    write.then(
      () => {
        delete tagged[REPLACES];
        delete tagged[ALSO];
        tagged[WRITTEN] = data;
        cb?.();
      },
      (err: unknown) => {
        delete tagged[ALSO];
        cb?.(err);
      },
    );
  }

  override destroy(sid: string, cb?: (err?: unknown) => void): void {
    this.pool.query("DELETE FROM session WHERE sid = $1", [sid]).then(
      () => cb?.(),
      (err: unknown) => cb?.(err),
    );
  }

  /** A new id for the request's session; the old row is deleted when the new one is first saved. */
  override regenerate(req: Request, cb: (err?: unknown) => void): void {
    const old = req.sessionID;
    (this as unknown as { generate(req: Request): void }).generate(req);
    if (old) (req.session as Tagged)[REPLACES] = old;
    cb();
  }
}

/**
 * Saves the request's session; `also` is written in the same statement (when its gate returns no
 * row, nothing is written and the save fails with the gate's error).
 */
export function saveSessionWith(req: Request, also?: Along): Promise<void> {
  if (also) (req.session as Tagged)[ALSO] = also;
  return new Promise((resolve, reject) => req.session.save((e) => (e ? reject(e) : resolve())));
}
