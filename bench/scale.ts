// `npm run bench -- --scale`: fills the app's database with 1k → 100k → 1M consents over 10k
// audiences (INSERT … SELECT generate_series), with what the schema and a real deployment put next
// to them: the audiences, one client, one scope and one claim per audience, the users (10 consents
// each) and one GRANT event per consent in the history.
import { withDb } from "./stacks";

export const FILL_AUDIENCES = 10_000;
export const CONSENTS_PER_USER = 10;
export const SCALE_SIZES = [1_000, 100_000, 1_000_000];

/** Creates the 10k audiences with their client, scope and claim (once). */
export async function fillAudiences(dbName: string): Promise<void> {
  await withDb(dbName, async (c) => {
    await c.query(`
      INSERT INTO audiences (id, display_name, token_audience, updated_at)
      SELECT 'fill-aud-' || i, 'Fill audience ' || i, 'fill-aud-' || i, now() FROM generate_series(1, ${FILL_AUDIENCES}) i`);
    await c.query(`
      INSERT INTO clients (id, audience_id, display_name, updated_at)
      SELECT 'fill-client-' || i, 'fill-aud-' || i, 'Fill client ' || i, now() FROM generate_series(1, ${FILL_AUDIENCES}) i`);
    await c.query(`
      INSERT INTO scopes (name, description, audience_id, updated_at)
      SELECT 'fill.' || i || '.read', 'Read fill data ' || i, 'fill-aud-' || i, now() FROM generate_series(1, ${FILL_AUDIENCES}) i`);
    await c.query(`
      INSERT INTO claims (name, scope, source, audience_id, updated_at)
      SELECT 'fill_' || i || '_name', 'fill.' || i || '.read', 'name', 'fill-aud-' || i, now() FROM generate_series(1, ${FILL_AUDIENCES}) i`);
  });
}

/**
 * Adds users until the database holds `consents` filler consents: user i has consents for 10
 * distinct audiences ((7·i + 1009·k) mod 10k, k = 0..9), each with its GRANT event. Then ANALYZE.
 */
export async function fillConsents(dbName: string, fromConsents: number, toConsents: number, passwordHash: string): Promise<void> {
  const first = fromConsents / CONSENTS_PER_USER + 1;
  const last = toConsents / CONSENTS_PER_USER;
  if (last < first) return;
  await withDb(dbName, async (c) => {
    await c.query("SET synchronous_commit = off");
    await c.query("SET work_mem = '256MB'");
    // The rows are consistent by construction: skip the foreign-key triggers (3× faster; needs a
    // superuser, as the tests' PostgreSQL has — else the checks simply run).
    await c.query("SET session_replication_role = replica").catch(() => undefined);
    await c.query(
      `INSERT INTO users (id, email, email_normalized, email_verified, password_hash, name, given_name, family_name, updated_at)
       SELECT md5('fill-user-' || i)::uuid, 'fill-' || i || '@fill.example', 'fill-' || i || '@fill.example', true, $1, 'Fill User ' || i, 'Fill', 'User ' || i, now()
       FROM generate_series(${first}, ${last}) i ORDER BY 1`,
      [passwordHash],
    );
    await c.query(`
      INSERT INTO consents (id, user_id, audience_id, scopes, client_ids, created_at, updated_at)
      SELECT md5('fill-consent-' || i || '-' || k)::uuid, u, 'fill-aud-' || a, ARRAY['openid', 'profile', 'fill.' || a || '.read'], ARRAY['fill-client-' || a],
             now() - (i % 1000) * interval '1 hour', now()
      FROM generate_series(${first}, ${last}) i, generate_series(0, ${CONSENTS_PER_USER - 1}) k,
           LATERAL (SELECT ((7 * i + 1009 * k) % ${FILL_AUDIENCES}) + 1 AS a, md5('fill-user-' || i)::uuid AS u) x
      ORDER BY u, 'fill-aud-' || a`);
    await c.query(`
      INSERT INTO consent_events (user_id, audience_id, client_id, action, scopes_added, scopes_removed, created_at)
      SELECT c.user_id, c.audience_id, c.client_ids[1], 'GRANT', c.scopes, '{}', c.created_at
      FROM consents c WHERE c.user_id IN (SELECT md5('fill-user-' || i)::uuid FROM generate_series(${first}, ${last}) i)
      ORDER BY c.user_id, c.audience_id, c.created_at`);
    await c.query("RESET session_replication_role");
    // What autovacuum would do soon after such a bulk insert, done now so it does not run during the measurements.
    await c.query("VACUUM (ANALYZE) users, consents, consent_events, audiences, clients, scopes, claims");
  });
}

export async function tableSizes(dbName: string): Promise<Record<string, number>> {
  return withDb(dbName, async (c) => {
    const r = await c.query<{ relname: string; n: string }>(
      "SELECT relname, GREATEST(reltuples, 0)::bigint::text AS n FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace ORDER BY relname",
    );
    return Object.fromEntries(r.rows.map((row) => [row.relname, Number(row.n)]));
  });
}
