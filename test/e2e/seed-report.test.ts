// What `npm run seed` reports, line for line, on a fresh database and a fresh Hydra (nothing applied
// yet, not even the account page's own client): "would create" in a dry run and "created" when
// applied for every kind of item; then "N unchanged" alone, and "updated (<fields>)" for what changed.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import YAML from "yaml";
import { startHydra, type HydraProcess } from "../support/stack";
import { createDatabase, dropDatabase, uniqueName } from "../support/pg";
import { runCommand } from "../support/fixtures";
import type { Pool } from "pg";
import { createPool } from "../../src/services/db";
import { createHydra } from "../../src/services/hydra";
import { countRows } from "../support/db";

jest.setTimeout(120_000);

const APP_URL = "http://127.0.0.1:3000";
const SECRETS = { SHOP_WEB_SECRET: "shop-web-secret-0123456789" };
let hydra: HydraProcess;
let databaseUrl: string;
let db: Pool;
let dir: string;
const names = { app: uniqueName("al_seed_report"), hydra: uniqueName("hydra_seed_report") };

beforeAll(async () => {
  databaseUrl = await createDatabase(names.app, process.env.TEST_APP_DB_TEMPLATE);
  const hydraDb = await createDatabase(names.hydra, process.env.TEST_HYDRA_DB_TEMPLATE);
  hydra = await startHydra({ dsn: `${hydraDb}?sslmode=disable`, appUrl: APP_URL });
  db = createPool(databaseUrl, { max: 1 });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "seed-report-"));
});
afterAll(async () => {
  await db?.end();
  await hydra?.stop();
  await Promise.all([dropDatabase(names.app), dropDatabase(names.hydra)]);
  fs.rmSync(dir, { recursive: true, force: true });
});

const config = () => ({
  "identifier-prefix": "org.example.",
  audiences: [
    { id: "org.example.shop", name: "Shop" },
    { id: "org.example.billing", name: "Billing", "sign-up-enabled": false, "invitation-enabled": true },
  ],
  scopes: [
    // Per language: stored as JSON, whose key order PostgreSQL chooses; still "unchanged" on the next run.
    { name: "shop.orders", description: { en: "Your orders", de: "Ihre Bestellungen" }, audience: "org.example.shop" },
    { name: "billing.read", audience: "org.example.billing" },
  ],
  claims: [{ name: "customer_no", scope: "shop.orders", source: "attributes.customer_no", audience: "org.example.shop" }],
  clients: [
    { id: "shop-web", name: "Shop Web", audience: "org.example.shop", "secret-env": "SHOP_WEB_SECRET", "redirect-uris": ["https://shop.example.org/cb"], scopes: ["openid", "shop.orders"] },
    { id: "shop-app", name: "Shop App", audience: "org.example.shop", "redirect-uris": ["org.example.shop:/cb"], scopes: ["openid", "shop.orders"] },
  ],
});

function writeConfig(name: string, value: unknown): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, YAML.stringify(value));
  return file;
}

/** `npm run seed` as the README runs it; its whole output. */
async function seed(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: databaseUrl, HYDRA_ADMIN_URL: hydra.adminUrl, APP_BASE_URL: APP_URL, ...SECRETS };
  delete env.ACCOUNT_CLIENT_ID; // the account page's client keeps its default id, "account"
  return runCommand("npm", ["run", "--silent", "seed", "--", ...args], env);
}

const CREATED = [
  "audience org.example.shop",
  "audience org.example.billing",
  "scope shop.orders",
  "scope billing.read",
  "claim customer_no",
  "hydra-client shop-web",
  "client shop-web",
  "hydra-client shop-app",
  "client shop-app",
  "hydra-client account",
];

test("fresh: the dry run says 'would create' for every item and writes nothing; applying says 'created' for each", async () => {
  const file = writeConfig("v1.yaml", config());
  const dry = await seed(["--config", file, "--dry-run"]);
  expect(dry).toEqual({ code: 0, stderr: "", stdout: [`seed: ${file} (dry run: nothing changed)`, ...CREATED.map((item) => `  ${item}: would create`), "  0 unchanged", ""].join("\n") });
  expect(await createHydra({ adminUrl: hydra.adminUrl, timeoutMs: 10_000 }).listClients()).toEqual([]);
  expect(await countRows(db, "audiences")).toBe(0);

  const applied = await seed(["--config", file]);
  expect(applied).toEqual({ code: 0, stderr: "", stdout: [`seed: ${file}`, ...CREATED.map((item) => `  ${item}: created`), "  0 unchanged", ""].join("\n") });
});

test("the second run: everything unchanged; a changed file: 'updated' with the fields, the rest unchanged", async () => {
  const file = writeConfig("v1.yaml", config());
  expect(await seed(["--config", file])).toEqual({ code: 0, stderr: "", stdout: `seed: ${file}\n  ${CREATED.length} unchanged\n` });
  expect(await seed(["--config", file, "--dry-run"])).toEqual({ code: 0, stderr: "", stdout: `seed: ${file} (dry run: nothing changed)\n  ${CREATED.length} unchanged\n` });

  const v2 = config();
  v2.audiences[0]!.name = "The Shop";
  v2.scopes[0]!.description = { en: "Your orders and returns", de: "Ihre Bestellungen" };
  v2.clients[1]!.name = "Shop App (beta)";
  const changed = writeConfig("v2.yaml", v2);
  const expected = (verb: string) =>
    [
      `  audience org.example.shop: ${verb} (displayName)`,
      `  scope shop.orders: ${verb} (description, descriptions)`,
      `  hydra-client shop-app: ${verb} (client_name)`,
      `  client shop-app: ${verb} (displayName)`,
      `  ${CREATED.length - 4} unchanged`,
    ].join("\n");
  expect(await seed(["--config", changed, "--dry-run"])).toEqual({ code: 0, stderr: "", stdout: `seed: ${changed} (dry run: nothing changed)\n${expected("would update")}\n` });
  expect(await seed(["--config", changed])).toEqual({ code: 0, stderr: "", stdout: `seed: ${changed}\n${expected("updated")}\n` });
  expect(await seed(["--config", changed])).toEqual({ code: 0, stderr: "", stdout: `seed: ${changed}\n  ${CREATED.length} unchanged\n` });
});
