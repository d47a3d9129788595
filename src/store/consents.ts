// Tables consents (one per user and audience: the scopes allowed, the clients that used them) and
// consent_events (their history). An approval goes through the database functions record_consent
// and record_consent_in_session (migrations 20261128120000, 20261129040000): the claim of the
// challenge, the account check, the row-locked merge, the history entry, in one statement.
import type { SessionData } from "express-session";
import { uuidOrNil, type Connection, type Queryable } from "./sql";
import { USER_COLUMNS, userOf, type User, type UserRow } from "./users";
import { challengeHash } from "./challenges";
import { sessionWhere } from "./sessions";
import { audienceOf, JOINED_AUDIENCE_COLUMNS, type Audience } from "./configuration";
import type { CONSENTS, Row } from "./tables";

/** A consents row (its columns: tables.ts CONSENTS). */
export type Consent = Row<typeof CONSENTS>;

export interface ConsentView {
  audience: Audience;
  scopes: string[];
  /** Optional scopes declined with "don't ask again". */
  declinedScopes: string[];
  /** When the user last approved it (the audience's consent-ttl counts from here). */
  confirmedAt: Date;
  clients: { id: string; name: string }[];
  createdAt: Date;
  updatedAt: Date;
}

/** What a consent step needs from the database, read in one statement. */
export interface ConsentContext {
  /** The subject's account (null: it no longer exists). */
  user: User | null;
  /** The user's consent for the audience before this step. */
  grantedScopes: string[];
  /** Optional scopes declined with "don't ask again". */
  declinedScopes: string[];
  /** The consent is older than the audience's consent-ttl. */
  expired: boolean;
  /** When the user last approved it (null: no consent). */
  confirmedAt: Date | null;
  /** The clients that used that consent so far. */
  clientIds: string[];
  /** This app had answered the consent challenge before this statement. */
  handled: boolean;
  /** This statement claimed the challenge. */
  claimed: boolean;
}

type Approval = { outcome: "recorded"; user: User; scopes: string[]; added: string[] };
type ApprovalRow = UserRow & { scopes: string[] | null; added: string[] | null; found: boolean };

