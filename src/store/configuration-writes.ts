// The admins' configuration as the seed writes it (src/admin/apply-config.ts): the rows of tables
// audiences, clients, scopes and claims as they are, and one transaction that upserts and deletes
// them. Every write raises config_version and sends NOTIFY app_config (the migration's triggers), so
// running servers reload their configuration cache (configuration.ts).
import type { Connection, Queryable } from "./sql";
import { AUDIENCES, CLAIMS, CLIENTS, paramFor, SCOPES, selectFields, valueFor, type Row, type Table } from "./tables";

export type AudienceRow = Row<typeof AUDIENCES>;
export type ClientRow = Row<typeof CLIENTS>;
export type ScopeRow = Row<typeof SCOPES>;
export type ClaimRow = Row<typeof CLAIMS>;

/** A row to write: every column but the timestamps, which the write sets. */
type Written<R> = Omit<R, "createdAt" | "updatedAt">;

export interface ConfigurationRows {
  audiences: AudienceRow[];
  clients: ClientRow[];
  scopes: ScopeRow[];
  claims: ClaimRow[];
}

export interface ConfigurationWrites {
  audiences: Written<AudienceRow>[];
  /** `descriptions`: a JSON value (one text per language), or null. */
  scopes: Written<ScopeRow>[];
  claims: Written<ClaimRow>[];
  clients: Written<ClientRow>[];
  /** Rows to delete (by id or name), after the upserts: clients, then claims, scopes and audiences (each may be referenced by the one before). */
  remove?: { clients: string[]; claims: string[]; scopes: string[]; audiences: string[] };
}

/**
 * Inserts `row` into `t`, or updates every column of the row with the same `key`: created_at and
 * updated_at are now on insert, updated_at is now on update.
 */
async function upsert(q: Queryable, t: Table, key: string, row: Record<string, unknown>): Promise<void> {
  const fields = Object.keys(row);
  const columns = fields.map((f) => `"${t.columns[f]!.column}"`);
  const values = fields.map((f, i) => paramFor(t.columns[f]!, `$${i + 1}`));
  const keyColumn = t.columns[key]!.column;
  const updates = fields.filter((f) => f !== key).map((f) => `"${t.columns[f]!.column}" = EXCLUDED."${t.columns[f]!.column}"`);
  await q.query(
    `INSERT INTO ${t.name} (${columns.join(", ")}, created_at, updated_at) VALUES (${values.join(", ")}, now(), now())
     ON CONFLICT (${keyColumn}) DO UPDATE SET ${[...updates, "updated_at = EXCLUDED.updated_at"].join(", ")}`,
    fields.map((f) => valueFor(t.columns[f]!, row[f])),
  );
}

async function deleteAll(q: Queryable, t: Table, key: string, ids: readonly string[]): Promise<void> {
  if (ids.length) await q.query(`DELETE FROM ${t.name} WHERE ${t.columns[key]!.column} = ANY($1::text[])`, [[...ids]]);
}

/** All of `t`'s rows, in the table's own order (no ORDER BY: the seed's report lists removals in the order it always had). */
async function rowsOf<T extends Table>(q: Queryable, t: T): Promise<Row<T>[]> {
  const { rows } = await q.query<Row<T>>(`SELECT ${selectFields(t, "t")} FROM ${t.name} t`);
  return rows;
}

export function configWriteQueries({ sql, transaction }: Connection) {
  return {
    /** The configuration tables' rows as they are (what the seed plans its changes against). */
    async readConfigurationRows(): Promise<ConfigurationRows> {
      const [audiences, clients, scopes, claims] = await Promise.all([
        rowsOf(sql, AUDIENCES),
        rowsOf(sql, CLIENTS),
        rowsOf(sql, SCOPES),
        rowsOf(sql, CLAIMS),
      ]);
      return { audiences, clients, scopes, claims };
    },

    /**
     * Writes the seed's changes in one transaction (all of them or none), committed durably: the
     * admins' configuration must survive a crash of the database right after the seed said "done".
     */
    async writeConfiguration(w: ConfigurationWrites): Promise<void> {
      await transaction(async (q) => {
        for (const a of w.audiences) await upsert(q, AUDIENCES, "id", a);
        for (const s of w.scopes) await upsert(q, SCOPES, "name", s);
        for (const c of w.claims) await upsert(q, CLAIMS, "name", c);
        for (const c of w.clients) await upsert(q, CLIENTS, "id", c);
        if (w.remove) {
          await deleteAll(q, CLIENTS, "id", w.remove.clients);
          await deleteAll(q, CLAIMS, "name", w.remove.claims);
          await deleteAll(q, SCOPES, "name", w.remove.scopes);
          await deleteAll(q, AUDIENCES, "id", w.remove.audiences);
        }
      }, { durable: true });
    },
  };
}
