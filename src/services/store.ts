// The one module that reads and writes the app's database, in SQL: on the plain pg pool in the
// server, through Prisma's raw queries in the admin commands (which have no pool; src/services/db.ts).
import { createHash, randomBytes, randomInt, randomUUID, timingSafeEqual } from "node:crypto";
import type { Pool } from "pg";
import { inTransaction, prismaQueryable, type Db, type Param, type Queryable } from "./db";
import type { ClaimDef } from "../decisions/claims";

// The rows as the app uses them (the shapes Prisma's generated model types have: the schema's field
// names, Date for timestamps, string[] for arrays, JSON as parsed values).

/** A JSON column's value, parsed. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key in string]?: JsonValue };

export interface Audience {
  id: string;
  displayName: string;
  tokenAudience: string;
  signUpEnabled: boolean;
  invitationEnabled: boolean;
  requireVerifiedEmail: boolean;
  startUrl: string | null;
  brandName: string | null;
  brandLogo: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface User {
  id: string;
  email: string;
  emailNormalized: string;
  emailVerified: boolean;
  passwordHash: string;
  name: string | null;
  givenName: string | null;
  familyName: string | null;
  attributes: JsonValue;
  disabledAt: Date | null;
  /** Made by self sign-up, its address not confirmed yet: completes no sign-in (decisions/login.ts). */
  pendingSince: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface Consent {
  id: string;
  userId: string;
  audienceId: string;
  scopes: string[];
  clientIds: string[];
  createdAt: Date;
  updatedAt: Date;
}

export interface Invitation {
  id: string;
  audienceId: string;
  codeHash: string;
  email: string | null;
  expiresAt: Date;
  usedAt: Date | null;
  usedByUserId: string | null;
  createdAt: Date;
}

/** Invitation codes are 256-bit random strings; only their SHA-256 is stored. */
export function invitationCodeHash(code: string): string {
  return createHash("sha256").update(code, "utf8").digest("hex");
}

/** Thrown by registerUser: the email already has an account (nothing was written). */
export class EmailTakenError extends Error {}
/** Thrown by registerUser: the invitation was redeemed or expired meanwhile (nothing was written). */
export class InvitationRedeemedError extends Error {}

export interface NewUser {
  email: string;
  passwordHash: string;
  name: string;
  emailVerified: boolean;
  /** Self sign-up whose address nobody has vouched for: pending until the address is confirmed. */
  pending: boolean;
}

export interface ConsentView {
  audience: Audience;
  scopes: string[];
  clients: { id: string; name: string }[];
  createdAt: Date;
  updatedAt: Date;
}

import type { DeclaredDescription } from "../decisions/scopes";
import type { ConfigCache } from "./config-cache";
import { CONSUME, type CountedRow, type SignInCounters } from "./limits";
import type { SessionData } from "express-session";
import { sessionWhere } from "./sessions";

export interface ClientMembership {
  clientId: string;
  audience: Audience;
}

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export type ChallengeKind = "login" | "consent" | "logout";

const challengeHash = (kind: ChallengeKind, challenge: string) => createHash("sha256").update(`${kind}:${challenge}`).digest("hex");

/**
 * A gate for a session's save (sessions.ts saveSessionWith): the session is written only while the
 * challenge has not been answered (one statement for both, e.g. a new browser's first login page).
 * Builds SQL only (no statement of its own, so not a store operation).
 */
export function unansweredChallengeGate(kind: ChallengeKind, challenge: string): (p: Param) => string {
  const hash = challengeHash(kind, challenge);
  return (p) => `SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM handled_challenges WHERE hash = ${p(hash)})`;
}

/** Hydra's challenges live for 30 minutes (hydra.yml ttl.login_consent_request); records are kept a day. */
const HANDLED_CHALLENGE_RETENTION_MS = 24 * 60 * 60 * 1000;

/**
 * A unique constraint refused a write: PostgreSQL's 23505 (on the pg pool), or Prisma's P2002 (a
 * model call) or P2010 (a raw query) with 23505 from its driver adapter (admin commands).
 */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: unknown; meta?: { code?: unknown; driverAdapterError?: { cause?: { originalCode?: unknown; kind?: unknown } } } } | null;
  if (!e || typeof e !== "object") return false;
  if (e.code === "23505" || e.code === "P2002") return true;
  const cause = e.meta?.driverAdapterError?.cause;
  return e.code === "P2010" && (e.meta?.code === "23505" || cause?.originalCode === "23505" || cause?.kind === "UniqueConstraintViolation");
}

export type OneTimeTokenKind = "VERIFY_EMAIL" | "RECOVERY" | "CHANGE_EMAIL";

/** A JS time as a statement parameter for a UTC timestamp column: `${p}::timestamptz AT TIME ZONE 'UTC'` (independent of any time zone setting). */
const utc = (d: Date | null) => (d ? d.toISOString() : null);

/**
 * Prisma's model calls that update one row by its id threw when there was none ("Record to update
 * not found"); the SQL keeps that: a write that was to change one row and changed none throws.
 */
function expectOne(rows: readonly unknown[], what: string): void {
  if (rows.length !== 1) throw new Error(`${what}: no such row`);
}

const sha256 = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");
export const oneTimeTokenHash = (token: string) => sha256(`ott:${token}`);
const codeHash = (tokenId: string, code: string) => sha256(`code:${tokenId}:${code}`);

