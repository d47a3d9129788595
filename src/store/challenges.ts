// Table handled_challenges: the Hydra challenges this app answered (their hashes), so that none is
// answered twice (Hydra v2 answers a replayed challenge like a fresh one).
import { createHash } from "node:crypto";
import type { SessionData } from "express-session";
import { utc, type Connection, type Param, type Queryable } from "./sql";
import { sessionWhere } from "./sessions";

export type ChallengeKind = "login" | "consent" | "logout";

/** The row's key: the challenge is not stored itself. */
export const challengeHash = (kind: ChallengeKind, challenge: string) => createHash("sha256").update(`${kind}:${challenge}`).digest("hex");

/** Hydra's challenges live for 30 minutes (hydra.yml ttl.login_consent_request); records are kept a day. */
const HANDLED_CHALLENGE_RETENTION_MS = 24 * 60 * 60 * 1000;

/**
 * A gate for a session's save (services/sessions.ts saveSessionWith): the session is written only while the
 * challenge has not been answered (one statement for both, e.g. a new browser's first login page).
 * Builds SQL only (no statement of its own, so not a store operation).
 */
export function unansweredChallengeGate(kind: ChallengeKind, challenge: string): (p: Param) => string {
  const hash = challengeHash(kind, challenge);
  return (p) => `SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM handled_challenges WHERE hash = ${p(hash)})`;
}

/**
 * claimChallenge as the gate of a composed statement (sql.ts Along; run by the session store at
 * sign-in): returns a row when this statement claimed it. A statement builder, not a store
 * operation (so not timed as one in /metrics).
 */
export function claimChallengeStatement(kind: ChallengeKind, challenge: string): (p: Param) => string {
  return (p) =>
    `INSERT INTO handled_challenges (hash, kind, handled_at) VALUES (${p(challengeHash(kind, challenge))}, ${p(kind)}, now()) ON CONFLICT (hash) DO NOTHING RETURNING hash`;
}

export function challengeQueries({ sql }: Connection) {
  return {
    async isChallengeHandled(kind: ChallengeKind, challenge: string): Promise<boolean> {
      const { rows } = await sql.query("SELECT 1 FROM handled_challenges WHERE hash = $1", [challengeHash(kind, challenge)]);
      return rows.length > 0;
    },

    /** isChallengeHandled, and the browser's session (`sessionId`) read in the same statement. */
    async isChallengeHandledWithSession(kind: ChallengeKind, challenge: string, sessionId: string | null): Promise<{ handled: boolean; session: SessionData | null }> {
      const { rows } = await sql.query<{ handled: boolean; session_data: SessionData | null }>(
        `SELECT EXISTS (SELECT 1 FROM handled_challenges WHERE hash = $1) AS handled, (SELECT sess FROM session WHERE ${sessionWhere("$2")}) AS session_data`,
        [challengeHash(kind, challenge), sessionId],
      );
      return { handled: rows[0]!.handled, session: rows[0]!.session_data };
    },

    /** Marks a challenge as answered; false when it already was (a replay or a double submit). */
    async claimChallenge(kind: ChallengeKind, challenge: string, q: Queryable = sql): Promise<boolean> {
      const { rows } = await q.query(
        "INSERT INTO handled_challenges (hash, kind, handled_at) VALUES ($1, $2, now()) ON CONFLICT (hash) DO NOTHING RETURNING hash",
        [challengeHash(kind, challenge), kind],
      );
      return rows.length === 1;
    },

    /** Forgets answered challenges older than Hydra's challenges can live (server.ts runs it now and then). */
    async pruneHandledChallenges(): Promise<number> {
      const { rows } = await sql.query<{ n: number }>(
        "WITH gone AS (DELETE FROM handled_challenges WHERE handled_at < $1::timestamptz RETURNING 1) SELECT count(*)::int AS n FROM gone",
        [utc(new Date(Date.now() - HANDLED_CHALLENGE_RETENTION_MS))],
      );
      return (rows[0]?.n ?? 0);
    },

    /** Undoes claimChallenge when answering Hydra failed, so the user can retry. */
    async releaseChallenge(kind: ChallengeKind, challenge: string): Promise<void> {
      await sql.query("DELETE FROM handled_challenges WHERE hash = $1", [challengeHash(kind, challenge)]);
    },
  };
}
