// The tests' direct reads and writes of the app's database (assertions and fixtures), on the same pg
// pool and the same table declarations as the store (src/store/tables.ts): rows come back in the
// store's shapes (field names, Date for timestamps, parsed JSON; bigint ids as text).
//   findRow(stack.db, "users", { emailNormalized })      one row or null
//   countRows(stack.db, "consents", { userId })          how many
// A condition is a field's value (null: IS NULL), or { in: [...] }, { lt: value } or { startsWith: text }.
import type { Queryable } from "../../src/store/sql";
import { TABLES, paramFor, selectFields, valueFor, type Row, type Table } from "../../src/store/tables";

type Tables = typeof TABLES;
type TableName = Tables[number]["name"];
type TableOf<N extends TableName> = Extract<Tables[number], { name: N }>;
export type RowOf<N extends TableName> = Row<TableOf<N>>;

type Condition<V> = V | { in: readonly V[] } | { lt: V } | { startsWith: string };
export type Where<N extends TableName> = { [K in keyof RowOf<N>]?: Condition<RowOf<N>[K]> };

const byName = new Map<string, Table>(TABLES.map((t) => [t.name, t]));

function tableOf(name: string): Table {
  const t = byName.get(name);
  if (!t) throw new Error(`no table ${name}`);
  return t;
}

function columnOf(t: Table, field: string) {
  const c = t.columns[field];
  if (!c) throw new Error(`table ${t.name} has no field ${field}`);
  return c;
}

/** WHERE conditions of `where`, their values appended to `values`. */
function conditions(t: Table, where: Record<string, unknown>, values: unknown[]): string {
  const parts = Object.entries(where).map(([field, cond]) => {
    const c = columnOf(t, field);
    const p = (v: unknown) => (values.push(valueFor(c, v)), paramFor(c, `$${values.length}`));
    const name = `t."${c.column}"`;
    if (cond === null) return `${name} IS NULL`;
    if (c.type === "json" || c.type === "jsonb") throw new Error(`${t.name}.${field}: compare a JSON column in SQL (e.g. countSessionsOf)`);
    if (cond && typeof cond === "object" && !(cond instanceof Date) && !Array.isArray(cond)) {
      const o = cond as { in?: unknown[]; lt?: unknown; startsWith?: string };
      if (o.in) return o.in.length ? `${name} IN (${o.in.map(p).join(", ")})` : "false";
      if ("lt" in o) return `${name} < ${p(o.lt)}`;
      if (o.startsWith !== undefined) return `starts_with(${name}::text, $${values.push(o.startsWith)})`;
    }
    return `${name} = ${p(cond)}`;
  });
  return parts.length ? `WHERE ${parts.join(" AND ")}` : "";
}

/** The rows of table `name` matching `where` (ordered by `orderBy` when given). */
export async function findRows<N extends TableName>(q: Queryable, name: N, where: Where<N> = {}, orderBy?: keyof RowOf<N> & string): Promise<RowOf<N>[]> {
  const t = tableOf(name);
  const values: unknown[] = [];
  const order = orderBy ? ` ORDER BY t."${columnOf(t, orderBy).column}"` : "";
  const { rows } = await q.query<RowOf<N>>(`SELECT ${selectFields(t, "t")} FROM ${t.name} t ${conditions(t, where, values)}${order}`, values);
  return rows;
}

/** The row of table `name` matching `where`, or null (the first of several). */
export async function findRow<N extends TableName>(q: Queryable, name: N, where: Where<N>): Promise<RowOf<N> | null> {
  return (await findRows(q, name, where))[0] ?? null;
}

/** The row of table `name` matching `where`; throws when there is none. */
export async function getRow<N extends TableName>(q: Queryable, name: N, where: Where<N>): Promise<RowOf<N>> {
  const row = await findRow(q, name, where);
  if (!row) throw new Error(`no ${name} row where ${JSON.stringify(where)}`);
  return row;
}

export async function countRows<N extends TableName>(q: Queryable, name: N, where: Where<N> = {}): Promise<number> {
  const t = tableOf(name);
  const values: unknown[] = [];
  const { rows } = await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t.name} t ${conditions(t, where, values)}`, values);
  return rows[0]!.n;
}

/** Sets the fields of `data` on the rows matching `where`; returns how many. */
export async function updateRows<N extends TableName>(q: Queryable, name: N, where: Where<N>, data: Partial<RowOf<N>>): Promise<number> {
  const t = tableOf(name);
  const values: unknown[] = [];
  const sets = Object.entries(data).map(([field, v]) => {
    const c = columnOf(t, field);
    values.push(valueFor(c, v));
    return `"${c.column}" = ${paramFor(c, `$${values.length}`)}`;
  });
  const { rowCount } = await q.query(`UPDATE ${t.name} t SET ${sets.join(", ")} ${conditions(t, where, values)}`, values);
  return rowCount ?? 0;
}

/** Inserts a row (columns left out get their defaults). */
export async function insertRow<N extends TableName>(q: Queryable, name: N, data: Partial<RowOf<N>>): Promise<void> {
  const t = tableOf(name);
  const fields = Object.keys(data);
  const values = fields.map((f) => valueFor(columnOf(t, f), (data as Record<string, unknown>)[f]));
  await q.query(
    `INSERT INTO ${t.name} (${fields.map((f) => `"${columnOf(t, f).column}"`).join(", ")}) VALUES (${fields.map((f, i) => paramFor(columnOf(t, f), `$${i + 1}`)).join(", ")})`,
    values,
  );
}

/** Deletes the rows matching `where` (every row without one); returns how many. */
export async function deleteRows<N extends TableName>(q: Queryable, name: N, where: Where<N> = {}): Promise<number> {
  const t = tableOf(name);
  const values: unknown[] = [];
  const { rowCount } = await q.query(`DELETE FROM ${t.name} t ${conditions(t, where, values)}`, values);
  return rowCount ?? 0;
}

/** How many app sessions (table session) are of user `userId`. */
export async function countSessionsOf(q: Queryable, userId: string): Promise<number> {
  const { rows } = await q.query<{ n: number }>("SELECT count(*)::int AS n FROM session WHERE sess->>'userId' = $1", [userId]);
  return rows[0]!.n;
}
