// What every credential change does after the new credential is stored: it ends the user's access
// everywhere it was established with the old one. Used by the admin reset (user:create
// --reset-password) and meant for the user-driven changes (password change, reset by email).
//
// Order: Hydra first, the app's sessions last. While a browser is remembered at Hydra it completes
// new authorizations without a password, and any app session established through such a flow would
// outlive a cleanup done before it; ending the app sessions last also ends every session created in
// between. A Hydra failure does not stop the remaining steps (the app sessions are ended anyway); it
// is reported by throwing EndUserAccessError, never swallowed.
import type { Hydra } from "../services/hydra";
import type { Store } from "../services/store";

export interface EndUserAccessOptions {
  store: Pick<Store, "endUserSessions" | "endUserSessionsExcept">;
  hydra: Pick<Hydra, "revokeLoginSessions" | "revokeConsentSessions">;
  /** The user's id, which is also the subject at Hydra. */
  userId: string;
  /**
   * Also revoke every Hydra consent session of the subject, which revokes its access and refresh
   * tokens (the "account compromised" case). The consents kept in the app's store are not touched.
   */
  revokeTokens: boolean;
  /** Keep this app session (the browser that made the change, e.g. a password change on /account). */
  keepSessionId?: string;
}

export interface AccessEnded {
  /** App (express-session) sessions ended. */
  appSessions: number;
  /** Hydra's login sessions (remembered browsers) of the subject were revoked. */
  loginSessionsRevoked: boolean;
  /** Hydra's consent sessions, and so the tokens, of the subject were revoked. */
  consentSessionsRevoked: boolean;
}

/** Some step failed; `ended` says what was done nevertheless, `failures` what was not and why. */
export class EndUserAccessError extends Error {
  constructor(
    public readonly ended: AccessEnded,
    public readonly failures: string[],
  ) {
    super(`could not end all access: ${failures.join("; ")}`);
  }
}

export async function endUserAccess(opts: EndUserAccessOptions): Promise<AccessEnded> {
  const ended: AccessEnded = { appSessions: 0, loginSessionsRevoked: false, consentSessionsRevoked: false };
  const failures: string[] = [];
  const reason = (err: unknown) => (err instanceof Error ? err.message : String(err));

  try {
    await opts.hydra.revokeLoginSessions(opts.userId);
    ended.loginSessionsRevoked = true;
  } catch (err) {
    failures.push(`Hydra login sessions not revoked (${reason(err)})`);
  }
  if (opts.revokeTokens) {
    try {
      await opts.hydra.revokeConsentSessions(opts.userId);
      ended.consentSessionsRevoked = true;
    } catch (err) {
      failures.push(`Hydra consent sessions (tokens) not revoked (${reason(err)})`);
    }
  }
  try {
    ended.appSessions = opts.keepSessionId
      ? await opts.store.endUserSessionsExcept(opts.userId, opts.keepSessionId)
      : await opts.store.endUserSessions(opts.userId);
  } catch (err) {
    failures.push(`app sessions not ended (${reason(err)})`);
  }
  if (failures.length) throw new EndUserAccessError(ended, failures);
  return ended;
}

/** "ended 2 app sessions, revoked Hydra login sessions and consent sessions (tokens)" */
export function describeAccessEnded(e: AccessEnded): string {
  const revoked = [e.loginSessionsRevoked && "login sessions", e.consentSessionsRevoked && "consent sessions (tokens)"].filter(Boolean);
  const parts = [`ended ${e.appSessions} app session${e.appSessions === 1 ? "" : "s"}`];
  if (revoked.length) parts.push(`revoked Hydra ${revoked.join(" and ")}`);
  return parts.join(", ");
}

// ---- Deleting a user everywhere: the same steps for /account's "Delete account" and `npm run user:delete`.

export interface DeleteUserOptions {
  store: Pick<Store, "setDisabled" | "restoreDisabled" | "deleteUser" | "endUserSessions">;
  hydra: Pick<Hydra, "revokeLoginSessions" | "revokeConsentSessions">;
  userId: string;
}

export interface UserDeleted {
  /** The user's consents (one per audience) deleted with the account. */
  consents: number;
  /** Entries of the user's consent history deleted with the account. */
  consentEvents: number;
  /** App sessions ended (all of them, including the browser that asked). */
  appSessions: number;
}

/** Hydra could not revoke the user's sessions: nothing was deleted (the user is as before). */
export class DeleteUserError extends Error {
  constructor(public readonly failures: string[]) {
    super(`the user was not deleted: ${failures.join("; ")}`);
  }
}

/**
 * Deletes the user everywhere. Order:
 * 1. disable the account (no sign-in or consent can complete while the rest happens);
 * 2. at Hydra, revoke every consent session of the subject (all clients: access and refresh tokens
 *    stop working) and every login session (remembered browsers);
 *    if Hydra fails, the account is put back as it was and DeleteUserError says why: nothing deleted,
 *    the same request can simply be repeated;
 * 3. delete the user's row: consents, consent history and mail links go with it (ON DELETE CASCADE);
 * 4. end every app session of the user (last, so a session made meanwhile ends too).
 * Returns null when there is no such user.
 */
export async function deleteUserEverywhere(opts: DeleteUserOptions): Promise<UserDeleted | null> {
  const state = await opts.store.setDisabled(opts.userId, true);
  if (!state) return null;
  const failures: string[] = [];
  const reason = (err: unknown) => (err instanceof Error ? err.message : String(err));
  try {
    await opts.hydra.revokeConsentSessions(opts.userId);
  } catch (err) {
    failures.push(`Hydra consent sessions (tokens) not revoked (${reason(err)})`);
  }
  try {
    await opts.hydra.revokeLoginSessions(opts.userId);
  } catch (err) {
    failures.push(`Hydra login sessions not revoked (${reason(err)})`);
  }
  if (failures.length) {
    await opts.store.restoreDisabled(opts.userId, state.before);
    throw new DeleteUserError(failures);
  }
  const deleted = await opts.store.deleteUser(opts.userId);
  if (!deleted) return null; // deleted meanwhile by someone else
  const appSessions = await opts.store.endUserSessions(opts.userId);
  return { ...deleted, appSessions };
}

/** "deleted 2 consents and 5 consent-history entries; revoked Hydra consent sessions (tokens) and login sessions; ended 1 app session" */
export function describeUserDeleted(d: UserDeleted): string {
  const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
  return [
    `deleted ${plural(d.consents, "consent", "consents")} and ${plural(d.consentEvents, "consent-history entry", "consent-history entries")}`,
    "revoked Hydra consent sessions (tokens) and login sessions",
    `ended ${plural(d.appSessions, "app session", "app sessions")}`,
  ].join("; ");
}
