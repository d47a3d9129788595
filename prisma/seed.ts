// `npm run seed`: applies the audiences configuration file to the app's store and to Hydra's clients.
// Usage: npm run seed -- [--config <file>] [--dry-run] [--prune]
// The file defaults to $AUDIENCES_CONFIG, else config/audiences.yaml. `npm run seed` runs this script
// directly (tsx); Prisma's `npx prisma db seed -- --config <file> …` runs it too (prisma.config.ts),
// but Prisma takes options before `--` for itself (its own --config is the Prisma config file).
import "../src/admin/node-version"; // first: an older Node.js stops here, with a message, before anything crashes it
import { parseArgs } from "node:util";
import { loadAppConfigFile, AudienceConfigError } from "../src/config/audiences";
import { applyConfig, formatChanges, ApplyConfigError } from "../src/admin/apply-config";
import { createCommandPool } from "../src/services/db";
import { createStore } from "../src/services/store";
import { createHydra } from "../src/services/hydra";
import { AppError } from "../src/errors";

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      "dry-run": { type: "boolean", default: false },
      prune: { type: "boolean", default: false },
      config: { type: "string" },
    },
  });
  const file = values.config ?? process.env.AUDIENCES_CONFIG ?? "config/audiences.yaml";
  const missing = ["DATABASE_URL", "HYDRA_ADMIN_URL"].filter((k) => !process.env[k]);
  if (missing.length) {
    console.error(`seed: set ${missing.join(" and ")}`);
    return 78;
  }
  const config = loadAppConfigFile(file);
  // A durable pool (every commit waits for the WAL flush): the configuration is an admin's decision.
  const pool = createCommandPool(process.env.DATABASE_URL!, 2);
  const hydra = createHydra({ adminUrl: process.env.HYDRA_ADMIN_URL!, timeoutMs: 10_000 });
  try {
    const dryRun = values["dry-run"]!;
    const prune = values.prune!;
    const changes = await applyConfig(config, { store: createStore({ pool }), hydra, secrets: process.env, dryRun, prune });
    console.log(`seed: ${file}${dryRun ? " (dry run: nothing changed)" : ""}\n${formatChanges(changes, dryRun, prune)}`);
    return 0;
  } finally {
    await pool.end();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    if (err instanceof AudienceConfigError || err instanceof ApplyConfigError || err instanceof AppError) console.error(`seed: ${err.message}`);
    else console.error(err);
    process.exit(1);
  },
);
