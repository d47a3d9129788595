// Table passkeys: a user's WebAuthn credentials (public keys only; the private key never leaves the
// authenticator), their names, counters and when each was last used.
import type { Connection, Queryable } from "./sql";

export interface PasskeyView {
  id: string;
  name: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  /** multiDevice: synced to the owner's other devices (a password manager's or a platform's). */
  synced: boolean;
}

export interface PasskeyRow {
  id: string;
  userId: string;
  credentialId: string;
  publicKey: string;
  counter: number;
  transports: string[];
  deviceType: string;
}

export function passkeyQueries({ sql }: Connection) {
  return {
    async listPasskeys(userId: string, q: Queryable = sql): Promise<PasskeyView[]> {
      const { rows } = await q.query<{ id: string; name: string; created_at: Date; last_used_at: Date | null; device_type: string }>(
        "SELECT id, name, created_at, last_used_at, device_type FROM passkeys WHERE user_id = $1::uuid ORDER BY created_at",
        [userId],
      );
      return rows.map((r) => ({ id: r.id, name: r.name, createdAt: r.created_at, lastUsedAt: r.last_used_at, synced: r.device_type === "multiDevice" }));
    },

    /** The credentials of the user (for a second factor's allow list, or to exclude on registration). */
    async passkeyCredentials(userId: string, q: Queryable = sql): Promise<{ credentialId: string; transports: string[] }[]> {
      const { rows } = await q.query<{ credential_id: string; transports: string[] | null }>("SELECT credential_id, transports FROM passkeys WHERE user_id = $1::uuid", [userId]);
      return rows.map((r) => ({ credentialId: r.credential_id, transports: r.transports ?? [] }));
    },

    async findPasskey(credentialId: string, q: Queryable = sql): Promise<PasskeyRow | null> {
      const { rows } = await q.query<{ id: string; user_id: string; credential_id: string; public_key: string; counter: string; transports: string[] | null; device_type: string }>(
        "SELECT id, user_id, credential_id, public_key, counter, transports, device_type FROM passkeys WHERE credential_id = $1",
        [credentialId],
      );
      const r = rows[0];
      return r ? { id: r.id, userId: r.user_id, credentialId: r.credential_id, publicKey: r.public_key, counter: Number(r.counter), transports: r.transports ?? [], deviceType: r.device_type } : null;
    },

    /** Adds a credential; false when that credential is registered already (to anyone). */
    async addPasskey(
      userId: string,
      p: { credentialId: string; publicKey: string; counter: number; transports: readonly string[]; deviceType: string; backedUp: boolean; name: string },
      q: Queryable = sql,
    ): Promise<boolean> {
      const { rowCount } = await q.query(
        `INSERT INTO passkeys (id, user_id, credential_id, public_key, counter, transports, device_type, backed_up, name, created_at)
         VALUES (gen_random_uuid(), $1::uuid, $2, $3, $4::bigint, $5::text[], $6, $7, $8, now()) ON CONFLICT (credential_id) DO NOTHING`,
        [userId, p.credentialId, p.publicKey, p.counter, [...p.transports], p.deviceType, p.backedUp, p.name],
      );
      return rowCount === 1;
    },

    /**
     * Records a use with the authenticator's new counter: refused (false) when the counter did not
     * go up, unless the authenticator keeps none (both 0), as many platform authenticators do.
     */
    async usePasskey(id: string, newCounter: number, q: Queryable = sql): Promise<boolean> {
      const { rowCount } = await q.query(
        "UPDATE passkeys SET counter = $2::bigint, last_used_at = now() WHERE id = $1::uuid AND (counter < $2::bigint OR (counter = 0 AND $2::bigint = 0))",
        [id, newCounter],
      );
      return rowCount === 1;
    },

    async renamePasskey(userId: string, id: string, name: string, q: Queryable = sql): Promise<boolean> {
      const { rowCount } = await q.query("UPDATE passkeys SET name = $3 WHERE id = $2::uuid AND user_id = $1::uuid", [userId, id, name]);
      return rowCount === 1;
    },

    /** Removes one of the user's passkeys; its name, or null when there is no such passkey. */
    async removePasskey(userId: string, id: string, q: Queryable = sql): Promise<string | null> {
      const { rows } = await q.query<{ name: string }>("DELETE FROM passkeys WHERE id = $2::uuid AND user_id = $1::uuid RETURNING name", [userId, id]);
      return rows[0]?.name ?? null;
    },
  };
}
