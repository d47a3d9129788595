// Table outbox: mail to send, written in the transaction of what caused it, and claimed, marked and
// pruned by the mail worker of every replica (services/mail.ts renders and sends it). Every write of
// the worker is committed durably also on the pg pool (whose default is asynchronous commit; services/db.ts
// createPool).
import type { Connection, Queryable } from "./sql";

/**
 * The start of an outbox write committed durably also on the pg pool: the statement reads `durable`
 * (FROM durable), so that set_config runs.
 */
const DURABLE = "WITH durable AS (SELECT set_config('synchronous_commit', 'on', true) AS v)";

/** The outbox row enqueueMail writes; its parameters: $1 to, $2 template, $3 data (JSON text), $4 user id. */
export const ENQUEUE_MAIL = `INSERT INTO outbox ("to", template, data, user_id, attempts, next_attempt_at, created_at)
  VALUES ($1, $2, $3::jsonb, $4::uuid, 0, now(), now())`;

/** Writes a mail into the outbox (inside the caller's transaction when `q` is one). */
export async function insertMail(q: Queryable, mail: { to: string; template: string; data: string; userId: string | null }): Promise<void> {
  await q.query(ENQUEUE_MAIL, [mail.to, mail.template, mail.data, mail.userId]);
}

/** A claimed row (`Template`: the names the caller writes into the template column). */
export interface DueMail<Template extends string = string> {
  id: string;
  to: string;
  template: Template;
  data: Record<string, unknown>;
  attempts: number;
}

/** Claims up to 20 due rows atomically (every replica runs this): a claimed row is not due again for a minute. */
const CLAIM_DUE = `
      ${DURABLE}
      UPDATE outbox SET next_attempt_at = now() + interval '60 seconds', attempts = attempts + 1
      WHERE id IN (
        SELECT id FROM outbox, durable WHERE sent_at IS NULL AND next_attempt_at <= now() AND attempts < $1
        ORDER BY id LIMIT 20 FOR UPDATE OF outbox SKIP LOCKED)
      RETURNING id, "to", template, data, attempts`;

export async function claimDueMail<Template extends string>(q: Queryable, maxAttempts: number): Promise<DueMail<Template>[]> {
  return (await q.query<DueMail<Template>>(CLAIM_DUE, [maxAttempts])).rows;
}

/** Sent: its links and codes are of no more use here, and whoever reads the table must not use them. */
export async function markMailSent(q: Queryable, id: string): Promise<void> {
  await q.query(`${DURABLE} UPDATE outbox SET sent_at = now(), last_error = NULL, data = '{}' FROM durable WHERE id = $1::bigint`, [String(id)]);
}

/**
 * Not sent: tried again after `delaySeconds`. After the last attempt (`maxAttempts`) the mail is
 * never sent, and its secrets go too.
 */
export async function markMailFailed(q: Queryable, id: string, delaySeconds: number, error: string, maxAttempts: number): Promise<void> {
  await q.query(
    `${DURABLE} UPDATE outbox SET next_attempt_at = now() + make_interval(secs => $2::double precision), last_error = $3,
               data = CASE WHEN attempts >= $4 THEN '{}'::jsonb ELSE data END FROM durable WHERE id = $1::bigint`,
    [String(id), delaySeconds, error, maxAttempts],
  );
}

/** Where one mail stands, for an admin command that waits for it (null: no such row any more). */
export interface MailState {
  sentAt: Date | null;
  attempts: number;
  lastError: string | null;
}

export function outboxQueries(c: Connection) {
  return {
    /** The newest mail of `template` to `to`: the one just written in `q`'s transaction. */
    async newestMailId(q: Queryable, to: string, template: string): Promise<string | null> {
      const { rows } = await q.query<{ id: string }>(`SELECT id FROM outbox WHERE "to" = $1 AND template = $2 ORDER BY id DESC LIMIT 1`, [to, template]);
      return rows[0] ? String(rows[0].id) : null;
    },
    async mailState(id: string): Promise<MailState | null> {
      const { rows } = await c.sql.query<{ sent_at: Date | null; attempts: number; last_error: string | null }>(
        "SELECT sent_at, attempts, last_error FROM outbox WHERE id = $1::bigint",
        [id],
      );
      const r = rows[0];
      return r ? { sentAt: r.sent_at, attempts: r.attempts, lastError: r.last_error } : null;
    },
  };
}

/** Sent mail is kept a week for support questions, then removed. */
export async function pruneSentMail(q: Queryable): Promise<void> {
  await q.query("DELETE FROM outbox WHERE sent_at < now() - interval '7 days'");
}
