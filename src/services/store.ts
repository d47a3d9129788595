// The one module that reads and writes the app's database: Prisma, and the plain pg pool for the sign-in path.
import { createHash, randomBytes, randomInt, randomUUID, timingSafeEqual } from "node:crypto";
import type { Pool } from "pg";
import { inTransaction, type Db, type Param, type Queryable } from "./db";
import { Prisma } from "../generated/prisma/client";
import type { Audience, User, Consent, Invitation } from "../generated/prisma/client";
import type { ClaimDef } from "../decisions/claims";

export type { Audience, User, Consent, Invitation };

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

/** Hydra's challenges live for 30 minutes (hydra.yml ttl.login_consent_request); records are kept a day. */
const HANDLED_CHALLENGE_RETENTION_MS = 24 * 60 * 60 * 1000;

export function isUniqueViolation(err: unknown): boolean {
  return err instanceof Prisma.PrismaClientKnownRequestError && err.code === "P2002";
}

export type OneTimeTokenKind = "VERIFY_EMAIL" | "RECOVERY" | "CHANGE_EMAIL";
type Tx = Parameters<Parameters<Db["$transaction"]>[0]>[0];

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
  tx: Tx,
  opts: { kind: OneTimeTokenKind; userId: string; email: string; ttlSeconds: number; withCode: boolean },
): Promise<{ token: string; code: string | null; expiresAt: Date }> {
  const token = randomBytes(32).toString("base64url");
  const code = opts.withCode ? String(randomInt(0, 1_000_000)).padStart(6, "0") : null;
  const id = randomUUID();
  const expiresAt = new Date(Date.now() + opts.ttlSeconds * 1000);
  await tx.oneTimeToken.updateMany({ where: { userId: opts.userId, kind: opts.kind, usedAt: null }, data: { usedAt: new Date() } });
  await tx.oneTimeToken.create({
    data: { id, kind: opts.kind, tokenHash: oneTimeTokenHash(token), codeHash: code ? codeHash(id, code) : null, userId: opts.userId, email: opts.email, expiresAt },
  });
  return { token, code, expiresAt };
}

// The sign-in path's statements run on the plain pg pool (src/services/db.ts): the users row as
// Prisma's User, timestamps read as UTC (the columns are timestamp without time zone, as Prisma writes them).
const USER_COLUMNS = `u.id, u.email, u.email_normalized, u.email_verified, u.password_hash, u.name, u.given_name, u.family_name,
  u.attributes, u.disabled_at AT TIME ZONE 'UTC' AS disabled_at, u.created_at AT TIME ZONE 'UTC' AS created_at, u.updated_at AT TIME ZONE 'UTC' AS updated_at`;

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
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** A users row that went through row_to_json: timestamps come back as text. */
function jsonUser(r: UserRow): UserRow {
  const date = (v: unknown) => (v === null || v === undefined ? null : new Date(String(v)));
  return { ...r, disabled_at: date(r.disabled_at), created_at: date(r.created_at)!, updated_at: date(r.updated_at)! };
}

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
 * The app's store. With a configuration cache, the configuration reads (client membership, scopes,
 * claims, audiences) come from memory; without one (admin commands) or before it is loaded, from the
 * database. With a pg pool (the server), the sign-in path's statements use it instead of Prisma.
 */