export function consentQueries({ sql, durable }: Connection) {
  return {
    /**
     * The subject's account and their consent for the audience, and whether the consent challenge
     * was answered before, in one statement. With `claim` (decisions/consent.ts claimPlan), the same
     * statement claims the challenge — always, or when the consent holds `ifGranted` — so that a
     * step answered without a page needs no other query.
     */
    async consentContext(
      userId: string,
      audienceId: string | null,
      consentChallenge: string,
      claim: { always: boolean; ifGranted: string[] | null; optional: string[] } | null,
      sessionId: string | null = null,
      ttlSeconds: number | null = null,
    ): Promise<ConsentContext & { session: SessionData | null }> {
      // With `sessionId`, the browser's session is read too, and the claim is made only when that
      // session is nobody's or the subject's (flow-binding.guardConsent, checked again by the caller
      // with the session read here: a browser signed in as someone else claims nothing).
      // A silent pass needs the consent unexpired and holding the request but for optional scopes
      // declined with "don't ask again" (decisions/consent.ts decideConsent, which decides the same).
      const { rows } = await sql.query<
        UserRow & { scopes: string[] | null; declined: string[] | null; expired: boolean | null; confirmed_at: Date | null; client_ids: string[] | null; handled: boolean; claimed: boolean; found: boolean; session_data: SessionData | null }
      >(
        `WITH c AS (SELECT scopes, client_ids, declined_scopes, confirmed_at,
                           ($9::int IS NOT NULL AND confirmed_at <= now() - make_interval(secs => $9::int)) AS expired
                    FROM consents WHERE user_id = $1::uuid AND audience_id = $2),
              s AS (SELECT sess FROM session WHERE ${sessionWhere("$6")}),
              claimed AS (
                INSERT INTO handled_challenges (hash, kind, handled_at)
                SELECT $3, 'consent', now()
                WHERE ($4::boolean OR ($5::text[] IS NOT NULL
                        AND coalesce((SELECT coalesce(scopes, '{}') || ARRAY(SELECT unnest(declined_scopes) INTERSECT SELECT unnest($8::text[])) FROM c WHERE NOT expired), '{}') @> $5::text[]))
                  AND coalesce((SELECT sess->>'userId' FROM s), $7) = $7
                ON CONFLICT (hash) DO NOTHING RETURNING hash)
         SELECT ${USER_COLUMNS}, u.id IS NOT NULL AS found, (SELECT scopes FROM c) AS scopes, (SELECT client_ids FROM c) AS client_ids,
                (SELECT declined_scopes FROM c) AS declined, (SELECT expired FROM c) AS expired, (SELECT confirmed_at FROM c) AS confirmed_at,
                EXISTS (SELECT 1 FROM handled_challenges WHERE hash = $3) AS handled,
                EXISTS (SELECT 1 FROM claimed) AS claimed,
                (SELECT sess FROM s) AS session_data
         FROM (SELECT 1) one LEFT JOIN users u ON u.id = $1::uuid`,
        [uuidOrNil(userId), audienceId, challengeHash("consent", consentChallenge), claim?.always ?? false, claim?.ifGranted ?? null, sessionId, userId, claim?.optional ?? [], ttlSeconds],
      );
      const r = rows[0]!;
      return {
        user: r.found ? userOf(r) : null,
        grantedScopes: r.scopes ?? [],
        declinedScopes: r.declined ?? [],
        expired: r.expired ?? false,
        confirmedAt: r.confirmed_at,
        clientIds: r.client_ids ?? [],
        handled: r.handled,
        claimed: r.claimed,
        session: r.session_data,
      };
    },

    async getGrantedScopes(userId: string, audienceId: string): Promise<string[]> {
      const { rows } = await sql.query<{ scopes: string[] | null }>("SELECT scopes FROM consents WHERE user_id = $1::uuid AND audience_id = $2", [userId, audienceId]);
      return rows[0]?.scopes ?? [];
    },

    /**
     * An approval of a consent step, in one statement (record_consent): merges the approved scopes
     * into the user's consent for the audience (old ∪ new, never dropping: mergeScopes) and notes the
     * client. Row-locked, so concurrent approvals never lose scopes; an approval that adds scopes is
     * appended to the consent history. Committed synchronously (durable) even on the plain pool. With
     * `claimChallenge`, the consent challenge is claimed in the same transaction. Returns the account
     * as it is too: nothing is written when it is gone or disabled, or when the challenge was answered already.
     */
    async recordConsent(
      userId: string,
      audienceId: string,
      clientId: string,
      approved: readonly string[],
      opts: { claimChallenge?: string; declined?: readonly string[]; ttlSeconds?: number | null } = {},
    ): Promise<Approval | { outcome: "no_user" | "disabled" | "handled"; user: User | null }> {
      const claim = opts.claimChallenge ? challengeHash("consent", opts.claimChallenge) : null;
      const { rows } = await sql.query<ApprovalRow & { outcome: "recorded" | "no_user" | "disabled" | "handled" }>(
        `SELECT r.outcome, r.scopes, r.added, u.id IS NOT NULL AS found, ${USER_COLUMNS}
         FROM record_consent($1::uuid, $2::text, $3::text, $4::text[], $5::text, $6::text[], $7::int) r LEFT JOIN users u ON u.id = $1::uuid`,
        [uuidOrNil(userId), audienceId, clientId, [...approved], claim, [...(opts.declined ?? [])], opts.ttlSeconds ?? null],
      );
      const r = rows[0]!;
      const user = r.found ? userOf(r) : null;
      if (r.outcome === "recorded" && user) return { outcome: "recorded", user, scopes: r.scopes ?? [], added: r.added ?? [] };
      return { outcome: r.outcome === "recorded" ? "no_user" : r.outcome, user };
    },

    /**
     * recordConsent for the consent form's post, with the browser's session read in the same
     * statement (record_consent_in_session): the approval is written only when the live session
     * `sessionId` holds the form's CSRF token `csrf` and is nobody's or the subject's; else the
     * outcome is "refused" and nothing is written. The caller checks the token and the browser again
     * with the session returned here.
     */
    async recordConsentInSession(
      sessionId: string | null,
      csrf: string | null,
      subject: string,
      audienceId: string,
      clientId: string,
      approved: readonly string[],
      claimChallenge: string,
      opts: { declined?: readonly string[]; ttlSeconds?: number | null } = {},
    ): Promise<(Approval | { outcome: "no_user" | "disabled" | "handled" | "refused"; user: User | null }) & { session: SessionData | null }> {
      const { rows } = await sql.query<ApprovalRow & { session_data: SessionData | null; outcome: "recorded" | "no_user" | "disabled" | "handled" | "refused" }>(
        `SELECT r.session_data, r.outcome, r.scopes, r.added, u.id IS NOT NULL AS found, ${USER_COLUMNS}
         FROM record_consent_in_session($1::text, $2::text, $3::text, $4::uuid, $5::text, $6::text, $7::text[], $8::text, $9::text[], $10::int) r LEFT JOIN users u ON u.id = $4::uuid`,
        [sessionId, csrf, subject, uuidOrNil(subject), audienceId, clientId, [...approved], challengeHash("consent", claimChallenge), [...(opts.declined ?? [])], opts.ttlSeconds ?? null],
      );
      const r = rows[0]!;
      const user = r.found ? userOf(r) : null;
      const session = r.session_data;
      if (r.outcome === "recorded" && user) return { outcome: "recorded", user, scopes: r.scopes ?? [], added: r.added ?? [], session };
      return { outcome: r.outcome === "recorded" ? "no_user" : r.outcome, user, session };
    },

    /** Notes that a client used the user's existing consent for its audience (a silent pass). */
    async noteConsentUse(userId: string, audienceId: string, clientId: string, q: Queryable = sql): Promise<void> {
      await q.query(
        `UPDATE consents SET client_ids = array_append(coalesce(client_ids, '{}'), $1), updated_at = now()
         WHERE user_id = $2::uuid AND audience_id = $3 AND NOT ($1 = ANY(coalesce(client_ids, '{}')))`,
        [clientId, userId, audienceId],
      );
    },

    /** The user's consents (one per audience, by audience id) with their audience and the names of the clients that used them. */
    async listConsents(userId: string): Promise<ConsentView[]> {
      const { rows } = await sql.query<{ scopes: string[]; declined: string[]; confirmed_at: Date; client_ids: string[]; created_at: Date; updated_at: Date; client_names: Record<string, string | null> }>(
        `SELECT coalesce(c.scopes, '{}') AS scopes, coalesce(c.declined_scopes, '{}') AS declined, c.confirmed_at,
                coalesce(c.client_ids, '{}') AS client_ids, c.created_at, c.updated_at, ${JOINED_AUDIENCE_COLUMNS},
                (SELECT coalesce(json_object_agg(cl.id, cl.display_name), '{}') FROM clients cl WHERE cl.audience_id = a.id) AS client_names
         FROM consents c JOIN audiences a ON a.id = c.audience_id
         WHERE c.user_id = $1::uuid
         ORDER BY c.audience_id ASC`,
        [userId],
      );
      return rows.map((r) => ({
        audience: audienceOf(r, "a_"),
        scopes: r.scopes,
        declinedScopes: r.declined,
        confirmedAt: r.confirmed_at,
        clients: r.client_ids.map((id) => ({ id, name: r.client_names[id] ?? id })),
        createdAt: r.created_at,
        updatedAt: r.updated_at,
      }));
    },

    /**
     * Removes one scope from the user's consent for the audience (the whole consent when nothing else
     * is left) and records it; false when the consent did not hold it.
     */
    async revokeConsentScope(userId: string, audienceId: string, scope: string): Promise<boolean> {
      // One statement: the row locked by the update, the history entry only when the scope was there.
      const { rows } = await durable.query<{ n: number }>(
        `WITH changed AS (
           UPDATE consents SET scopes = array_remove(scopes, $3), updated_at = now()
           WHERE user_id = $1::uuid AND audience_id = $2 AND $3 = ANY(coalesce(scopes, '{}')) AND cardinality(array_remove(scopes, $3)) > 0
           RETURNING id),
              gone AS (
           DELETE FROM consents
           WHERE user_id = $1::uuid AND audience_id = $2 AND $3 = ANY(coalesce(scopes, '{}')) AND cardinality(array_remove(scopes, $3)) = 0
           RETURNING id),
              event AS (
                INSERT INTO consent_events (user_id, audience_id, client_id, action, scopes_added, scopes_removed, created_at)
                SELECT $1::uuid, $2, NULL, 'REVOKE'::"ConsentAction", '{}', ARRAY[$3::text], now() FROM (SELECT id FROM changed UNION ALL SELECT id FROM gone) x)
         SELECT (SELECT count(*) FROM changed)::int + (SELECT count(*) FROM gone)::int AS n`,
        [userId, audienceId, scope],
      );
      return (rows[0]?.n ?? 0) > 0;
    },

    /** Forgets a "don't ask again": the scope is asked again the next time it is requested. */
    async forgetDeclinedScope(userId: string, audienceId: string, scope: string): Promise<boolean> {
      const { rows } = await durable.query<{ n: number }>(
        `WITH changed AS (
           UPDATE consents SET declined_scopes = array_remove(declined_scopes, $3), updated_at = now()
           WHERE user_id = $1::uuid AND audience_id = $2 AND $3 = ANY(coalesce(declined_scopes, '{}'))
           RETURNING id),
              event AS (
                INSERT INTO consent_events (user_id, audience_id, client_id, action, scopes_added, scopes_removed, created_at)
                SELECT $1::uuid, $2, NULL, 'DECLINE'::"ConsentAction", ARRAY[$3::text], '{}', now() FROM changed)
         SELECT count(*)::int AS n FROM changed`,
        [userId, audienceId, scope],
      );
      return (rows[0]?.n ?? 0) > 0;
    },

    /** Deletes the user's consent for the audience and records the revocation; false when there was none. */
    async revokeConsent(userId: string, audienceId: string): Promise<boolean> {
      // One statement (atomic): the deleted row's scopes go into the history entry.
      const { rows } = await durable.query<{ n: number }>(
        `WITH gone AS (DELETE FROM consents WHERE user_id = $1::uuid AND audience_id = $2 RETURNING scopes),
              event AS (
                INSERT INTO consent_events (user_id, audience_id, client_id, action, scopes_added, scopes_removed, created_at)
                SELECT $1::uuid, $2, NULL, 'REVOKE'::"ConsentAction", '{}', coalesce(gone.scopes, '{}'), now() FROM gone)
         SELECT count(*)::int AS n FROM gone`,
        [userId, audienceId],
      );
      return (rows[0]?.n ?? 0) > 0;
    },
  };
}
