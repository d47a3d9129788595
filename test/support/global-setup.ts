// Runs once before the end-to-end tests: makes sure Hydra and Mailpit are built, Chromium is there and PostgreSQL answers, then
// creates two template databases (app schema via `prisma migrate deploy`, Hydra's via
// `hydra migrate sql`) that every test file copies for its own fresh databases.
import { execFileSync } from "node:child_process";
import path from "node:path";
import { HYDRA_BIN, ROOT } from "./paths";
import { createDatabase, dropDatabase, uniqueName } from "./pg";
import { createAppTemplate, requirePostgres } from "./db-setup";

export default async function globalSetup(): Promise<void> {
  execFileSync("bash", [path.join(ROOT, "scripts", "build-hydra.sh")], { stdio: "inherit" });
  execFileSync("bash", [path.join(ROOT, "scripts", "build-mailpit.sh")], { stdio: "inherit" });
  // The browser tests drive Debian's Chromium. Without it jest.config.js leaves them out (and
  // scripts/test.sh says how to install it), except in CI, where they must run.
  if (process.env.CI) {
    try {
      execFileSync("bash", [path.join(ROOT, "scripts", "ensure-chromium.sh"), "--check"], { stdio: ["ignore", "inherit", "pipe"] });
    } catch (err) {
      throw new Error(`Chromium for the browser tests is missing: ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`);
    }
  }
  await requirePostgres();
  const hydraTemplate = uniqueName("hydra_tpl");
  const hydraUrl = await createDatabase(hydraTemplate);
  process.env.TEST_HYDRA_DB_TEMPLATE = hydraTemplate;
  try {
    await createAppTemplate();
    execFileSync(HYDRA_BIN, ["migrate", "sql", "-e", "--yes"], {
      env: { ...process.env, DSN: `${hydraUrl}?sslmode=disable` },
      stdio: "pipe",
    });
  } catch (err) {
    // Jest runs no global teardown after a failed setup: the templates go now.
    await Promise.all([dropDatabase(hydraTemplate), process.env.TEST_APP_DB_TEMPLATE ? dropDatabase(process.env.TEST_APP_DB_TEMPLATE) : undefined]).catch(() => undefined);
    throw err;
  }
}
