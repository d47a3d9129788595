// The migration to timestamp with time zone keeps every row's instant, in a connection whose time
// zone is not UTC: the app's columns held UTC wall-clock times, the session table's expiry was kept
// in the connection's zone. Afterwards every time column is timestamptz and record_consent writes
// the present instant.
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { Client } from "pg";
import { ROOT } from "../support/paths";
import { createDatabase, dropDatabase, uniqueName } from "../support/pg";

jest.setTimeout(60_000);

const MIGRATIONS = path.join(ROOT, "prisma", "migrations");
const TARGET = "timestamps_with_time_zone";

let dbName: string;
let client: Client;

beforeAll(async () => {
  dbName = uniqueName("timestamps");
  client = new Client({ connectionString: await createDatabase(dbName) });
  await client.connect();
  // Nine hours east of UTC: a conversion that forgot the zone would be off by hours.
  await client.query("SET TimeZone = 'Asia/Tokyo'");
});
afterAll(async () => {
  await client?.end();
  await dropDatabase(dbName);
});

async function migrations(): Promise<string[]> {
  return (await readdir(MIGRATIONS, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
}
const apply = async (name: string) => client.query(await readFile(path.join(MIGRATIONS, name, "migration.sql"), "utf8"));

test("every row keeps its instant, every time column becomes timestamptz, and record_consent writes now", async () => {
  const all = await migrations();
  const at = all.findIndex((n) => n.endsWith(TARGET));
  expect(at).toBeGreaterThan(0);
  for (const name of all.slice(0, at)) await apply(name);

  // As the app wrote them before: UTC wall-clock times, and the session's expiry as a timestamptz.
  const created = new Date("2026-03-04T05:06:07.891Z");
  const expire = new Date("2026-12-24T18:00:00.000Z");
  await client.query("INSERT INTO audiences (id, display_name, token_audience, created_at, updated_at) VALUES ('aud', 'Aud', '{https://api}', $1, $1)", ["2026-03-04 05:06:07.891"]);
  await client.query(
    `INSERT INTO users (id, email, email_normalized, password_hash, created_at, updated_at, disabled_at)
     VALUES ('00000000-0000-4000-8000-000000000001', 'a@example.test', 'a@example.test', 'x', $1, $1, NULL)`,
    ["2026-03-04 05:06:07.891"],
  );
  await client.query("INSERT INTO session (sid, sess, expire) VALUES ('s1', '{}', $1::timestamptz)", [expire.toISOString()]);

  for (const name of all.slice(at)) await apply(name);

  const user = await client.query<{ created_at: Date; updated_at: Date }>("SELECT created_at, updated_at FROM users");
  expect(user.rows[0]!.created_at.toISOString()).toBe(created.toISOString());
  expect(user.rows[0]!.updated_at.toISOString()).toBe(created.toISOString());
  const audience = await client.query<{ created_at: Date }>("SELECT created_at FROM audiences");
  expect(audience.rows[0]!.created_at.toISOString()).toBe(created.toISOString());
  const session = await client.query<{ expire: Date }>("SELECT expire FROM session");
  expect(session.rows[0]!.expire.toISOString()).toBe(expire.toISOString());

  const columns = await client.query<{ table_name: string; column_name: string; data_type: string }>(
    "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'public' AND data_type LIKE 'timestamp%' ORDER BY 1, 2",
  );
  expect(columns.rows.length).toBeGreaterThanOrEqual(25);
  expect(columns.rows.filter((c) => c.data_type !== "timestamp with time zone")).toEqual([]);

  const before = Date.now();
  const recorded = await client.query<{ outcome: string }>("SELECT outcome FROM record_consent('00000000-0000-4000-8000-000000000001', 'aud', 'c1', '{openid}', 'claim-1', '{}', NULL)");
  expect(recorded.rows[0]!.outcome).toBe("recorded");
  const written = await client.query<{ consent: Date; event: Date; handled: Date }>(
    "SELECT (SELECT created_at FROM consents) AS consent, (SELECT created_at FROM consent_events) AS event, (SELECT handled_at FROM handled_challenges) AS handled",
  );
  for (const when of Object.values(written.rows[0]!)) {
    expect(Math.abs((when as Date).getTime() - before)).toBeLessThan(60_000);
  }
});
