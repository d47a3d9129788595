// Runs once before the integration tests (test/integration/: the store and the flows in-process
// against the real PostgreSQL): only PostgreSQL, no Hydra, Mailpit or Chromium. Creates the app's
// template database (`prisma migrate deploy`) that every test file copies for its own.
import { execFileSync } from "node:child_process";
import path from "node:path";
import { ROOT } from "./paths";
import { PG_ADMIN_URL, createDatabase, dropDatabase, pgAdmin, uniqueName } from "./pg";

export async function requirePostgres(): Promise<void> {
  await pgAdmin((c) => c.query("SELECT 1")).catch((err) => {
    throw new Error(`PostgreSQL is not reachable at ${PG_ADMIN_URL} (${(err as Error).message}); run the tests with npm test (it finds or starts one), or set TEST_PG_URL`);
  });
}

/** A database with the app's schema (the migrations), to copy; its name goes to TEST_APP_DB_TEMPLATE. */
export async function createAppTemplate(): Promise<string> {
  // Both projects' setups run in one jest process: the second finds the first's template.
  if (process.env.TEST_APP_DB_TEMPLATE) return process.env.TEST_APP_DB_TEMPLATE;
  const name = uniqueName("al_tpl");
  const url = await createDatabase(name);
  process.env.TEST_APP_DB_TEMPLATE = name;
  try {
    execFileSync(path.join(ROOT, "node_modules", ".bin", "prisma"), ["migrate", "deploy"], { cwd: ROOT, env: { ...process.env, DATABASE_URL: url }, stdio: "pipe" });
  } catch (err) {
    // Jest runs no global teardown after a failed setup: the template goes now.
    await dropDatabase(name).catch(() => undefined);
    throw err;
  }
  return name;
}

export default async function dbSetup(): Promise<void> {
  await requirePostgres();
  await createAppTemplate();
}
