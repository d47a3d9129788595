// The store's row types follow the real schema: every table's columns as src/store/tables.ts declares
// them (from which User, Audience, Consent, … are derived) against information_schema.columns of a
// database the migrations made. A migration that adds, drops, renames, retypes a column or changes
// whether it may be NULL fails here until the declaration follows it.
import { Client } from "pg";
import { TABLES } from "../../src/store/tables";
import { createDatabase, databaseUrl, dropDatabase, uniqueName } from "../support/pg";

jest.setTimeout(60_000);

const dbName = uniqueName("tables");
let db: Client;
beforeAll(async () => {
  await createDatabase(dbName, process.env.TEST_APP_DB_TEMPLATE);
  db = new Client({ connectionString: databaseUrl(dbName) });
  await db.connect();
});
afterAll(async () => {
  await db?.end();
  await dropDatabase(dbName);
});

interface ColumnRow {
  table_name: string;
  column_name: string;
  udt_name: string;
  is_nullable: "YES" | "NO";
}

async function schemaColumns(): Promise<ColumnRow[]> {
  const { rows } = await db.query<ColumnRow>(
    `SELECT table_name, column_name, udt_name, is_nullable FROM information_schema.columns
     WHERE table_schema = 'public' AND table_name <> '_prisma_migrations' ORDER BY table_name, column_name`,
  );
  return rows;
}

test("every table of the migrated database is declared, and no other", async () => {
  const inSchema = [...new Set((await schemaColumns()).map((c) => c.table_name))].sort();
  expect(TABLES.map((t) => t.name).sort()).toEqual(inSchema);
});

test("each enum column's values as declared, in the enum's order", async () => {
  for (const table of TABLES) {
    for (const c of Object.values(table.columns).filter((c) => c.labels)) {
      const { rows } = await db.query<{ label: string }>("SELECT enumlabel AS label FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid WHERE t.typname = $1 ORDER BY e.enumsortorder", [c.type]);
      expect({ column: `${table.name}.${c.column}`, labels: rows.map((r) => r.label) }).toEqual({ column: `${table.name}.${c.column}`, labels: c.labels });
    }
  }
});

test.each(TABLES.map((t) => [t.name, t] as const))("table %s: each column's name, type and nullability as declared", async (name, table) => {
  const inSchema = (await schemaColumns())
    .filter((c) => c.table_name === name)
    .map((c) => ({ column: c.column_name, type: c.udt_name, nullable: c.is_nullable === "YES" }));
  const declared = Object.values(table.columns)
    .map((c) => ({ column: c.column, type: c.type, nullable: c.nullable }))
    .sort((a, b) => (a.column < b.column ? -1 : a.column > b.column ? 1 : 0));
  expect(declared).toEqual(inSchema);
});
