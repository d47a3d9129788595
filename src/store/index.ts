// The app's store: every statement on the app's database, one file per table family, composed here
// into the one object the routes, flows, admin commands, the seed and the tests use. SQL on a pg
// pool (src/services/db.ts createPool), the one driver at run time.
import type { Pool } from "pg";
import { connect, type Queryable } from "./sql";
import { configQueries, type ConfigSource } from "./configuration";
import { configWriteQueries } from "./configuration-writes";
import { userQueries } from "./users";
import { consentQueries } from "./consents";
import { challengeQueries } from "./challenges";
import { oneTimeTokenQueries } from "./one-time-tokens";
import { invitationQueries } from "./invitations";
import { sessionQueries } from "./sessions";
import { outboxQueries } from "./outbox";
import { secondFactorQueries } from "./second-factors";
import { passkeyQueries } from "./passkeys";
import { dataExportQueries } from "./data-export";
import { accountActivityQueries } from "./account-activity";

export { isUniqueViolation, normalizeEmail, type JsonValue } from "./sql";
export { audienceColumns, audienceOf, type Audience, type ClientMembership } from "./configuration";
export { type AudienceRow, type ClaimRow, type ClientRow, type ConfigurationRows, type ConfigurationWrites, type ScopeRow } from "./configuration-writes";
export { EmailTakenError, type NewUser, type User } from "./users";
export { type Consent, type ConsentContext, type ConsentView } from "./consents";
export { claimChallengeStatement, unansweredChallengeGate, type ChallengeKind } from "./challenges";
export { issueOneTimeToken, MAX_CODE_ATTEMPTS, oneTimeTokenHash, type OneTimeTokenKind, type TokenLookup } from "./one-time-tokens";
export { type PasskeyRow, type PasskeyView } from "./passkeys";
export { EXPORTED_TABLES, type UserExport } from "./data-export";
export { activityWrites, bindSessionWrites, recordActivity, signInWrites, touchAccountSession, type AccountSessionView, type ActivityRow, type EventRow, type SignInRecord } from "./account-activity";
export { HAS_SECOND_FACTOR, recordStrength, strengthWrites, type SecondFactors, type TotpRow } from "./second-factors";
export { invitationCodeHash, InvitationRedeemedError, type Invitation } from "./invitations";

/** The pool the store's statements run on, and optionally a configuration cache. */
export interface StoreOptions {
  pool: Pool;
  configCache?: ConfigSource;
}

/**
 * The app's store. With a configuration cache, the configuration reads (client membership, scopes,
 * claims, audiences) come from memory; without one (admin commands) or before it is loaded, from the
 * database.
 */
export function createStore(opts: StoreOptions) {
  const c = connect(opts.pool);
  return {
    async ping(): Promise<void> {
      await c.sql.query("SELECT 1");
    },

    /**
     * Runs `fn` in one transaction whose commit does not wait for the disk (a crash may lose it):
     * only for sign-in bookkeeping (a claim with its session or counters), never for an account's data.
     */
    bookkeepingTransaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      return c.transaction(fn);
    },

    /** Runs `fn` in one transaction committed durably (for writes that must happen together, e.g. a token and its mail). */
    transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      return c.transaction(fn, { durable: true });
    },

    ...userQueries(c),
    ...consentQueries(c),
    ...challengeQueries(c),
    ...oneTimeTokenQueries(c),
    ...invitationQueries(c),
    ...sessionQueries(c),
    ...outboxQueries(c),
    ...secondFactorQueries(c),
    ...passkeyQueries(c),
    ...dataExportQueries(c),
    ...accountActivityQueries(c),
    ...configQueries(c, opts.configCache),
    ...configWriteQueries(c),
  };
}

export type Store = ReturnType<typeof createStore>;
