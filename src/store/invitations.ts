// Table invitations: single-use sign-up codes for an audience (only their hashes are stored),
// redeemed by the sign-up they let in (users.ts registerUser).
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { expectOne, normalizeEmail, utc, type Connection, type Queryable } from "./sql";
import { audienceOf, JOINED_AUDIENCE_COLUMNS, type Audience } from "./configuration";
import type { ColumnRow, INVITATIONS, Row } from "./tables";

/** An invitations row (its columns: tables.ts INVITATIONS). */
export type Invitation = Row<typeof INVITATIONS>;

/** Invitation codes are 256-bit random strings; only their SHA-256 is stored. */
export function invitationCodeHash(code: string): string {
  return createHash("sha256").update(code, "utf8").digest("hex");
}

/** Thrown by registerUser: the invitation was redeemed or expired meanwhile (nothing was written). */
export class InvitationRedeemedError extends Error {}

const INVITATION_COLUMNS = `i.id, i.audience_id, i.code_hash, i.email, i.expires_at, i.used_at,
  i.used_by_user_id, i.created_at`;

type InvitationRow = ColumnRow<typeof INVITATIONS>;

function invitationOf(r: InvitationRow): Invitation {
  return {
    id: r.id,
    audienceId: r.audience_id,
    codeHash: r.code_hash,
    email: r.email,
    expiresAt: r.expires_at,
    usedAt: r.used_at,
    usedByUserId: r.used_by_user_id,
    createdAt: r.created_at,
  };
}

/** Uses the invitation inside the sign-up's transaction `q`; throws InvitationRedeemedError when it is used or expired. */
export async function redeemInvitation(q: Queryable, invitationId: string): Promise<void> {
  const { rows } = await q.query(
    `UPDATE invitations SET used_at = now()
               WHERE id = $1::uuid AND used_at IS NULL AND expires_at > now() RETURNING id`,
    [invitationId],
  );
  if (rows.length !== 1) throw new InvitationRedeemedError("invitation already redeemed");
}

/** Notes the account an invitation redeemed in `q` made. */
export async function noteInvitationRedeemer(q: Queryable, invitationId: string, userId: string): Promise<void> {
  const used = await q.query("UPDATE invitations SET used_by_user_id = $2::uuid WHERE id = $1::uuid RETURNING id", [invitationId, userId]);
  expectOne(used.rows, "registerUser: the invitation");
}

export function invitationQueries({ sql, durable }: Connection) {
  return {
    /** Stores a new invitation and returns its code (shown once; only its hash is kept). */
    async createInvitation(audienceId: string, email: string | null, expiresAt: Date): Promise<{ code: string; invitation: Invitation }> {
      const code = randomBytes(32).toString("base64url");
      const { rows } = await durable.query<InvitationRow>(
        `INSERT INTO invitations AS i (id, audience_id, code_hash, email, expires_at, created_at)
         VALUES ($1::uuid, $2, $3, $4, $5::timestamptz, now())
         RETURNING ${INVITATION_COLUMNS}`,
        [randomUUID(), audienceId, invitationCodeHash(code), email ? normalizeEmail(email) : null, utc(expiresAt)],
      );
      return { code, invitation: invitationOf(rows[0]!) };
    },

    async findInvitation(code: string): Promise<(Invitation & { audience: Audience }) | null> {
      const { rows } = await sql.query<InvitationRow>(
        `SELECT ${INVITATION_COLUMNS}, ${JOINED_AUDIENCE_COLUMNS} FROM invitations i JOIN audiences a ON a.id = i.audience_id WHERE i.code_hash = $1`,
        [invitationCodeHash(code)],
      );
      const r = rows[0];
      return r ? { ...invitationOf(r), audience: audienceOf(r as unknown as Record<string, unknown>, "a_") } : null;
    },
  };
}