/** Wrong codes allowed per token before it stops accepting codes (the link still works). */
export const MAX_CODE_ATTEMPTS = 5;

export type TokenLookup =
  | { status: "valid"; token: { id: string; userId: string; email: string; kind: OneTimeTokenKind; expiresAt: Date } }
  | { status: "unknown" | "used" | "expired" };

/**
 * Issues a one-time token (and, with `withCode`, a 6-digit code) inside the transaction `tx`.
 * Earlier unused tokens of the same kind for the user are retired: only the newest mail works.
 */
export async function issueOneTimeToken(
  tx: Queryable,
  opts: { kind: OneTimeTokenKind; userId: string; email: string; ttlSeconds: number; withCode: boolean },
): Promise<{ token: string; code: string | null; expiresAt: Date }> {
  const token = randomBytes(32).toString("base64url");
  const code = opts.withCode ? String(randomInt(0, 1_000_000)).padStart(6, "0") : null;
  const id = randomUUID();
  const expiresAt = new Date(Date.now() + opts.ttlSeconds * 1000);
  // One statement: the earlier unused tokens retired, the new one written.
  await tx.query(
    `WITH retired AS (
       UPDATE one_time_tokens SET used_at = now() AT TIME ZONE 'UTC'
       WHERE user_id = $4::uuid AND kind = $2::"OneTimeTokenKind" AND used_at IS NULL)
     INSERT INTO one_time_tokens (id, kind, token_hash, code_hash, attempts, user_id, email, expires_at, created_at)
     VALUES ($1::uuid, $2::"OneTimeTokenKind", $3, $5, 0, $4::uuid, $6, $7::timestamptz AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC')`,
    [id, opts.kind, oneTimeTokenHash(token), opts.userId, code ? codeHash(id, code) : null, opts.email, utc(expiresAt)],
  );
  return { token, code, expiresAt };
}

// Every statement is SQL with parameters (constant texts: the pool prepares them by name, db.ts):
// rows are read into the shapes above, timestamps read as UTC (the columns are timestamp without
// time zone holding UTC, as Prisma writes them) and written as now() AT TIME ZONE 'UTC' or as a
// timestamptz parameter converted to UTC.
const USER_COLUMNS = `u.id, u.email, u.email_normalized, u.email_verified, u.password_hash, u.name, u.given_name, u.family_name,
  u.attributes, u.disabled_at AT TIME ZONE 'UTC' AS disabled_at, u.pending_since AT TIME ZONE 'UTC' AS pending_since, u.created_at AT TIME ZONE 'UTC' AS created_at, u.updated_at AT TIME ZONE 'UTC' AS updated_at`;

interface UserRow {
  id: string;
  email: string;
  email_normalized: string;
  email_verified: boolean;
  password_hash: string;
  name: string | null;
  given_name: string | null;
  family_name: string | null;
  attributes: User["attributes"];
  disabled_at: Date | null;
  pending_since: Date | null;
  created_at: Date;
  updated_at: Date;
}