export function createStore(db: Db, configCache?: ConfigCache, pool?: Pool) {
  const config = () => configCache?.current() ?? null;
  /** The plain pool, or a client inside a transaction. Without a pool (admin commands), Prisma's raw queries. */
  const sql: Queryable = pool ?? {
    async query(text, values) {
      const rows = (await db.$queryRawUnsafe(text, ...(values ?? []))) as never[];
      return { rows, rowCount: rows.length };
    },
  };
  const tx = <T>(fn: (q: Queryable) => Promise<T>): Promise<T> => (pool ? inTransaction(pool, fn) : db.$transaction((t) => fn({
    async query(text, values) {
      const rows = (await t.$queryRawUnsafe(text, ...(values ?? []))) as never[];
      return { rows, rowCount: rows.length };
    },
  })));
  return {
    async ping(): Promise<void> {
      await sql.query("SELECT 1");
    },

    /** Runs `fn` in one transaction on the plain pool (several sign-in writes as one). */
    inTransaction: tx,

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
      return (await db.handledChallenge.deleteMany({ where: { handledAt: { lt: new Date(Date.now() - HANDLED_CHALLENGE_RETENTION_MS) } } })).count;
    },

    /** Undoes claimChallenge when answering Hydra failed, so the user can retry. */
    async releaseChallenge(kind: ChallengeKind, challenge: string): Promise<void> {
      await sql.query("DELETE FROM handled_challenges WHERE hash = $1", [challengeHash(kind, challenge)]);
    },

    /** Declared scopes among `names`: name → the audience it is limited to (null: all audiences). */
    async getScopeOwners(names: readonly string[]): Promise<Map<string, string | null>> {
      const c = config();
      if (c) return new Map(names.filter((n) => c.scopeOwners.has(n)).map((n) => [n, c.scopeOwners.get(n)!]));
      const rows = await db.scope.findMany({ where: { name: { in: [...names] } }, select: { name: true, audienceId: true } });
      return new Map(rows.map((r) => [r.name, r.audienceId]));
    },

    /** Declared descriptions of scopes: one text, or one per language. */
    async getScopeDescriptions(names: readonly string[]): Promise<Map<string, DeclaredDescription>> {
      const c = config();
      if (c) return new Map(names.filter((n) => c.scopeDescriptions.has(n)).map((n) => [n, c.scopeDescriptions.get(n)!]));
      const rows = await db.scope.findMany({ where: { name: { in: [...names] } }, select: { name: true, description: true, descriptions: true } });
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
      const rows = await db.claim.findMany({ where: { OR: [{ audienceId: null }, { audienceId }] }, orderBy: { name: "asc" } });
      return rows.map((r) => ({ name: r.name, scope: r.scope, source: r.source, audience: r.audienceId }));
    },

    async getGrantedScopes(userId: string, audienceId: string): Promise<string[]> {
      const row = await db.consent.findUnique({ where: { userId_audienceId: { userId, audienceId } }, select: { scopes: true } });
      return row?.scopes ?? [];
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

    /** Notes that a client used the user's existing consent for its audience (a silent pass). */
    async noteConsentUse(userId: string, audienceId: string, clientId: string, q: Queryable = sql): Promise<void> {
      await q.query(
        `UPDATE consents SET client_ids = array_append(coalesce(client_ids, '{}'), $1), updated_at = now() AT TIME ZONE 'UTC'
         WHERE user_id = $2::uuid AND audience_id = $3 AND NOT ($1 = ANY(coalesce(client_ids, '{}')))`,
        [clientId, userId, audienceId],
      );
    },

    async listConsents(userId: string): Promise<ConsentView[]> {
      const rows = await db.consent.findMany({ where: { userId }, include: { audience: { include: { clients: true } } }, orderBy: { audienceId: "asc" } });
      return rows.map((r) => ({
        audience: r.audience,
        scopes: r.scopes,
        clients: r.clientIds.map((id) => ({ id, name: r.audience.clients.find((c) => c.id === id)?.displayName ?? id })),
        createdAt: r.createdAt,
        updatedAt: r.updatedAt,
      }));
    },

    async getAudience(id: string): Promise<Audience | null> {
      const c = config();
      if (c) return c.audiences.get(id) ?? null;
      return db.audience.findUnique({ where: { id } });
    },

    async listAudienceClientIds(audienceId: string): Promise<string[]> {
      const c = config();
      if (c) return [...(c.audienceClients.get(audienceId) ?? [])];
      return (await db.client.findMany({ where: { audienceId }, select: { id: true } })).map((c) => c.id);
    },

    /** Deletes the user's consent for the audience and records the revocation; false when there was none. */
    async revokeConsent(userId: string, audienceId: string): Promise<boolean> {
      return db.$transaction(async (tx) => {
        const [row] = await tx.$queryRaw<{ id: string; scopes: string[] }[]>`
          DELETE FROM consents WHERE user_id = ${userId}::uuid AND audience_id = ${audienceId} RETURNING id, scopes`;
        if (!row) return false;
        await tx.consentEvent.create({ data: { userId, audienceId, clientId: null, action: "REVOKE", scopesAdded: [], scopesRemoved: row.scopes } });
        return true;
      });
    },

    /** Stores a new invitation and returns its code (shown once; only its hash is kept). */
    async createInvitation(audienceId: string, email: string | null, expiresAt: Date): Promise<{ code: string; invitation: Invitation }> {
      const code = randomBytes(32).toString("base64url");
      const invitation = await db.invitation.create({
        data: { audienceId, email: email ? normalizeEmail(email) : null, expiresAt, codeHash: invitationCodeHash(code) },
      });
      return { code, invitation };
    },

    findInvitation(code: string): Promise<(Invitation & { audience: Audience }) | null> {
      return db.invitation.findUnique({ where: { codeHash: invitationCodeHash(code) }, include: { audience: true } });
    },

    /**
     * Creates the user and, when given, redeems the invitation — atomically: a used, expired or
     * concurrently redeemed invitation or a taken email leaves nothing written.
     */
    async registerUser(user: NewUser, invitationId: string | null, alsoInTx?: (tx: Tx, user: User) => Promise<void>): Promise<User> {
      try {
        return await db.$transaction(async (tx) => {
          const now = new Date();
          if (invitationId) {
            const { count } = await tx.invitation.updateMany({ where: { id: invitationId, usedAt: null, expiresAt: { gt: now } }, data: { usedAt: now } });
            if (count !== 1) throw new InvitationRedeemedError("invitation already redeemed");
          }
          const created = await tx.user.create({
            data: { email: user.email.trim(), emailNormalized: normalizeEmail(user.email), passwordHash: user.passwordHash, name: user.name, emailVerified: user.emailVerified },
          });
          if (invitationId) await tx.invitation.update({ where: { id: invitationId }, data: { usedByUserId: created.id } });
          if (alsoInTx) await alsoInTx(tx, created);
          return created;
        });
      } catch (err) {
        if (isUniqueViolation(err)) throw new EmailTakenError("email taken");
        throw err;
      }
    },

    /** Runs `fn` in one transaction (for writes that must happen together, e.g. a token and its mail). */
    transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
      return db.$transaction(fn, { maxWait: 10_000, timeout: 15_000 });
    },

    /** What a link's token is, without using it. */
    async lookupOneTimeToken(kind: OneTimeTokenKind, token: string): Promise<TokenLookup> {
      const row = await db.oneTimeToken.findUnique({ where: { tokenHash: oneTimeTokenHash(token) } });
      if (!row || row.kind !== kind) return { status: "unknown" };
      if (row.usedAt) return { status: "used" };
      if (row.expiresAt <= new Date()) return { status: "expired" };
      return { status: "valid", token: { id: row.id, userId: row.userId, email: row.email, kind: row.kind, expiresAt: row.expiresAt } };
    },

    /** Uses a link's token exactly once (atomic); null when it is not (any longer) valid. */
    async useOneTimeToken(tx: Tx, kind: OneTimeTokenKind, token: string): Promise<{ userId: string; email: string } | null> {
      const rows = await tx.$queryRaw<{ user_id: string; email: string }[]>`
        UPDATE one_time_tokens SET used_at = now()
        WHERE token_hash = ${oneTimeTokenHash(token)} AND kind = ${kind}::"OneTimeTokenKind" AND used_at IS NULL AND expires_at > now()
        RETURNING user_id, email`;
      return rows[0] ? { userId: rows[0].user_id, email: rows[0].email } : null;
    },

    /**
     * Checks a short code against the user's newest valid token of the kind and uses it when right.
     * Wrong codes count; after MAX_CODE_ATTEMPTS the token takes no more codes.
     */
    async useCode(kind: OneTimeTokenKind, userId: string, code: string): Promise<{ status: "ok"; email: string } | { status: "wrong" | "none" | "locked" }> {
      return db.$transaction(async (tx) => {
        const [row] = await tx.$queryRaw<{ id: string; code_hash: string | null; attempts: number; email: string }[]>`
          SELECT id, code_hash, attempts, email FROM one_time_tokens
          WHERE user_id = ${userId}::uuid AND kind = ${kind}::"OneTimeTokenKind" AND used_at IS NULL AND expires_at > now() AND code_hash IS NOT NULL
          ORDER BY created_at DESC LIMIT 1 FOR UPDATE`;
        if (!row) return { status: "none" as const };
        if (row.attempts >= MAX_CODE_ATTEMPTS) return { status: "locked" as const };
        const given = Buffer.from(codeHash(row.id, code.trim()));
        const expected = Buffer.from(row.code_hash!);
        if (given.length === expected.length && timingSafeEqual(given, expected)) {
          await tx.oneTimeToken.update({ where: { id: row.id }, data: { usedAt: new Date() } });
          return { status: "ok" as const, email: row.email };
        }
        await tx.oneTimeToken.update({ where: { id: row.id }, data: { attempts: { increment: 1 } } });
        return { status: row.attempts + 1 >= MAX_CODE_ATTEMPTS ? ("locked" as const) : ("wrong" as const) };
      });
    },

    /** Marks the address verified, if it is still the user's address. */
    async markEmailVerified(tx: Tx, userId: string, email: string): Promise<boolean> {
      const { count } = await tx.user.updateMany({ where: { id: userId, emailNormalized: normalizeEmail(email) }, data: { emailVerified: true } });
      return count === 1;
    },

    /** Removes one-time tokens that expired a day ago or more. */
    async pruneOneTimeTokens(): Promise<number> {
      const { count } = await db.oneTimeToken.deleteMany({ where: { expiresAt: { lt: new Date(Date.now() - 24 * 60 * 60 * 1000) } } });
      return count;
    },

    /** Ends every app session (express-session rows) of the user; returns how many ended. */
    async endUserSessions(userId: string): Promise<number> {
      return db.$executeRaw`DELETE FROM session WHERE sess->>'userId' = ${userId}`;
    },

    /** The audience a Hydra client belongs to, or null when the client has none. */
    async getClientMembership(clientId: string): Promise<ClientMembership | null> {
      const c = config();
      if (c) {
        const audience = c.audiences.get(c.clientAudience.get(clientId) ?? "");
        return audience ? { clientId, audience } : null;
      }
      const row = await db.client.findUnique({ where: { id: clientId }, include: { audience: true } });
      return row ? { clientId: row.id, audience: row.audience } : null;
    },

    // ---- Self-service account (/account) and the admin user commands (user:disable/enable/delete).

    /** Ends every app session of the user except `keepSid` (this browser's); returns how many ended. */
    async endUserSessionsExcept(userId: string, keepSid: string): Promise<number> {
      return db.$executeRaw`DELETE FROM session WHERE sess->>'userId' = ${userId} AND sid <> ${keepSid}`;
    },

    /** Sets the user's display name and the given/family names derived from it. */
    async setName(userId: string, names: { name: string | null; givenName: string | null; familyName: string | null }): Promise<void> {
      await db.user.update({ where: { id: userId }, data: names });
    },

    /** Stores a new password hash (inside `tx`, e.g. together with the notification mail). */
    async setPasswordHash(tx: Tx, userId: string, passwordHash: string): Promise<void> {
      await tx.user.update({ where: { id: userId }, data: { passwordHash } });
    },

    /** The change of address waiting for its link to be confirmed (the newest valid CHANGE_EMAIL token), if any. */
    async pendingEmailChange(userId: string): Promise<{ email: string; expiresAt: Date } | null> {
      const row = await db.oneTimeToken.findFirst({
        where: { userId, kind: "CHANGE_EMAIL", usedAt: null, expiresAt: { gt: new Date() } },
        orderBy: { createdAt: "desc" },
        select: { email: true, expiresAt: true },
      });
      return row;
    },

    /**
     * Applies a confirmed change of address inside `tx`: the new address (verified: the link proved
     * the mailbox), and the user's other unused mail links (verification, recovery) retired, since
     * they went to the old address. Returns the old address; throws EmailTakenError when another
     * account has the new address by now (the caller's transaction then rolls back).
     */
    async applyEmailChange(tx: Tx, userId: string, newEmail: string): Promise<{ oldEmail: string; name: string | null } | null> {
      const user = await tx.user.findUnique({ where: { id: userId }, select: { email: true, name: true } });
      if (!user) return null;
      try {
        await tx.user.update({ where: { id: userId }, data: { email: newEmail.trim(), emailNormalized: normalizeEmail(newEmail), emailVerified: true } });
      } catch (err) {
        if (isUniqueViolation(err)) throw new EmailTakenError("email taken");
        throw err;
      }
      await tx.oneTimeToken.updateMany({ where: { userId, usedAt: null, kind: { in: ["VERIFY_EMAIL", "RECOVERY"] } }, data: { usedAt: new Date() } });
      return { oldEmail: user.email, name: user.name };
    },

    /** Sets or clears users.disabled_at; returns the value it had before (null: there is no such user). */
    async setDisabled(userId: string, disabled: boolean): Promise<{ before: Date | null } | null> {
      return db.$transaction(async (tx) => {
        const row = await tx.user.findUnique({ where: { id: userId }, select: { disabledAt: true } });
        if (!row) return null;
        if (disabled && !row.disabledAt) await tx.user.update({ where: { id: userId }, data: { disabledAt: new Date() } });
        if (!disabled && row.disabledAt) await tx.user.update({ where: { id: userId }, data: { disabledAt: null } });
        return { before: row.disabledAt };
      });
    },

    /** Puts back a disabled_at value read earlier (undoing setDisabled when a deletion could not go on). */
    async restoreDisabled(userId: string, disabledAt: Date | null): Promise<void> {
      await db.user.updateMany({ where: { id: userId }, data: { disabledAt } });
    },

    /**
     * Deletes the user. Their consents, consent history and mail links go with the row (ON DELETE
     * CASCADE); an invitation they redeemed keeps only the fact that it was used. Returns what was
     * deleted, or null when there was no such user.
     */
    async deleteUser(userId: string): Promise<{ consents: number; consentEvents: number } | null> {
      return db.$transaction(async (tx) => {
        const consents = await tx.consent.count({ where: { userId } });
        const consentEvents = await tx.consentEvent.count({ where: { userId } });
        const { count } = await tx.user.deleteMany({ where: { id: userId } });
        return count === 1 ? { consents, consentEvents } : null;
      });
    },
  };
}

export type Store = ReturnType<typeof createStore>;
