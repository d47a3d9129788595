// The express-session store: table "session" (sid, sess json, expire) in the app's database, shared
// by every replica. Written for the sign-in path's database budget (issue #12):
// - no "touch": the browser's cookie expires SESSION_TTL_SECONDS after the session was last saved,
//   and so does the row (both are set at every save), so an unmodified session costs one read;
// - a regenerated session (new id at sign-in: no fixation) replaces the old row in the same
//   statement that writes the new one, instead of a DELETE first;
// - a save whose data this process has just written for the same id is skipped (express-session
//   saves a regenerated session once more when the response ends);
// - `saveSessionWith` runs other writes (the sign-in's counters, the challenge claim) in the same
//   transaction as the session's save.
import type { Request } from "express";
import session, { type SessionData } from "express-session";
import type { Pool, PoolClient } from "pg";
import { inTransaction } from "./db";

const REPLACES = Symbol("replaces");
const WRITTEN = Symbol("written");
const ALSO = Symbol("also");

type Tagged = session.Session & Partial<SessionData> & { [REPLACES]?: string; [WRITTEN]?: string; [ALSO]?: (client: PoolClient) => Promise<void> };

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

  override get(sid: string, cb: (err: unknown, sess?: session.SessionData | null) => void): void {
    this.pool.query<{ sess: session.SessionData }>("SELECT sess FROM session WHERE sid = $1 AND expire >= now()", [sid]).then(
      (r) => cb(null, r.rows[0]?.sess ?? null),
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
    const values = [sid, JSON.stringify(sess), expiryOf(sess, this.opts.ttlSeconds * 1000), replaces ?? null];
    // The old row (a regenerated session's) goes in the same statement.
    const text =
      "WITH gone AS (DELETE FROM session WHERE $4::varchar IS NOT NULL AND sid = $4::varchar) " +
      "INSERT INTO session (sid, sess, expire) VALUES ($1, $2::json, $3) ON CONFLICT (sid) DO UPDATE SET sess = EXCLUDED.sess, expire = EXCLUDED.expire";
    const write = also
      ? inTransaction(this.pool, async (client) => {
          await also(client);
          await client.query(text, values);
        })
      : this.pool.query(text, values);
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
 * Saves the request's session; `also` runs first, in the same transaction (when it throws, nothing
 * is written and the save fails with its error).
 */
export function saveSessionWith(req: Request, also?: (client: PoolClient) => Promise<void>): Promise<void> {
  if (also) (req.session as Tagged)[ALSO] = also;
  return new Promise((resolve, reject) => req.session.save((e) => (e ? reject(e) : resolve())));
}
