// What the in-process flow tests (test/integration/) share: settings for a flow run without servers,
// and a fresh copy of the migrated template database with a pool on it.
import type { Pool } from "pg";
import { loadEnv, type Env } from "../../src/config/env";
import { createPool } from "../../src/services/db";
import { createDatabase, databaseUrl, dropDatabase, uniqueName } from "./pg";

/** The app's settings with every outside URL answering nothing (a flow test fakes what it needs), plus `overrides`. */
export function flowTestEnv(overrides: Record<string, string> = {}): Env {
  return loadEnv({
    ...process.env,
    DATABASE_URL: "postgresql://unused",
    HYDRA_ADMIN_URL: "http://127.0.0.1:1",
    HYDRA_PUBLIC_URL: "http://127.0.0.1:1",
    APP_BASE_URL: "http://app.test",
    SESSION_SECRETS: "x".repeat(32),
    ...overrides,
  } as NodeJS.ProcessEnv);
}

/** A database of its own for one test file (a copy of TEST_APP_DB_TEMPLATE) and a pool; `drop` ends both. */
export async function freshDatabase(prefix: string): Promise<{ pool: Pool; drop(): Promise<void> }> {
  const name = uniqueName(prefix);
  await createDatabase(name, process.env.TEST_APP_DB_TEMPLATE);
  const pool = createPool(databaseUrl(name), { max: 4 });
  return {
    pool,
    async drop() {
      await pool.end();
      await dropDatabase(name);
    },
  };
}
