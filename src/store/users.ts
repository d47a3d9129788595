// Table users: accounts, from sign-up (pending until a self sign-up's address is confirmed) to
// deletion; and a sign-in attempt's one statement, which reads the account of the address.
import { randomUUID } from "node:crypto";
import type { SessionData } from "express-session";
import { expectOne, isUniqueViolation, isUuid, normalizeEmail, utc, type Connection, type JsonValue, type Queryable } from "./sql";
import { CONSUME, type CountedRow, type SignInCounters } from "./rate-limits";
import { sessionWhere } from "./sessions";
import { noteInvitationRedeemer, redeemInvitation } from "./invitations";
import { retireMailLinks } from "./one-time-tokens";
import type { ColumnRow, Row, USERS } from "./tables";
import { HAS_SECOND_FACTOR } from "./second-factors";

/** A users row (its columns: tables.ts USERS). */
export type User = Row<typeof USERS>;

export interface NewUser {
  email: string;
  passwordHash: string;
  name: string;
  emailVerified: boolean;
  /** Self sign-up whose address nobody has vouched for: pending until the address is confirmed. */
  pending: boolean;
}

/** Thrown by registerUser: the email already has an account (nothing was written). */
export class EmailTakenError extends Error {}

/** The users row `u`'s columns, as UserRow names them. */
export const USER_COLUMNS = `u.id, u.email, u.email_normalized, u.email_verified, u.password_hash, u.name, u.given_name, u.family_name,
  u.attributes, u.disabled_at, u.pending_since, u.created_at, u.updated_at`;

/** A users row as USER_COLUMNS returns it. */
export type UserRow = ColumnRow<typeof USERS>;

