// Test databases: templates migrated once per run, then one fresh copy per test file.
import { randomBytes } from "node:crypto";
import { Client } from "pg";

export const PG_ADMIN_URL = process.env.TEST_PG_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

export function databaseUrl(name: string): string {
  const u = new URL(PG_ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

export async function pgAdmin<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString("hex")}`;
}

export async function createDatabase(name: string, template?: string): Promise<string> {
  await pgAdmin((c) => c.query(`CREATE DATABASE "${name}"${template ? ` TEMPLATE "${template}"` : ""}`));
  return databaseUrl(name);
}

export async function dropDatabase(name: string): Promise<void> {
  await pgAdmin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
}

/** Calls `seen` with the text of every statement sent through `pool.query` (to count round trips). */
export function recordStatements(pool: { query: unknown }, seen: (text: string) => void): void {
  const query = (pool.query as (...args: unknown[]) => unknown).bind(pool);
  pool.query = (...args: unknown[]) => {
    seen(String(args[0]));
    return query(...args);
  };
}
