// The app's store: every statement on the app's database, one file per table family, composed here
// into the one object the routes, flows and admin commands use. SQL on the plain pg pool in the
// server (which has no Prisma client at all), through Prisma's raw queries in the admin commands
// (which have no pool; src/services/db.ts).
import { connect, type Queryable, type Target } from "./sql";
import { configQueries, type ConfigSource } from "./configuration";
import { configWriteQueries } from "./configuration-writes";
import { userQueries } from "./users";
import { consentQueries } from "./consents";
import { challengeQueries } from "./challenges";
import { oneTimeTokenQueries } from "./one-time-tokens";
import { invitationQueries } from "./invitations";
import { sessionQueries } from "./sessions";
import { outboxQueries } from "./outbox";

export { isUniqueViolation, normalizeEmail, type JsonValue } from "./sql";
export { audienceColumns, audienceOf, type Audience, type ClientMembership } from "./configuration";
export { type AudienceRow, type ClaimRow, type ClientRow, type ConfigurationRows, type ConfigurationWrites, type ScopeRow } from "./configuration-writes";
export { EmailTakenError, type NewUser, type User } from "./users";
export { type Consent, type ConsentContext, type ConsentView } from "./consents";
export { claimChallengeStatement, unansweredChallengeGate, type ChallengeKind } from "./challenges";
export { issueOneTimeToken, MAX_CODE_ATTEMPTS, oneTimeTokenHash, type OneTimeTokenKind, type TokenLookup } from "./one-time-tokens";
export { invitationCodeHash, InvitationRedeemedError, type Invitation } from "./invitations";

/**
 * Where the store's statements go: the server's plain pg pool, or (admin commands, the seed's
 * callers, tests) a Prisma client whose raw queries run the same SQL. A configuration cache is optional.
 */
export type StoreOptions = { configCache?: ConfigSource } & Target;

/** Prisma's limits for the interactive transaction of store.transaction (admin commands; the pool waits connectionTimeoutMillis for a connection). */
const TRANSACTION_LIMITS = { maxWait: 10_000, timeout: 15_000 };

/**
 * The app's store. With a configuration cache, the configuration reads (client membership, scopes,
 * claims, audiences) come from memory; without one (admin commands) or before it is loaded, from the
 * database.
 */
export function createStore(opts: StoreOptions) {
  if (!opts.pool && !opts.db) throw new Error("createStore: give a pg pool or a Prisma client");
  const c = connect(opts);
  return {
    async ping(): Promise<void> {
      await c.sql.query("SELECT 1");
    },

    /** Runs `fn` in one transaction (several sign-in writes as one). */
    inTransaction<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
      return c.tx(fn);
    },

    /**
     * Runs `fn` in one transaction (for writes that must happen together, e.g. a token and its mail):
     * a pool client between BEGIN and COMMIT, or Prisma's interactive transaction (admin commands;
     * waiting up to 10 s for a connection and rolled back after 15 s).
     */
    transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      return c.tx(fn, { durable: true, limits: TRANSACTION_LIMITS });
    },

    ...userQueries(c),
    ...consentQueries(c),
    ...challengeQueries(c),
    ...oneTimeTokenQueries(c),
    ...invitationQueries(c),
    ...sessionQueries(c),
    ...outboxQueries(c),
    ...configQueries(c, opts.configCache),
    ...configWriteQueries(c),
  };
}

export type Store = ReturnType<typeof createStore>;