function userOf(r: UserRow): User {
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

/** The audiences row `t`'s columns, named with `as` before each (for joins). */
export function audienceColumns(t: string, as = ""): string {
  return `${t}.id AS ${as}id, ${t}.display_name AS ${as}display_name, ${t}.token_audience AS ${as}token_audience,
  ${t}.sign_up_enabled AS ${as}sign_up_enabled, ${t}.invitation_enabled AS ${as}invitation_enabled,
  ${t}.require_verified_email AS ${as}require_verified_email, ${t}.start_url AS ${as}start_url, ${t}.brand_name AS ${as}brand_name,
  ${t}.brand_logo AS ${as}brand_logo, ${t}.created_at AT TIME ZONE 'UTC' AS ${as}created_at, ${t}.updated_at AT TIME ZONE 'UTC' AS ${as}updated_at`;
}
const AUDIENCE_COLUMNS = audienceColumns("a");
const JOINED_AUDIENCE_COLUMNS = audienceColumns("a", "a_");

/**
 * An Audience from a row of audienceColumns(…, as). `json`: the row went through row_to_json
 * (timestamps as text, with their offset).
 */
export function audienceOf(r: Record<string, unknown>, as = "", json = false): Audience {
  const at = (k: string) => (json ? new Date(String(r[as + k])) : (r[as + k] as Date));
  return {
    id: r[`${as}id`] as string,
    displayName: r[`${as}display_name`] as string,
    tokenAudience: r[`${as}token_audience`] as string,
    signUpEnabled: r[`${as}sign_up_enabled`] as boolean,
    invitationEnabled: r[`${as}invitation_enabled`] as boolean,
    requireVerifiedEmail: r[`${as}require_verified_email`] as boolean,
    startUrl: r[`${as}start_url`] as string | null,
    brandName: r[`${as}brand_name`] as string | null,
    brandLogo: r[`${as}brand_logo`] as string | null,
    createdAt: at("created_at"),
    updatedAt: at("updated_at"),
  };
}

const INVITATION_COLUMNS = `i.id, i.audience_id, i.code_hash, i.email, i.expires_at AT TIME ZONE 'UTC' AS expires_at, i.used_at AT TIME ZONE 'UTC' AS used_at,
  i.used_by_user_id, i.created_at AT TIME ZONE 'UTC' AS created_at`;

interface InvitationRow {
  id: string;
  audience_id: string;
  code_hash: string;
  email: string | null;
  expires_at: Date;
  used_at: Date | null;
  used_by_user_id: string | null;
  created_at: Date;
}

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

/** Counts as numbers: Prisma's raw queries return bigint columns as BigInt, pg as text. */
const count = (v: unknown) => Number(v ?? 0);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What a consent step needs from the database, read in one statement. */
export interface ConsentContext {
  /** The subject's account (null: it no longer exists). */
  user: User | null;
  /** The user's consent for the audience before this step. */
  grantedScopes: string[];
  /** The clients that used that consent so far. */
  clientIds: string[];
  /** This app had answered the consent challenge before this statement. */
  handled: boolean;
  /** This statement claimed the challenge. */
  claimed: boolean;
}

/**
 * claimChallenge as the gate of a composed statement (db.ts Along; run by the session store at
 * sign-in): returns a row when this statement claimed it. A statement builder, not a store
 * operation (so not timed as one in /metrics).
 */
export function claimChallengeStatement(kind: ChallengeKind, challenge: string): (p: Param) => string {
  return (p) =>
    `INSERT INTO handled_challenges (hash, kind, handled_at) VALUES (${p(challengeHash(kind, challenge))}, ${p(kind)}, now() AT TIME ZONE 'UTC') ON CONFLICT (hash) DO NOTHING RETURNING hash`;
}

/**
 * Where the store's statements go: the server's plain pg pool, or (admin commands, the seed's
 * callers, tests) a Prisma client whose raw queries run the same SQL. A configuration cache is optional.
 */
export type StoreOptions = { configCache?: ConfigCache } & ({ pool: Pool; db?: undefined } | { db: Db; pool?: undefined });

/** Prisma's limits for the interactive transaction of store.transaction (admin commands; the pool waits connectionTimeoutMillis for a connection). */
const TRANSACTION_LIMITS = { maxWait: 10_000, timeout: 15_000 };

/**
 * The app's store. With a configuration cache, the configuration reads (client membership, scopes,
 * claims, audiences) come from memory; without one (admin commands) or before it is loaded, from the
 * database. Every statement is SQL: on the pool when one is given (the server, which has no Prisma
 * client at all), else through Prisma's raw queries.
 */
export function createStore(opts: StoreOptions) {
  const { configCache, pool, db } = opts;
  const config = () => configCache?.current() ?? null;
  if (!pool && !db) throw new Error("createStore: give a pg pool or a Prisma client");
  /** The plain pool (its commits asynchronous: sign-in bookkeeping, db.ts createPool). Without a pool (admin commands), Prisma's raw queries. */
  const sql: Queryable = pool ?? prismaQueryable(db!);
  /**
   * Runs `fn` between BEGIN and COMMIT on one connection (a pool's client, or Prisma's interactive
   * transaction). `durable`: committed synchronously on the pool too (Prisma's connections always are).
   */
  const tx = <T>(fn: (q: Queryable) => Promise<T>, how: { durable?: boolean; limits?: { maxWait: number; timeout: number } } = {}): Promise<T> =>
    pool ? inTransaction(pool, fn, { durable: how.durable }) : db!.$transaction((t) => fn(prismaQueryable(t)), how.limits);
  /**
   * One statement committed synchronously on the pool too: the writes that went through Prisma
   * (always durable) before the server ran without it (accounts, invitations, revocations, deletions, ended sessions).
   */
  const durable: Queryable = pool ? { query: (text, values) => tx((q) => q.query(text, values), { durable: true }) } : sql;
  return {
    async ping(): Promise<void> {
      await sql.query("SELECT 1");
    },

    /** Runs `fn` in one transaction (several sign-in writes as one). */
    inTransaction<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
      return tx(fn);
    },

    async findUserByEmail(email: string, q: Queryable = sql): Promise<User | null> {
      const { rows } = await q.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users u WHERE u.email_normalized = $1`, [normalizeEmail(email)]);
      return rows[0] ? userOf(rows[0]) : null;
    },

    /**
     * A sign-in attempt's database work in one statement: counts the attempt on its counters
     * (limits.ts CONSUME, prepared by limits.signInCounters) and reads the account of the address.
     */
    async attemptSignIn(email: string, counters: SignInCounters, sessionId: string | null = null): Promise<{ counted: CountedRow[]; user: User | null; session: SessionData | null }> {
      const { rows } = await sql.query<{ counted: CountedRow[]; user: UserRow | null; session_data: SessionData | null }>(
        `WITH counted AS (${CONSUME})
         SELECT (SELECT json_agg(counted) FROM counted) AS counted,
                (SELECT row_to_json(x) FROM (SELECT ${USER_COLUMNS} FROM users u WHERE u.email_normalized = $4) x) AS "user",
                (SELECT sess FROM session WHERE ${sessionWhere("$5")}) AS session_data`,
        [counters.rows, counters.now, counters.durationsMs, normalizeEmail(email), sessionId],
      );
      const r = rows[0]!;
      return { counted: r.counted ?? [], user: r.user ? userOf(jsonUser(r.user)) : null, session: r.session_data };
    },

    async getUser(id: string, q: Queryable = sql): Promise<User | null> {
      if (!UUID.test(id)) return null;
      const { rows } = await q.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users u WHERE u.id = $1::uuid`, [id]);
      return rows[0] ? userOf(rows[0]) : null;
    },

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
      claim: { always: boolean; ifGranted: string[] | null } | null,
      sessionId: string | null = null,
    ): Promise<ConsentContext & { session: SessionData | null }> {
      // With `sessionId`, the browser's session is read too, and the claim is made only when that
      // session is nobody's or the subject's (flow-binding.guardConsent, checked again by the caller
      // with the session read here: a browser signed in as someone else claims nothing).
      const { rows } = await sql.query<UserRow & { scopes: string[] | null; client_ids: string[] | null; handled: boolean; claimed: boolean; found: boolean; session_data: SessionData | null }>(
        `WITH c AS (SELECT scopes, client_ids FROM consents WHERE user_id = $1::uuid AND audience_id = $2),
              s AS (SELECT sess FROM session WHERE ${sessionWhere("$6")}),
              claimed AS (
                INSERT INTO handled_challenges (hash, kind, handled_at)
                SELECT $3, 'consent', now() AT TIME ZONE 'UTC'
                WHERE ($4::boolean OR ($5::text[] IS NOT NULL AND coalesce((SELECT scopes FROM c), '{}') @> $5::text[]))
                  AND coalesce((SELECT sess->>'userId' FROM s), $7) = $7
                ON CONFLICT (hash) DO NOTHING RETURNING hash)
         SELECT ${USER_COLUMNS}, u.id IS NOT NULL AS found, (SELECT scopes FROM c) AS scopes, (SELECT client_ids FROM c) AS client_ids,
                EXISTS (SELECT 1 FROM handled_challenges WHERE hash = $3) AS handled,
                EXISTS (SELECT 1 FROM claimed) AS claimed,
                (SELECT sess FROM s) AS session_data
         FROM (SELECT 1) one LEFT JOIN users u ON u.id = $1::uuid`,
        [
          UUID.test(userId) ? userId : "00000000-0000-0000-0000-000000000000",
          audienceId,
          challengeHash("consent", consentChallenge),
          claim?.always ?? false,
          claim?.ifGranted ?? null,
          sessionId,
          userId,
        ],
      );
      const r = rows[0]!;
      return { user: r.found ? userOf(r) : null, grantedScopes: r.scopes ?? [], clientIds: r.client_ids ?? [], handled: r.handled, claimed: r.claimed, session: r.session_data };
    },

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
        "INSERT INTO handled_challenges (hash, kind, handled_at) VALUES ($1, $2, now() AT TIME ZONE 'UTC') ON CONFLICT (hash) DO NOTHING RETURNING hash",
        [challengeHash(kind, challenge), kind],
      );
      return rows.length === 1;
    },

    /** Forgets answered challenges older than Hydra's challenges can live (server.ts runs it now and then). */
    async pruneHandledChallenges(): Promise<number> {
      const { rows } = await sql.query<{ n: unknown }>(
        "WITH gone AS (DELETE FROM handled_challenges WHERE handled_at < $1::timestamptz AT TIME ZONE 'UTC' RETURNING 1) SELECT count(*)::int AS n FROM gone",
        [utc(new Date(Date.now() - HANDLED_CHALLENGE_RETENTION_MS))],
      );
      return count(rows[0]?.n);
    },

    /** Undoes claimChallenge when answering Hydra failed, so the user can retry. */
    async releaseChallenge(kind: ChallengeKind, challenge: string): Promise<void> {
      await sql.query("DELETE FROM handled_challenges WHERE hash = $1", [challengeHash(kind, challenge)]);
    },

    /** Declared scopes among `names`: name → the audience it is limited to (null: all audiences). */
    async getScopeOwners(names: readonly string[]): Promise<Map<string, string | null>> {
      const c = config();
      if (c) return new Map(names.filter((n) => c.scopeOwners.has(n)).map((n) => [n, c.scopeOwners.get(n)!]));
      const { rows } = await sql.query<{ name: string; audience_id: string | null }>("SELECT name, audience_id FROM scopes WHERE name = ANY($1::text[])", [[...names]]);
      return new Map(rows.map((r) => [r.name, r.audience_id]));
    },

    /** Declared descriptions of scopes: one text, or one per language. */
    async getScopeDescriptions(names: readonly string[]): Promise<Map<string, DeclaredDescription>> {
      const c = config();
      if (c) return new Map(names.filter((n) => c.scopeDescriptions.has(n)).map((n) => [n, c.scopeDescriptions.get(n)!]));
      const { rows } = await sql.query<{ name: string; description: string | null; descriptions: JsonValue }>(
        "SELECT name, description, descriptions FROM scopes WHERE name = ANY($1::text[])",
        [[...names]],
      );
      const out = new Map<string, DeclaredDescription>();
      for (const r of rows) {
        const perLanguage = r.descriptions && typeof r.descriptions === "object" && !Array.isArray(r.descriptions) ? (r.descriptions as Record<string, string>) : null;
        if (perLanguage) out.set(r.name, perLanguage);
        else if (r.description) out.set(r.name, r.description);
      }
      return out;
    },

    /** Declared claims visible to clients of the audience. */
    async getClaimDefs(audienceId: string): Promise<ClaimDef[]> {
      const c = config();
      if (c) return c.claims.filter((d) => d.audience === null || d.audience === audienceId);
      const { rows } = await sql.query<{ name: string; scope: string; source: string; audience_id: string | null }>(
        "SELECT name, scope, source, audience_id FROM claims WHERE audience_id IS NULL OR audience_id = $1 ORDER BY name ASC",
        [audienceId],
      );
      return rows.map((r) => ({ name: r.name, scope: r.scope, source: r.source, audience: r.audience_id }));
    },

    async getGrantedScopes(userId: string, audienceId: string): Promise<string[]> {
      const { rows } = await sql.query<{ scopes: string[] | null }>("SELECT scopes FROM consents WHERE user_id = $1::uuid AND audience_id = $2", [userId, audienceId]);
      return rows[0]?.scopes ?? [];
    },

    /**
     * An approval of a consent step, in one statement (the database function record_consent,
     * migration 20261128120000): merges the approved scopes into the user's consent for the audience
     * (old ∪ new, never dropping: mergeScopes) and notes the client. Row-locked, so concurrent
     * approvals never lose scopes; an approval that adds scopes is appended to the consent history.
     * Committed synchronously (durable) even on the plain pool. With `claimChallenge`, the consent
     * challenge is claimed in the same transaction. Returns the account as it is too: nothing is
     * written when it is gone or disabled, or when the challenge was answered already.
     */
    async recordConsent(
      userId: string,
      audienceId: string,
      clientId: string,
      approved: readonly string[],
      opts: { claimChallenge?: string } = {},
    ): Promise<{ outcome: "recorded"; user: User; scopes: string[]; added: string[] } | { outcome: "no_user" | "disabled" | "handled"; user: User | null }> {
      const id = UUID.test(userId) ? userId : "00000000-0000-0000-0000-000000000000";
      const claim = opts.claimChallenge ? challengeHash("consent", opts.claimChallenge) : null;
      const { rows } = await sql.query<UserRow & { outcome: "recorded" | "no_user" | "disabled" | "handled"; scopes: string[] | null; added: string[] | null; found: boolean }>(
        `SELECT r.outcome, r.scopes, r.added, u.id IS NOT NULL AS found, ${USER_COLUMNS}
         FROM record_consent($1::uuid, $2::text, $3::text, $4::text[], $5::text) r LEFT JOIN users u ON u.id = $1::uuid`,
        [id, audienceId, clientId, [...approved], claim],
      );
      const r = rows[0]!;
      const user = r.found ? userOf(r) : null;
      if (r.outcome === "recorded" && user) return { outcome: "recorded", user, scopes: r.scopes ?? [], added: r.added ?? [] };
      return { outcome: r.outcome === "recorded" ? "no_user" : r.outcome, user };
    },

    /**
     * recordConsent for the consent form's post, with the browser's session read in the same
     * statement (the database function record_consent_in_session, migration 20261129040000): the
     * approval is written only when the live session `sessionId` holds the form's CSRF token `csrf`
     * and is nobody's or the subject's; else the outcome is "refused" and nothing is written. The
     * caller checks the token and the browser again with the session returned here.
     */
    async recordConsentInSession(
      sessionId: string | null,
      csrf: string | null,
      subject: string,
      audienceId: string,
      clientId: string,
      approved: readonly string[],
      claimChallenge: string,
    ): Promise<({ outcome: "recorded"; user: User; scopes: string[]; added: string[] } | { outcome: "no_user" | "disabled" | "handled" | "refused"; user: User | null }) & { session: SessionData | null }> {
      const id = UUID.test(subject) ? subject : "00000000-0000-0000-0000-000000000000";
      const { rows } = await sql.query<UserRow & { session_data: SessionData | null; outcome: "recorded" | "no_user" | "disabled" | "handled" | "refused"; scopes: string[] | null; added: string[] | null; found: boolean }>(
        `SELECT r.session_data, r.outcome, r.scopes, r.added, u.id IS NOT NULL AS found, ${USER_COLUMNS}
         FROM record_consent_in_session($1::text, $2::text, $3::text, $4::uuid, $5::text, $6::text, $7::text[], $8::text) r LEFT JOIN users u ON u.id = $4::uuid`,
        [sessionId, csrf, subject, id, audienceId, clientId, [...approved], challengeHash("consent", claimChallenge)],
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
        `UPDATE consents SET client_ids = array_append(coalesce(client_ids, '{}'), $1), updated_at = now() AT TIME ZONE 'UTC'
         WHERE user_id = $2::uuid AND audience_id = $3 AND NOT ($1 = ANY(coalesce(client_ids, '{}')))`,
        [clientId, userId, audienceId],
      );
    },

    /** The user's consents (one per audience, by audience id) with their audience and the names of the clients that used them. */
    async listConsents(userId: string): Promise<ConsentView[]> {
      const { rows } = await sql.query<{ scopes: string[]; client_ids: string[]; created_at: Date; updated_at: Date; client_names: Record<string, string | null> }>(
        `SELECT coalesce(c.scopes, '{}') AS scopes, coalesce(c.client_ids, '{}') AS client_ids,
                c.created_at AT TIME ZONE 'UTC' AS created_at, c.updated_at AT TIME ZONE 'UTC' AS updated_at, ${JOINED_AUDIENCE_COLUMNS},
                (SELECT coalesce(json_object_agg(cl.id, cl.display_name), '{}') FROM clients cl WHERE cl.audience_id = a.id) AS client_names
         FROM consents c JOIN audiences a ON a.id = c.audience_id
         WHERE c.user_id = $1::uuid
         ORDER BY c.audience_id ASC`,
        [userId],
      );
      return rows.map((r) => ({
        audience: audienceOf(r, "a_"),
        scopes: r.scopes,
        clients: r.client_ids.map((id) => ({ id, name: r.client_names[id] ?? id })),
        createdAt: r.created_at,
        updatedAt: r.updated_at,
      }));
    },

    async getAudience(id: string): Promise<Audience | null> {
      const c = config();
      if (c) return c.audiences.get(id) ?? null;
      const { rows } = await sql.query(`SELECT ${AUDIENCE_COLUMNS} FROM audiences a WHERE a.id = $1`, [id]);
      return rows[0] ? audienceOf(rows[0]) : null;
    },

    async listAudienceClientIds(audienceId: string): Promise<string[]> {
      const c = config();
      if (c) return [...(c.audienceClients.get(audienceId) ?? [])];
      const { rows } = await sql.query<{ id: string }>("SELECT id FROM clients WHERE audience_id = $1 ORDER BY id", [audienceId]);
      return rows.map((r) => r.id);
    },

    /** Deletes the user's consent for the audience and records the revocation; false when there was none. */
    async revokeConsent(userId: string, audienceId: string): Promise<boolean> {
      // One statement (atomic): the deleted row's scopes go into the history entry.
      const { rows } = await durable.query<{ n: unknown }>(
        `WITH gone AS (DELETE FROM consents WHERE user_id = $1::uuid AND audience_id = $2 RETURNING scopes),
              event AS (
                INSERT INTO consent_events (user_id, audience_id, client_id, action, scopes_added, scopes_removed, created_at)
                SELECT $1::uuid, $2, NULL, 'REVOKE'::"ConsentAction", '{}', coalesce(gone.scopes, '{}'), now() AT TIME ZONE 'UTC' FROM gone)
         SELECT count(*)::int AS n FROM gone`,
        [userId, audienceId],
      );
      return count(rows[0]?.n) > 0;
    },

    /** Stores a new invitation and returns its code (shown once; only its hash is kept). */
    async createInvitation(audienceId: string, email: string | null, expiresAt: Date): Promise<{ code: string; invitation: Invitation }> {
      const code = randomBytes(32).toString("base64url");
      const { rows } = await durable.query<InvitationRow>(
        `INSERT INTO invitations AS i (id, audience_id, code_hash, email, expires_at, created_at)
         VALUES ($1::uuid, $2, $3, $4, $5::timestamptz AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC')
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

    /**
     * Creates the user and, when given, redeems the invitation — atomically: a used, expired or
     * concurrently redeemed invitation or a taken email leaves nothing written.
     */
    async registerUser(user: NewUser, invitationId: string | null, alsoInTx?: (tx: Queryable, user: User) => Promise<void>): Promise<User> {
      try {
        return await tx(async (q) => {
          if (invitationId) {
            const { rows } = await q.query(
              `UPDATE invitations SET used_at = now() AT TIME ZONE 'UTC'
               WHERE id = $1::uuid AND used_at IS NULL AND expires_at > now() AT TIME ZONE 'UTC' RETURNING id`,
              [invitationId],
            );
            if (rows.length !== 1) throw new InvitationRedeemedError("invitation already redeemed");
          }
          const { rows } = await q.query<UserRow>(
            `INSERT INTO users AS u (id, email, email_normalized, email_verified, password_hash, name, pending_since, created_at, updated_at)
             VALUES ($1::uuid, $2, $3, $4, $5, $6, CASE WHEN $7::boolean THEN now() AT TIME ZONE 'UTC' END, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC')
             RETURNING ${USER_COLUMNS}`,
            [randomUUID(), user.email.trim(), normalizeEmail(user.email), user.emailVerified, user.passwordHash, user.name, user.pending && !user.emailVerified],
          );
          const created = userOf(rows[0]!);
          if (invitationId) {
            const used = await q.query("UPDATE invitations SET used_by_user_id = $2::uuid WHERE id = $1::uuid RETURNING id", [invitationId, created.id]);
            expectOne(used.rows, "registerUser: the invitation");
          }
          if (alsoInTx) await alsoInTx(q, created);
          return created;
        }, { durable: true });
      } catch (err) {
        if (isUniqueViolation(err)) throw new EmailTakenError("email taken");
        throw err;
      }
    },

    /**
     * Runs `fn` in one transaction (for writes that must happen together, e.g. a token and its mail):
     * a pool client between BEGIN and COMMIT, or Prisma's interactive transaction (admin commands;
     * waiting up to 10 s for a connection and rolled back after 15 s).
     */
    transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      return tx(fn, { durable: true, limits: TRANSACTION_LIMITS });
    },

    /** What a link's token is, without using it. */
    async lookupOneTimeToken(kind: OneTimeTokenKind, token: string): Promise<TokenLookup> {
      const { rows } = await sql.query<{ id: string; kind: OneTimeTokenKind; user_id: string; email: string; expires_at: Date; used_at: Date | null }>(
        `SELECT id, kind, user_id, email, expires_at AT TIME ZONE 'UTC' AS expires_at, used_at AT TIME ZONE 'UTC' AS used_at
         FROM one_time_tokens WHERE token_hash = $1`,
        [oneTimeTokenHash(token)],
      );
      const row = rows[0];
      if (!row || row.kind !== kind) return { status: "unknown" };
      if (row.used_at) return { status: "used" };
      if (row.expires_at <= new Date()) return { status: "expired" };
      return { status: "valid", token: { id: row.id, userId: row.user_id, email: row.email, kind: row.kind, expiresAt: row.expires_at } };
    },

    /** Uses a link's token exactly once (atomic); null when it is not (any longer) valid. */
    async useOneTimeToken(tx: Queryable, kind: OneTimeTokenKind, token: string): Promise<{ userId: string; email: string } | null> {
      const { rows } = await tx.query<{ user_id: string; email: string }>(
        `UPDATE one_time_tokens SET used_at = now() AT TIME ZONE 'UTC'
         WHERE token_hash = $1 AND kind = $2::"OneTimeTokenKind" AND used_at IS NULL AND expires_at > now() AT TIME ZONE 'UTC'
         RETURNING user_id, email`,
        [oneTimeTokenHash(token), kind],
      );
      return rows[0] ? { userId: rows[0].user_id, email: rows[0].email } : null;
    },

    /**
     * Checks a short code against the user's newest valid token of the kind and uses it when right.
     * Wrong codes count; after MAX_CODE_ATTEMPTS the token takes no more codes.
     */
    async useCode(kind: OneTimeTokenKind, userId: string, code: string): Promise<{ status: "ok"; email: string } | { status: "wrong" | "none" | "locked" }> {
      return tx(async (q) => {
        const { rows } = await q.query<{ id: string; code_hash: string | null; attempts: number; email: string }>(
          `SELECT id, code_hash, attempts, email FROM one_time_tokens
           WHERE user_id = $1::uuid AND kind = $2::"OneTimeTokenKind" AND used_at IS NULL AND expires_at > now() AT TIME ZONE 'UTC' AND code_hash IS NOT NULL
           ORDER BY created_at DESC LIMIT 1 FOR UPDATE`,
          [userId, kind],
        );
        const row = rows[0];
        if (!row) return { status: "none" as const };
        if (row.attempts >= MAX_CODE_ATTEMPTS) return { status: "locked" as const };
        const given = Buffer.from(codeHash(row.id, code.trim()));
        const expected = Buffer.from(row.code_hash!);
        if (given.length === expected.length && timingSafeEqual(given, expected)) {
          await q.query("UPDATE one_time_tokens SET used_at = now() AT TIME ZONE 'UTC' WHERE id = $1::uuid", [row.id]);
          return { status: "ok" as const, email: row.email };
        }
        await q.query("UPDATE one_time_tokens SET attempts = attempts + 1 WHERE id = $1::uuid", [row.id]);
        return { status: row.attempts + 1 >= MAX_CODE_ATTEMPTS ? ("locked" as const) : ("wrong" as const) };
      }, { durable: true });
    },

    /** Marks the address verified, if it is still the user's address. */
    async markEmailVerified(tx: Queryable, userId: string, email: string): Promise<boolean> {
      const { rows } = await tx.query(
        "UPDATE users SET email_verified = true, pending_since = NULL, updated_at = now() AT TIME ZONE 'UTC' WHERE id = $1::uuid AND email_normalized = $2 RETURNING id",
        [userId, normalizeEmail(email)],
      );
      return rows.length === 1;
    },

    /** Removes one-time tokens that expired a day ago or more. */
    async pruneOneTimeTokens(): Promise<number> {
      const { rows } = await sql.query<{ n: unknown }>(
        "WITH gone AS (DELETE FROM one_time_tokens WHERE expires_at < $1::timestamptz AT TIME ZONE 'UTC' RETURNING 1) SELECT count(*)::int AS n FROM gone",
        [utc(new Date(Date.now() - 24 * 60 * 60 * 1000))],
      );
      return count(rows[0]?.n);
    },

    /** Ends every app session (express-session rows) of the user; returns how many ended. */
    async endUserSessions(userId: string): Promise<number> {
      const { rows } = await durable.query<{ n: unknown }>(
        "WITH gone AS (DELETE FROM session WHERE sess->>'userId' = $1 RETURNING 1) SELECT count(*)::int AS n FROM gone",
        [userId],
      );
      return count(rows[0]?.n);
    },

    /** The audience a Hydra client belongs to, or null when the client has none. */
    async getClientMembership(clientId: string): Promise<ClientMembership | null> {
      const c = config();
      if (c) {
        const audience = c.audiences.get(c.clientAudience.get(clientId) ?? "");
        return audience ? { clientId, audience } : null;
      }
      const { rows } = await sql.query(`SELECT ${AUDIENCE_COLUMNS} FROM clients c JOIN audiences a ON a.id = c.audience_id WHERE c.id = $1`, [clientId]);
      return rows[0] ? { clientId, audience: audienceOf(rows[0]) } : null;
    },

    // ---- Self-service account (/account) and the admin user commands (user:disable/enable/delete).

    /** Ends every app session of the user except `keepSid` (this browser's); returns how many ended. */
    async endUserSessionsExcept(userId: string, keepSid: string): Promise<number> {
      const { rows } = await durable.query<{ n: unknown }>(
        "WITH gone AS (DELETE FROM session WHERE sess->>'userId' = $1 AND sid <> $2 RETURNING 1) SELECT count(*)::int AS n FROM gone",
        [userId, keepSid],
      );
      return count(rows[0]?.n);
    },

    /** Sets the user's display name and the given/family names derived from it. */
    async setName(userId: string, names: { name: string | null; givenName: string | null; familyName: string | null }): Promise<void> {
      const { rows } = await durable.query(
        "UPDATE users SET name = $2, given_name = $3, family_name = $4, updated_at = now() AT TIME ZONE 'UTC' WHERE id = $1::uuid RETURNING id",
        [userId, names.name, names.givenName, names.familyName],
      );
      expectOne(rows, "setName: the user");
    },

    /** Stores a new password hash (inside `tx`, e.g. together with the notification mail). */
    async setPasswordHash(tx: Queryable, userId: string, passwordHash: string): Promise<void> {
      const { rows } = await tx.query("UPDATE users SET password_hash = $2, updated_at = now() AT TIME ZONE 'UTC' WHERE id = $1::uuid RETURNING id", [userId, passwordHash]);
      expectOne(rows, "setPasswordHash: the user");
    },

    /** The change of address waiting for its link to be confirmed (the newest valid CHANGE_EMAIL token), if any. */
    async pendingEmailChange(userId: string): Promise<{ email: string; expiresAt: Date } | null> {
      const { rows } = await sql.query<{ email: string; expires_at: Date }>(
        `SELECT email, expires_at AT TIME ZONE 'UTC' AS expires_at FROM one_time_tokens
         WHERE user_id = $1::uuid AND kind = 'CHANGE_EMAIL' AND used_at IS NULL AND expires_at > $2::timestamptz AT TIME ZONE 'UTC'
         ORDER BY created_at DESC LIMIT 1`,
        [userId, utc(new Date())],
      );
      return rows[0] ? { email: rows[0].email, expiresAt: rows[0].expires_at } : null;
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
          "UPDATE users SET email = $2, email_normalized = $3, email_verified = true, pending_since = NULL, updated_at = now() AT TIME ZONE 'UTC' WHERE id = $1::uuid RETURNING id",
          [userId, newEmail.trim(), normalizeEmail(newEmail)],
        );
        expectOne(updated.rows, "applyEmailChange: the user");
      } catch (err) {
        if (isUniqueViolation(err)) throw new EmailTakenError("email taken");
        throw err;
      }
      await tx.query(
        `UPDATE one_time_tokens SET used_at = now() AT TIME ZONE 'UTC'
         WHERE user_id = $1::uuid AND used_at IS NULL AND kind IN ('VERIFY_EMAIL', 'RECOVERY')`,
        [userId],
      );
      return { oldEmail: user.email, name: user.name, oldEmailVerified: user.email_verified };
    },

    /** Sets or clears users.disabled_at; returns the value it had before (null: there is no such user). */
    async setDisabled(userId: string, disabled: boolean): Promise<{ before: Date | null } | null> {
      return tx(async (q) => {
        const { rows } = await q.query<{ disabled_at: Date | null }>("SELECT disabled_at AT TIME ZONE 'UTC' AS disabled_at FROM users WHERE id = $1::uuid FOR UPDATE", [userId]);
        const row = rows[0];
        if (!row) return null;
        if (disabled !== (row.disabled_at !== null)) {
          await q.query(
            "UPDATE users SET disabled_at = CASE WHEN $2::boolean THEN now() AT TIME ZONE 'UTC' END, updated_at = now() AT TIME ZONE 'UTC' WHERE id = $1::uuid",
            [userId, disabled],
          );
        }
        return { before: row.disabled_at };
      }, { durable: true });
    },

    /** Puts back a disabled_at value read earlier (undoing setDisabled when a deletion could not go on). */
    async restoreDisabled(userId: string, disabledAt: Date | null): Promise<void> {
      await durable.query("UPDATE users SET disabled_at = $2::timestamptz AT TIME ZONE 'UTC', updated_at = now() AT TIME ZONE 'UTC' WHERE id = $1::uuid", [
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
                SELECT $1::uuid, audience_id, NULL, 'REVOKE'::"ConsentAction", '{}', scopes, now() AT TIME ZONE 'UTC' FROM gone)
         UPDATE users SET name = NULL, given_name = NULL, family_name = NULL, attributes = '{}', updated_at = now() AT TIME ZONE 'UTC'
         WHERE id = $1::uuid`,
        [userId],
      );
    },

    /**
     * Deletes accounts made by self sign-up whose address nobody confirmed within `seconds`, which
     * frees their addresses; returns how many. They never completed a sign-in, so Hydra holds nothing of them.
     */
    async prunePendingAccounts(seconds: number): Promise<number> {
      const { rows } = await durable.query<{ n: unknown }>(
        `WITH gone AS (DELETE FROM users WHERE pending_since < now() AT TIME ZONE 'UTC' - make_interval(secs => $1::double precision) AND NOT email_verified RETURNING 1)
         SELECT count(*)::int AS n FROM gone`,
        [seconds],
      );
      return count(rows[0]?.n);
    },

    /**
     * Deletes the user. Their consents, consent history, mail links and outbox mail go with the row
     * (ON DELETE CASCADE); an invitation they redeemed keeps only the fact that it was used. Returns what was
     * deleted, or null when there was no such user.
     */
    async deleteUser(userId: string): Promise<{ consents: number; consentEvents: number } | null> {
      // One statement (atomic): the counts are of the rows the deletion takes with it.
      const { rows } = await durable.query<{ consents: unknown; consent_events: unknown; deleted: unknown }>(
        `WITH gone AS (DELETE FROM users WHERE id = $1::uuid RETURNING id)
         SELECT (SELECT count(*)::int FROM consents WHERE user_id = $1::uuid) AS consents,
                (SELECT count(*)::int FROM consent_events WHERE user_id = $1::uuid) AS consent_events,
                (SELECT count(*)::int FROM gone) AS deleted`,
        [userId],
      );
      const r = rows[0]!;
      return count(r.deleted) === 1 ? { consents: count(r.consents), consentEvents: count(r.consent_events) } : null;
    },
  };
}

export type Store = ReturnType<typeof createStore>;
