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
  store: Pick<Store, "endUserSessions">;
  hydra: Pick<Hydra, "revokeLoginSessions" | "revokeConsentSessions">;
  /** The user's id, which is also the subject at Hydra. */
  userId: string;
  /**
   * Also revoke every Hydra consent session of the subject, which revokes its access and refresh
   * tokens (the "account compromised" case). The consents kept in the app's store are not touched.
   */
  revokeTokens: boolean;
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
    ended.appSessions = await opts.store.endUserSessions(opts.userId);
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
