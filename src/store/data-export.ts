// A person's data, table by table (GDPR articles 15 and 20): every row that is about the user, read
// in one snapshot (REPEATABLE READ), without what would let anyone act as them (hashes, sealed
// secrets, public keys, link tokens, the outbox's mail data). Each table that names a user is listed
// in EXPORTED_TABLES; test/integration/data-export.test.ts checks that none is missing.
import type { Connection, JsonValue } from "./sql";

/** The tables whose rows name a user (by user_id, used_by_user_id, or the session's userId), and the key each has in the export. */
export const EXPORTED_TABLES = {
  users: "profile",
  consents: "consents",
  consent_events: "consentHistory",
  invitations: "invitationsUsed",
  one_time_tokens: "mailLinks",
  outbox: "mail",
  session: "sessions",
  totp_factors: "authenticatorApp",
  recovery_codes: "recoveryCodes",
  passkeys: "passkeys",
  login_session_strength: "signInStrengths",
  account_sessions: "signedIn",
  account_events: "activity",
} as const;

export type UserExport = Record<(typeof EXPORTED_TABLES)[keyof typeof EXPORTED_TABLES], JsonValue>;

/** One statement per table, each a JSON value. */
const QUERIES: Record<keyof typeof EXPORTED_TABLES, string> = {
  users: `SELECT json_build_object('id', id, 'email', email, 'emailVerified', email_verified, 'name', name, 'givenName', given_name, 'familyName', family_name,
            'attributes', attributes, 'disabledAt', disabled_at, 'pendingSince', pending_since, 'createdAt', created_at, 'updatedAt', updated_at) AS v
          FROM users WHERE id = $1::uuid`,
  consents: `SELECT coalesce(json_agg(json_build_object('audience', c.audience_id, 'audienceName', a.display_name, 'scopes', c.scopes, 'clients', c.client_ids,
               'declinedScopes', c.declined_scopes, 'confirmedAt', c.confirmed_at, 'createdAt', c.created_at, 'updatedAt', c.updated_at) ORDER BY c.created_at), '[]') AS v
             FROM consents c JOIN audiences a ON a.id = c.audience_id WHERE c.user_id = $1::uuid`,
  consent_events: `SELECT coalesce(json_agg(json_build_object('audience', audience_id, 'client', client_id, 'action', action, 'scopesAdded', scopes_added,
                     'scopesRemoved', scopes_removed, 'at', created_at) ORDER BY id), '[]') AS v
                   FROM consent_events WHERE user_id = $1::uuid`,
  invitations: `SELECT coalesce(json_agg(json_build_object('audience', audience_id, 'email', email, 'usedAt', used_at, 'createdAt', created_at) ORDER BY created_at), '[]') AS v
                FROM invitations WHERE used_by_user_id = $1::uuid`,
  one_time_tokens: `SELECT coalesce(json_agg(json_build_object('kind', kind, 'email', email, 'expiresAt', expires_at, 'usedAt', used_at, 'createdAt', created_at) ORDER BY created_at), '[]') AS v
                    FROM one_time_tokens WHERE user_id = $1::uuid`,
  outbox: `SELECT coalesce(json_agg(json_build_object('to', "to", 'template', template, 'createdAt', created_at, 'sentAt', sent_at) ORDER BY id), '[]') AS v
           FROM outbox WHERE user_id = $1::uuid`,
  session: `SELECT coalesce(json_agg(json_build_object('expires', expire) ORDER BY expire), '[]') AS v FROM session WHERE sess->>'userId' = $1::text`,
  totp_factors: `SELECT json_build_object('confirmedAt', confirmed_at, 'createdAt', created_at) AS v FROM totp_factors WHERE user_id = $1::uuid`,
  recovery_codes: `SELECT json_build_object('left', count(*) FILTER (WHERE used_at IS NULL), 'used', coalesce(json_agg(used_at ORDER BY used_at) FILTER (WHERE used_at IS NOT NULL), '[]')) AS v
                   FROM recovery_codes WHERE user_id = $1::uuid`,
  passkeys: `SELECT coalesce(json_agg(json_build_object('name', name, 'synced', device_type = 'multiDevice', 'backedUp', backed_up, 'createdAt', created_at, 'lastUsedAt', last_used_at)
               ORDER BY created_at), '[]') AS v FROM passkeys WHERE user_id = $1::uuid`,
  login_session_strength: `SELECT coalesce(json_agg(json_build_object('acr', acr, 'amr', amr, 'at', created_at) ORDER BY created_at), '[]') AS v
                           FROM login_session_strength WHERE user_id = $1::uuid`,
  // Where the person is signed in, without the session ids (Hydra's and the app's act as keys).
  account_sessions: `SELECT coalesce(json_agg(json_build_object('userAgent', user_agent, 'network', ip_prefix, 'signedInAt', signed_in_at, 'lastSeenAt', last_seen_at,
                       'rememberedUntil', remembered_until) ORDER BY signed_in_at), '[]') AS v
                     FROM account_sessions WHERE user_id = $1::uuid`,
  account_events: `SELECT coalesce(json_agg(json_build_object('kind', kind, 'detail', detail, 'at', created_at) ORDER BY id), '[]') AS v
                   FROM account_events WHERE user_id = $1::uuid`,
};

export function dataExportQueries({ transaction }: Connection) {
  return {
    /** Everything stored about the user, or null when there is no such user. */
    async exportUser(userId: string): Promise<UserExport | null> {
      return transaction(async (tx) => {
        await tx.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
        const out: Record<string, JsonValue> = {};
        for (const [table, key] of Object.entries(EXPORTED_TABLES)) {
          const { rows } = await tx.query<{ v: JsonValue }>(QUERIES[table as keyof typeof EXPORTED_TABLES], [userId]);
          out[key] = rows[0]?.v ?? null;
        }
        return out.profile ? (out as UserExport) : null;
      });
    },
  };
}
