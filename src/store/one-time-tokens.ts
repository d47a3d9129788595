// Table one_time_tokens: the single-use links and codes of verification, recovery and change-of-address
// mails (only their hashes are stored).
import { createHash, randomBytes, randomInt, randomUUID, timingSafeEqual } from "node:crypto";
import { utc, type Connection, type Queryable } from "./sql";
import type { ONE_TIME_TOKENS, Row } from "./tables";

/** What a token is for (the enum OneTimeTokenKind: tables.ts ONE_TIME_TOKENS). */
export type OneTimeTokenKind = Row<typeof ONE_TIME_TOKENS>["kind"];

const sha256 = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");
export const oneTimeTokenHash = (token: string) => sha256(`ott:${token}`);
const codeHash = (tokenId: string, code: string) => sha256(`code:${tokenId}:${code}`);

/** Wrong codes allowed per token before it stops accepting codes (the link still works). */
export const MAX_CODE_ATTEMPTS = 5;

export type TokenLookup =
  | { status: "valid"; token: { id: string; userId: string; email: string; kind: OneTimeTokenKind; expiresAt: Date } }
  | { status: "unknown" | "used" | "expired" };

/**
 * Issues a one-time token (and, with `withCode`, a 6-digit code) inside the transaction `tx`.
 * Earlier unused tokens of the same kind for the user are retired: only the newest mail works.
 */
export async function issueOneTimeToken(
  tx: Queryable,
  opts: { kind: OneTimeTokenKind; userId: string; email: string; ttlSeconds: number; withCode: boolean },
): Promise<{ token: string; code: string | null; expiresAt: Date }> {
  const token = randomBytes(32).toString("base64url");
  const code = opts.withCode ? String(randomInt(0, 1_000_000)).padStart(6, "0") : null;
  const id = randomUUID();
  const expiresAt = new Date(Date.now() + opts.ttlSeconds * 1000);
  // One statement: the earlier unused tokens retired, the new one written.
  await tx.query(
    `WITH retired AS (
       UPDATE one_time_tokens SET used_at = now()
       WHERE user_id = $4::uuid AND kind = $2::"OneTimeTokenKind" AND used_at IS NULL)
     INSERT INTO one_time_tokens (id, kind, token_hash, code_hash, attempts, user_id, email, expires_at, created_at)
     VALUES ($1::uuid, $2::"OneTimeTokenKind", $3, $5, 0, $4::uuid, $6, $7::timestamptz, now())`,
    [id, opts.kind, oneTimeTokenHash(token), opts.userId, code ? codeHash(id, code) : null, opts.email, utc(expiresAt)],
  );
  return { token, code, expiresAt };
}

/** Retires the user's unused verification and recovery links in `tx` (they went to an address that is no longer theirs). */
export async function retireMailLinks(tx: Queryable, userId: string): Promise<void> {
  await tx.query(
    `UPDATE one_time_tokens SET used_at = now()
         WHERE user_id = $1::uuid AND used_at IS NULL AND kind IN ('VERIFY_EMAIL', 'RECOVERY')`,
    [userId],
  );
}

export function oneTimeTokenQueries({ sql, transaction }: Connection) {
  return {
    /** What a link's token is, without using it. */
    async lookupOneTimeToken(kind: OneTimeTokenKind, token: string): Promise<TokenLookup> {
      const { rows } = await sql.query<{ id: string; kind: OneTimeTokenKind; user_id: string; email: string; expires_at: Date; used_at: Date | null }>(
        `SELECT id, kind, user_id, email, expires_at, used_at
         FROM one_time_tokens WHERE token_hash = $1`,
        [oneTimeTokenHash(token)],
      );
      const row = rows[0];
      if (!row || row.kind !== kind) return { status: "unknown" };
      if (row.used_at) return { status: "used" };
      if (row.expires_at <= new Date()) return { status: "expired" };
      return { status: "valid", token: { id: row.id, userId: row.user_id, email: row.email, kind: row.kind, expiresAt: row.expires_at } };
    },

    /** Uses a link's token exactly once (atomic); null when it is not (any longer) valid. */
    async useOneTimeToken(tx: Queryable, kind: OneTimeTokenKind, token: string): Promise<{ userId: string; email: string } | null> {
      const { rows } = await tx.query<{ user_id: string; email: string }>(
        `UPDATE one_time_tokens SET used_at = now()
         WHERE token_hash = $1 AND kind = $2::"OneTimeTokenKind" AND used_at IS NULL AND expires_at > now()
         RETURNING user_id, email`,
        [oneTimeTokenHash(token), kind],
      );
      return rows[0] ? { userId: rows[0].user_id, email: rows[0].email } : null;
    },

    /**
     * Checks a short code against the user's newest valid token of the kind and uses it when right.
     * Wrong codes count; after MAX_CODE_ATTEMPTS the token takes no more codes.
     */
    async useCode(kind: OneTimeTokenKind, userId: string, code: string): Promise<{ status: "ok"; email: string } | { status: "wrong" | "none" | "locked" }> {
      return transaction(async (q) => {
        const { rows } = await q.query<{ id: string; code_hash: string | null; attempts: number; email: string }>(
          `SELECT id, code_hash, attempts, email FROM one_time_tokens
           WHERE user_id = $1::uuid AND kind = $2::"OneTimeTokenKind" AND used_at IS NULL AND expires_at > now() AND code_hash IS NOT NULL
           ORDER BY created_at DESC LIMIT 1 FOR UPDATE`,
          [userId, kind],
        );
        const row = rows[0];
        if (!row) return { status: "none" as const };
        if (row.attempts >= MAX_CODE_ATTEMPTS) return { status: "locked" as const };
        const given = Buffer.from(codeHash(row.id, code.trim()));
        const expected = Buffer.from(row.code_hash!);
        if (given.length === expected.length && timingSafeEqual(given, expected)) {
          await q.query("UPDATE one_time_tokens SET used_at = now() WHERE id = $1::uuid", [row.id]);
          return { status: "ok" as const, email: row.email };
        }
        await q.query("UPDATE one_time_tokens SET attempts = attempts + 1 WHERE id = $1::uuid", [row.id]);
        return { status: row.attempts + 1 >= MAX_CODE_ATTEMPTS ? ("locked" as const) : ("wrong" as const) };
      }, { durable: true });
    },

    /** The change of address waiting for its link to be confirmed (the newest valid CHANGE_EMAIL token), if any. */
    async pendingEmailChange(userId: string): Promise<{ email: string; expiresAt: Date } | null> {
      const { rows } = await sql.query<{ email: string; expires_at: Date }>(
        `SELECT email, expires_at FROM one_time_tokens
         WHERE user_id = $1::uuid AND kind = 'CHANGE_EMAIL' AND used_at IS NULL AND expires_at > $2::timestamptz
         ORDER BY created_at DESC LIMIT 1`,
        [userId, utc(new Date())],
      );
      return rows[0] ? { email: rows[0].email, expiresAt: rows[0].expires_at } : null;
    },

    /** Removes one-time tokens that expired a day ago or more. */
    async pruneOneTimeTokens(): Promise<number> {
      const { rows } = await sql.query<{ n: number }>(
        "WITH gone AS (DELETE FROM one_time_tokens WHERE expires_at < $1::timestamptz RETURNING 1) SELECT count(*)::int AS n FROM gone",
        [utc(new Date(Date.now() - 24 * 60 * 60 * 1000))],
      );
      return (rows[0]?.n ?? 0);
    },
  };
}
