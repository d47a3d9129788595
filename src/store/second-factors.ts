// Tables totp_factors, recovery_codes and login_session_strength: a user's second factors and how
// strongly each Hydra login session was signed in. TOTP secrets arrive sealed (services/secret-box.ts),
// recovery codes as hashes: this file never sees either in clear.
import { createHash } from "node:crypto";
import type { Along, Connection, Param, Queryable } from "./sql";

/** Whether user `u` (an alias in the statement) has a second factor that signs in (a confirmed authenticator, a passkey). */
export const HAS_SECOND_FACTOR = (u: string) =>
  `(EXISTS (SELECT 1 FROM totp_factors f WHERE f.user_id = ${u}.id AND f.confirmed_at IS NOT NULL) OR EXISTS (SELECT 1 FROM passkeys k WHERE k.user_id = ${u}.id))`;

/** A recovery code's stored form (the code is 80 random bits: a plain hash cannot be reversed by trying). */
export const recoveryCodeHash = (userId: string, normalizedCode: string) => createHash("sha256").update(`recovery:${userId}:${normalizedCode}`, "utf8").digest("base64url");

export interface TotpRow {
  sealedSecret: string;
  confirmed: boolean;
  /** The time step of the last code accepted. */
  lastStep: number | null;
}

export interface SecondFactors {
  totp: { confirmed: boolean; createdAt: Date } | null;
  recoveryCodesLeft: number;
  passkeys: number;
}

