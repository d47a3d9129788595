// The one module that reads and writes the app's database (through Prisma).
import type { Db } from "./db";
import type { Audience, User } from "../generated/prisma/client";

export type { Audience, User };

export interface ClientMembership {
  clientId: string;
  audience: Audience;
}

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
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

    /** The audience a Hydra client belongs to, or null when the client has none. */
    async getClientMembership(clientId: string): Promise<ClientMembership | null> {
      const row = await db.client.findUnique({ where: { id: clientId }, include: { audience: true } });
      return row ? { clientId: row.id, audience: row.audience } : null;
    },
  };
}

export type Store = ReturnType<typeof createStore>;
