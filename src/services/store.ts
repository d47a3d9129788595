// The one module that reads and writes the app's database (through Prisma).
import { createHash } from "node:crypto";
import type { Db } from "./db";
import { Prisma } from "../generated/prisma/client";
import type { Audience, User } from "../generated/prisma/client";

export type { Audience, User };

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

export function createStore(db: Db) {
  return {
    async ping(): Promise<void> {
      await db.$queryRaw`SELECT 1`;
    },

    findUserByEmail(email: string): Promise<User | null> {
      return db.user.findUnique({ where: { emailNormalized: normalizeEmail(email) } });
    },

    getUser(id: string): Promise<User | null> {
      return db.user.findUnique({ where: { id } });
    },

    async isChallengeHandled(kind: ChallengeKind, challenge: string): Promise<boolean> {
      return (await db.handledChallenge.count({ where: { hash: challengeHash(kind, challenge) } })) > 0;
    },

    /** Marks a challenge as answered; false when it already was (a replay or a double submit). */
    async claimChallenge(kind: ChallengeKind, challenge: string): Promise<boolean> {
      try {
        await db.handledChallenge.create({ data: { hash: challengeHash(kind, challenge), kind } });
      } catch (err) {
        if (isUniqueViolation(err)) return false;
        throw err;
      }
      await db.handledChallenge.deleteMany({ where: { handledAt: { lt: new Date(Date.now() - HANDLED_CHALLENGE_RETENTION_MS) } } });
      return true;
    },

    /** Undoes claimChallenge when answering Hydra failed, so the user can retry. */
    async releaseChallenge(kind: ChallengeKind, challenge: string): Promise<void> {
      await db.handledChallenge.deleteMany({ where: { hash: challengeHash(kind, challenge) } });
    },

    /** The audience a Hydra client belongs to, or null when the client has none. */
    async getClientMembership(clientId: string): Promise<ClientMembership | null> {
      const row = await db.client.findUnique({ where: { id: clientId }, include: { audience: true } });
      return row ? { clientId: row.id, audience: row.audience } : null;
    },
  };
}

export type Store = ReturnType<typeof createStore>;