export function userOf(r: UserRow): User {
  return {
    id: r.id,
    email: r.email,
    emailNormalized: r.email_normalized,
    emailVerified: r.email_verified,
    passwordHash: r.password_hash,
    name: r.name,
    givenName: r.given_name,
    familyName: r.family_name,
    attributes: r.attributes,
    disabledAt: r.disabled_at,
    pendingSince: r.pending_since,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** A users row that went through row_to_json: timestamps come back as text. */
function jsonUser(r: UserRow): UserRow {
  const date = (v: unknown) => (v === null || v === undefined ? null : new Date(String(v)));
  return { ...r, disabled_at: date(r.disabled_at), pending_since: date(r.pending_since), created_at: date(r.created_at)!, updated_at: date(r.updated_at)! };
}

export function userQueries({ sql, durable, transaction }: Connection) {
  return {
    async findUserByEmail(email: string, q: Queryable = sql): Promise<User | null> {
      const { rows } = await q.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users u WHERE u.email_normalized = $1`, [normalizeEmail(email)]);
      return rows[0] ? userOf(rows[0]) : null;
    },

    /**
     * A sign-in attempt's database work in one statement: counts the attempt on its counters
     * (rate-limits.ts CONSUME, prepared by limits.signInCounters), reads the account of the address
     * and the browser's session.
     */
    /** `userHasFactor`: the account has a second factor that signs in (read in the same statement). */
    async attemptSignIn(
      email: string,
      counters: SignInCounters,
      sessionId: string | null = null,
    ): Promise<{ counted: CountedRow[]; user: User | null; userHasFactor: boolean; session: SessionData | null }> {
      const { rows } = await sql.query<{ counted: CountedRow[]; user: (UserRow & { second_factor: boolean }) | null; session_data: SessionData | null }>(
        `WITH counted AS (${CONSUME})
         SELECT (SELECT json_agg(counted) FROM counted) AS counted,
                (SELECT row_to_json(x) FROM (SELECT ${USER_COLUMNS}, ${HAS_SECOND_FACTOR("u")} AS second_factor FROM users u WHERE u.email_normalized = $4) x) AS "user",
                (SELECT sess FROM session WHERE ${sessionWhere("$5")}) AS session_data`,
        [counters.rows, counters.now, counters.durationsMs, normalizeEmail(email), sessionId],
      );
      const r = rows[0]!;
      return { counted: r.counted ?? [], user: r.user ? userOf(jsonUser(r.user)) : null, userHasFactor: Boolean(r.user?.second_factor), session: r.session_data };
    },

    async getUser(id: string, q: Queryable = sql): Promise<User | null> {
      if (!isUuid(id)) return null;
      const { rows } = await q.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users u WHERE u.id = $1::uuid`, [id]);
      return rows[0] ? userOf(rows[0]) : null;
    },

    /**
     * Creates the user and, when given, redeems the invitation — atomically: a used, expired or
     * concurrently redeemed invitation or a taken email leaves nothing written.
     */
    async registerUser(user: NewUser, invitationId: string | null, alsoInTx?: (tx: Queryable, user: User) => Promise<void>): Promise<User> {
      try {
        return await transaction(async (q) => {
          if (invitationId) await redeemInvitation(q, invitationId);
          const { rows } = await q.query<UserRow>(
            `INSERT INTO users AS u (id, email, email_normalized, email_verified, password_hash, name, pending_since, created_at, updated_at)
             VALUES ($1::uuid, $2, $3, $4, $5, $6, CASE WHEN $7::boolean THEN now() END, now(), now())
             RETURNING ${USER_COLUMNS}`,
            [randomUUID(), user.email.trim(), normalizeEmail(user.email), user.emailVerified, user.passwordHash, user.name, user.pending && !user.emailVerified],
          );
          const created = userOf(rows[0]!);
          if (invitationId) await noteInvitationRedeemer(q, invitationId, created.id);
          if (alsoInTx) await alsoInTx(q, created);
          return created;
        }, { durable: true });
      } catch (err) {
        if (isUniqueViolation(err)) throw new EmailTakenError("email taken");
        throw err;
      }
    },

    /** Marks the address verified, if it is still the user's address. */
    async markEmailVerified(tx: Queryable, userId: string, email: string): Promise<boolean> {
      const { rows } = await tx.query(
        "UPDATE users SET email_verified = true, pending_since = NULL, updated_at = now() WHERE id = $1::uuid AND email_normalized = $2 RETURNING id",
        [userId, normalizeEmail(email)],
      );
      return rows.length === 1;
    },

    /**
     * Creates an account as an admin (user:create, test fixtures): not pending, with its names and
     * attributes as given; committed durably. Throws EmailTakenError when the address has an account.
     */
    async createUser(user: Pick<User, "email" | "passwordHash" | "emailVerified" | "name" | "givenName" | "familyName" | "attributes">): Promise<User> {
      try {
        const { rows } = await durable.query<UserRow>(
          `INSERT INTO users AS u (id, email, email_normalized, email_verified, password_hash, name, given_name, family_name, attributes, created_at, updated_at)
           VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, now(), now())
           RETURNING ${USER_COLUMNS}`,
          [randomUUID(), user.email.trim(), normalizeEmail(user.email), user.emailVerified, user.passwordHash, user.name, user.givenName, user.familyName, JSON.stringify(user.attributes ?? {})],
        );
        return userOf(rows[0]!);
      } catch (err) {
        if (isUniqueViolation(err)) throw new EmailTakenError("email taken");
        throw err;
      }
    },

    /** Replaces the user's attributes (the claim sources "attributes.<key>"), in `q` when given, else committed durably. */
    async setAttributes(userId: string, attributes: JsonValue, q: Queryable = durable): Promise<void> {
      const { rows } = await q.query("UPDATE users SET attributes = $2::jsonb, updated_at = now() WHERE id = $1::uuid RETURNING id", [userId, JSON.stringify(attributes)]);
      expectOne(rows, "setAttributes: the user");
    },

    // ---- Self-service account (/account) and the admin user commands (user:disable/enable/delete).

    /** Sets the user's display name and the given/family names derived from it. */
    async setName(userId: string, names: { name: string | null; givenName: string | null; familyName: string | null }): Promise<void> {
      const { rows } = await durable.query(
        "UPDATE users SET name = $2, given_name = $3, family_name = $4, updated_at = now() WHERE id = $1::uuid RETURNING id",
        [userId, names.name, names.givenName, names.familyName],
      );
      expectOne(rows, "setName: the user");
    },

    /** Stores a new password hash (inside `tx`, e.g. together with the notification mail). */
    async setPasswordHash(tx: Queryable, userId: string, passwordHash: string): Promise<void> {
      const { rows } = await tx.query("UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1::uuid RETURNING id", [userId, passwordHash]);
      expectOne(rows, "setPasswordHash: the user");
    },

    /**
     * Applies a confirmed change of address inside `tx`: the new address (verified: the link proved
     * the mailbox), and the user's other unused mail links (verification, recovery) retired, since
     * they went to the old address. Returns the old address; throws EmailTakenError when another
     * account has the new address by now (the caller's transaction then rolls back).
     */
    async applyEmailChange(tx: Queryable, userId: string, newEmail: string): Promise<{ oldEmail: string; name: string | null; oldEmailVerified: boolean } | null> {
      const { rows } = await tx.query<{ email: string; name: string | null; email_verified: boolean }>("SELECT email, name, email_verified FROM users WHERE id = $1::uuid", [userId]);
      const user = rows[0];
      if (!user) return null;
      try {
        const updated = await tx.query(
          "UPDATE users SET email = $2, email_normalized = $3, email_verified = true, pending_since = NULL, updated_at = now() WHERE id = $1::uuid RETURNING id",
          [userId, newEmail.trim(), normalizeEmail(newEmail)],
        );
        expectOne(updated.rows, "applyEmailChange: the user");
      } catch (err) {
        if (isUniqueViolation(err)) throw new EmailTakenError("email taken");
        throw err;
      }
      await retireMailLinks(tx, userId);
      return { oldEmail: user.email, name: user.name, oldEmailVerified: user.email_verified };
    },

    /** Sets or clears users.disabled_at; returns the value it had before (null: there is no such user). */
    async setDisabled(userId: string, disabled: boolean): Promise<{ before: Date | null } | null> {
      return transaction(async (q) => {
        const { rows } = await q.query<{ disabled_at: Date | null }>("SELECT disabled_at FROM users WHERE id = $1::uuid FOR UPDATE", [userId]);
        const row = rows[0];
        if (!row) return null;
        if (disabled !== (row.disabled_at !== null)) {
          await q.query(
            "UPDATE users SET disabled_at = CASE WHEN $2::boolean THEN now() END, updated_at = now() WHERE id = $1::uuid",
            [userId, disabled],
          );
        }
        return { before: row.disabled_at };
      }, { durable: true });
    },

    /** Puts back a disabled_at value read earlier (undoing setDisabled when a deletion could not go on). */
    async restoreDisabled(userId: string, disabledAt: Date | null): Promise<void> {
      await durable.query("UPDATE users SET disabled_at = $2::timestamptz, updated_at = now() WHERE id = $1::uuid", [
        userId,
        utc(disabledAt),
      ]);
    },

    /**
     * The mailbox's owner took over an account nobody had confirmed the address of (a password reset
     * by mail): what its creator typed (name, attributes) and allowed (consents, revoked in the
     * history) goes, in `tx`.
     */
    async clearUnconfirmedAccount(tx: Queryable, userId: string): Promise<void> {
      await tx.query(
        `WITH gone AS (DELETE FROM consents WHERE user_id = $1::uuid RETURNING audience_id, scopes),
              event AS (
                INSERT INTO consent_events (user_id, audience_id, client_id, action, scopes_added, scopes_removed, created_at)
                SELECT $1::uuid, audience_id, NULL, 'REVOKE'::"ConsentAction", '{}', scopes, now() FROM gone)
         UPDATE users SET name = NULL, given_name = NULL, family_name = NULL, attributes = '{}', updated_at = now()
         WHERE id = $1::uuid`,
        [userId],
      );
    },

    /**
     * Deletes accounts made by self sign-up whose address nobody confirmed within `seconds`, which
     * frees their addresses; returns how many. They never completed a sign-in, so Hydra holds nothing of them.
     */
    async prunePendingAccounts(seconds: number): Promise<number> {
      const { rows } = await durable.query<{ n: number }>(
        `WITH gone AS (DELETE FROM users WHERE pending_since < now() - make_interval(secs => $1::double precision) AND NOT email_verified RETURNING 1)
         SELECT count(*)::int AS n FROM gone`,
        [seconds],
      );
      return (rows[0]?.n ?? 0);
    },

    /**
     * Deletes the user. Their consents, consent history, mail links and outbox mail go with the row
     * (ON DELETE CASCADE); an invitation they redeemed keeps only the fact that it was used. Returns what was
     * deleted, or null when there was no such user.
     */
    async deleteUser(userId: string): Promise<{ consents: number; consentEvents: number } | null> {
      // One statement (atomic): the counts are of the rows the deletion takes with it.
      const { rows } = await durable.query<{ consents: number; consent_events: number; deleted: number }>(
        `WITH gone AS (DELETE FROM users WHERE id = $1::uuid RETURNING id)
         SELECT (SELECT count(*)::int FROM consents WHERE user_id = $1::uuid) AS consents,
                (SELECT count(*)::int FROM consent_events WHERE user_id = $1::uuid) AS consent_events,
                (SELECT count(*)::int FROM gone) AS deleted`,
        [userId],
      );
      const r = rows[0]!;
      return r.deleted === 1 ? { consents: r.consents, consentEvents: r.consent_events } : null;
    },
  };
}