export function secondFactorQueries({ sql }: Connection) {
  return {
    async secondFactors(userId: string, q: Queryable = sql): Promise<SecondFactors> {
      const { rows } = await q.query<{ confirmed: boolean | null; created_at: Date | null; left: number; passkeys: number }>(
        `SELECT (SELECT confirmed_at IS NOT NULL FROM totp_factors WHERE user_id = $1::uuid) AS confirmed,
                (SELECT created_at FROM totp_factors WHERE user_id = $1::uuid) AS created_at,
                (SELECT count(*)::int FROM recovery_codes WHERE user_id = $1::uuid AND used_at IS NULL) AS left,
                (SELECT count(*)::int FROM passkeys WHERE user_id = $1::uuid) AS passkeys`,
        [userId],
      );
      const r = rows[0]!;
      return { totp: r.confirmed === null ? null : { confirmed: r.confirmed, createdAt: r.created_at! }, recoveryCodesLeft: r.left, passkeys: r.passkeys };
    },

    async getTotp(userId: string, q: Queryable = sql): Promise<TotpRow | null> {
      const { rows } = await q.query<{ secret: string; confirmed: boolean; last_step: string | null }>(
        "SELECT secret, confirmed_at IS NOT NULL AS confirmed, last_step FROM totp_factors WHERE user_id = $1::uuid",
        [userId],
      );
      const r = rows[0];
      return r ? { sealedSecret: r.secret, confirmed: r.confirmed, lastStep: r.last_step === null ? null : Number(r.last_step) } : null;
    },

    /** Starts (or starts again) setting up an authenticator; false when one is set up already. */
    async startTotp(userId: string, sealedSecret: string, q: Queryable = sql): Promise<boolean> {
      const { rowCount } = await q.query(
        `INSERT INTO totp_factors AS f (user_id, secret, created_at) VALUES ($1::uuid, $2, now())
         ON CONFLICT (user_id) DO UPDATE SET secret = EXCLUDED.secret, last_step = NULL, created_at = now() WHERE f.confirmed_at IS NULL`,
        [userId, sealedSecret],
      );
      return rowCount === 1;
    },

    /**
     * Records that a code of time step `step` was accepted: only when it is later than the last one
     * (false: a replay, or a concurrent use of the same code). `confirm`: this code completes the set-up.
     */
    async acceptTotpStep(userId: string, step: number, confirm: boolean, q: Queryable = sql): Promise<boolean> {
      const { rowCount } = await q.query(
        `UPDATE totp_factors SET last_step = $2::bigint, confirmed_at = COALESCE(confirmed_at, CASE WHEN $3::boolean THEN now() END)
         WHERE user_id = $1::uuid AND (last_step IS NULL OR last_step < $2::bigint) AND (confirmed_at IS NOT NULL) <> $3::boolean`,
        [userId, step, confirm],
      );
      return rowCount === 1;
    },

    /** Replaces the user's recovery codes with these (hashes). */
    async replaceRecoveryCodes(userId: string, hashes: readonly string[], q: Queryable = sql): Promise<void> {
      await q.query(
        `WITH gone AS (DELETE FROM recovery_codes WHERE user_id = $1::uuid)
         INSERT INTO recovery_codes (id, user_id, code_hash, created_at) SELECT gen_random_uuid(), $1::uuid, h, now() FROM unnest($2::text[]) AS h`,
        [userId, hashes],
      );
    },

    /** Uses a recovery code: the codes left afterwards, or null when it is not one of the user's unused codes. */
    async useRecoveryCode(userId: string, hash: string, q: Queryable = sql): Promise<number | null> {
      const { rows } = await q.query<{ used: number; left: number }>(
        `WITH used AS (UPDATE recovery_codes SET used_at = now() WHERE user_id = $1::uuid AND code_hash = $2 AND used_at IS NULL RETURNING id)
         SELECT (SELECT count(*)::int FROM used) AS used,
                (SELECT count(*)::int FROM recovery_codes WHERE user_id = $1::uuid AND used_at IS NULL AND id NOT IN (SELECT id FROM used)) AS left`,
        [userId, hash],
      );
      return rows[0]!.used === 1 ? rows[0]!.left : null;
    },

    /** Removes every second factor of the user (authenticator, passkeys), its recovery codes and what its login sessions reached. */
    async removeSecondFactors(userId: string, q: Queryable = sql): Promise<boolean> {
      const { rows } = await q.query<{ had: boolean }>(
        `WITH t AS (DELETE FROM totp_factors WHERE user_id = $1::uuid RETURNING confirmed_at),
              k AS (DELETE FROM passkeys WHERE user_id = $1::uuid RETURNING id),
              r AS (DELETE FROM recovery_codes WHERE user_id = $1::uuid),
              s AS (DELETE FROM login_session_strength WHERE user_id = $1::uuid)
         SELECT EXISTS (SELECT 1 FROM t WHERE confirmed_at IS NOT NULL) OR EXISTS (SELECT 1 FROM k) AS had`,
        [userId],
      );
      return rows[0]!.had;
    },

    /** Forgets what login sessions reached when they are older than Hydra remembers a login (seconds). */
    async pruneSessionStrength(olderThanSeconds: number): Promise<number> {
      const { rowCount } = await sql.query("DELETE FROM login_session_strength WHERE created_at < now() - make_interval(secs => $1::double precision)", [olderThanSeconds]);
      return rowCount ?? 0;
    },

    /** What Hydra's login session `sessionId` of this user reached, when more than a password. */
    async sessionStrength(sessionId: string, userId: string, q: Queryable = sql): Promise<{ acr: string; amr: string[] } | null> {
      const { rows } = await q.query<{ acr: string; amr: string[] }>(
        "SELECT acr, amr FROM login_session_strength WHERE session_id = $1 AND user_id = $2::uuid",
        [sessionId, userId],
      );
      return rows[0] ?? null;
    },
  };
}

/**
 * Writes what Hydra's login session `sessionId` reached as writes of a composed statement (Along):
 * two factors are kept, a sign-in with one forgets what the session may have reached before.
 */
export function strengthWrites(sessionId: string, userId: string, strength: { acr: string; amr: readonly string[] } | null): NonNullable<Along["writes"]> {
  if (!strength) return [(p, guard) => `DELETE FROM login_session_strength WHERE session_id = ${p(sessionId)} AND ${guard}`];
  return [
    (p, guard) =>
      `INSERT INTO login_session_strength (session_id, user_id, acr, amr, created_at)
       SELECT ${p(sessionId)}, ${p(userId)}::uuid, ${p(strength.acr)}, ${p([...strength.amr])}::text[], now() WHERE ${guard}
       ON CONFLICT (session_id) DO UPDATE SET user_id = EXCLUDED.user_id, acr = EXCLUDED.acr, amr = EXCLUDED.amr, created_at = now()`,
  ];
}

/** strengthWrites as a statement of its own (in a transaction's handle). */
export async function recordStrength(q: Queryable, ...args: Parameters<typeof strengthWrites>): Promise<void> {
  const values: unknown[] = [];
  const p: Param = (v) => `$${values.push(v)}`;
  await q.query(strengthWrites(...args)[0]!(p, "true", { sid: "NULL", replaces: "NULL" }), values);
}
