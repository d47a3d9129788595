// The express-session store: table "session" (sid, sess json, expire) in the app's database, shared
// by every replica (its statements: src/store/sessions.ts). Written for the sign-in path's database budget:
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
import { destroySession, pruneSessions, readSession, saveSession } from "../store/sessions";
import type { Along } from "../store/sql";

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
    return pruneSessions(this.pool);
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
    const read = primed ? primed(sid) : readSession(this.pool, sid);
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
    const write = saveSession(this.pool, { sid, sess: JSON.stringify(sess), expire: expiryOf(sess, this.opts.ttlSeconds * 1000), replaces }, also);
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
    destroySession(this.pool, sid).then(
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
