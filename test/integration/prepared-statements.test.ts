// The plain pool's statements with parameters run as named prepared statements
// (src/services/db.ts PreparingClient): parsed once per connection, not at every call.
import { createPool, transactionOn, preparedName } from "../../src/services/db";
import { createDatabase, databaseUrl, dropDatabase, uniqueName } from "../support/pg";

jest.setTimeout(60_000);

const dbName = uniqueName("prepared");
beforeAll(async () => void (await createDatabase(dbName, process.env.TEST_APP_DB_TEMPLATE)));
afterAll(async () => dropDatabase(dbName));

test("a statement with parameters is prepared once per connection and reused; one without is not", async () => {
  const pool = createPool(databaseUrl(dbName), { max: 1 }); // one connection: the prepared statements are its own
  try {
    const text = "SELECT $1::int + 1 AS n";
    for (const v of [1, 2, 3]) expect((await pool.query<{ n: number }>(text, [v])).rows[0]!.n).toBe(v + 1);
    await pool.query("SELECT 42 AS plain");
    // Inside a transaction too (a client of the pool).
    expect(await transactionOn(pool, async (c) => (await c.query<{ n: number }>(text, [9])).rows[0]!.n)).toBe(10);
    const { rows } = await pool.query<{ name: string; statement: string }>("SELECT name, statement FROM pg_prepared_statements WHERE name LIKE $1 ORDER BY name", ["p%"]);
    expect(rows.find((r) => r.statement === text)?.name).toBe(preparedName(text));
    expect(rows.filter((r) => r.statement === text)).toHaveLength(1);
    expect(rows.some((r) => r.statement.includes("42 AS plain"))).toBe(false);
    // A bad value is an error of that call only; the prepared statement still serves the next one.
    await expect(pool.query(text, ["not a number"])).rejects.toThrow(/invalid input syntax/);
    expect((await pool.query<{ n: number }>(text, [5])).rows[0]!.n).toBe(6);
  } finally {
    await pool.end();
  }
});

test("the number of prepared texts is bounded: past the bound, statements run unprepared", () => {
  const names = Array.from({ length: 300 }, (_, i) => preparedName(`SELECT ${i} + $1::int`));
  expect(new Set(names.filter(Boolean)).size).toBeLessThanOrEqual(256);
  expect(names.slice(-10)).toEqual(Array(10).fill(""));
  expect(preparedName("SELECT 0 + $1::int")).toBe(names[0]); // a known text keeps its name
});
