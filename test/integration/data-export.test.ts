// "Download my data": the export holds every table's rows about the user, and nothing of anyone
// else, and no secret (hashes, sealed secrets, public keys, the outbox's mail data). Every table of
// the schema that names a user is exported (a new one fails here until it is).
import type { Pool } from "pg";
import { createStore, EXPORTED_TABLES, type Store } from "../../src/services/store";
import { TABLES } from "../../src/store/tables";
import { userExport, EXPORT_FORMAT } from "../../src/flows/data-export";
import { freshDatabase } from "../support/flow-db";

jest.setTimeout(60_000);

let db: Awaited<ReturnType<typeof freshDatabase>>;
let pool: Pool;
let store: Store;

beforeAll(async () => {
  db = await freshDatabase("data_export");
  pool = db.pool;
  store = createStore({ pool });
  await pool.query("INSERT INTO audiences (id, display_name, token_audience, created_at, updated_at) VALUES ('shop', 'The Shop', 'https://shop', now(), now())");
  await pool.query("INSERT INTO clients (id, audience_id, created_at, updated_at) VALUES ('shop-web', 'shop', now(), now())");
});
afterAll(async () => db?.drop());

/** A user with a row in every table that names users; `tag` marks every value so that another user's can be told apart. */
async function userWithEverything(tag: string): Promise<{ id: string; email: string; secrets: string[] }> {
  const email = `${tag}@example.com`;
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO users (id, email, email_normalized, email_verified, password_hash, name, attributes, created_at, updated_at)
     VALUES (gen_random_uuid(), $1, $1, true, $2, $3, $4::jsonb, now(), now()) RETURNING id`,
    [email, `argon2-hash-${tag}`, `Name ${tag}`, JSON.stringify({ team: `team-${tag}` })],
  );
  const id = rows[0]!.id;
  const q = (sql: string, params: unknown[] = []) => pool.query(sql, [id, tag, ...params]);
  await q("INSERT INTO consents (id, user_id, audience_id, scopes, client_ids, created_at, updated_at) VALUES (gen_random_uuid(), $1, 'shop', ARRAY['openid', 'scope-' || $2], ARRAY['shop-web'], now(), now())");
  await q("INSERT INTO consent_events (user_id, audience_id, client_id, action, scopes_added, scopes_removed, created_at) VALUES ($1, 'shop', 'shop-web', 'GRANT', ARRAY['scope-' || $2], '{}', now())");
  await q("INSERT INTO invitations (id, audience_id, code_hash, email, expires_at, used_at, used_by_user_id, created_at) VALUES (gen_random_uuid(), 'shop', 'invitation-hash-' || $2, NULL, now() + interval '1 day', now(), $1, now())");
  await q("INSERT INTO one_time_tokens (id, kind, token_hash, code_hash, attempts, user_id, email, expires_at, created_at) VALUES (gen_random_uuid(), 'VERIFY_EMAIL', 'token-hash-' || $2, 'code-hash-' || $2, 0, $1, $2 || '@example.com', now() + interval '1 day', now())");
  await q(`INSERT INTO outbox ("to", user_id, template, data, attempts, next_attempt_at, created_at) VALUES ($2 || '@example.com', $1, 'verify-email', jsonb_build_object('link', 'mail-link-' || $2), 0, now(), now())`);
  await q(`INSERT INTO session (sid, sess, expire) VALUES ('sid-' || $2, json_build_object('userId', $1::text, 'csrfToken', 'csrf-' || $2), now() + interval '1 day')`);
  await q("INSERT INTO totp_factors (user_id, secret, confirmed_at, created_at) VALUES ($1, 'v1.sealed-' || $2, now(), now())");
  await q("INSERT INTO recovery_codes (id, user_id, code_hash, used_at, created_at) VALUES (gen_random_uuid(), $1, 'recovery-hash-' || $2, NULL, now()), (gen_random_uuid(), $1, 'recovery-hash-used-' || $2, now(), now())");
  await q("INSERT INTO passkeys (id, user_id, credential_id, public_key, counter, transports, device_type, backed_up, name, created_at) VALUES (gen_random_uuid(), $1, 'credential-' || $2, 'public-key-' || $2, 3, ARRAY['internal'], 'multiDevice', true, 'Laptop of ' || $2, now())");
  await q("INSERT INTO login_session_strength (session_id, user_id, acr, amr, created_at) VALUES ('hydra-session-' || $2, $1, 'aal2', ARRAY['pwd', 'otp', 'mfa'], now())");
  await q("INSERT INTO account_sessions (id, user_id, login_session_id, app_session_id, user_agent, ip_prefix, remembered_until, signed_in_at, last_seen_at) VALUES (gen_random_uuid(), $1, 'hydra-login-' || $2, 'sid-' || $2, 'Firefox of ' || $2, '203.0.113.0/24', NULL, now(), now())");
  await q("INSERT INTO account_events (user_id, kind, detail, created_at) VALUES ($1, 'sign_in', jsonb_build_object('browser', 'Firefox', 'network', '203.0.113.0/24', 'client', 'shop-web', 'of', $2::text), now())");
  const secrets = ["argon2-hash-", "invitation-hash-", "token-hash-", "code-hash-", "mail-link-", "csrf-", "sealed-", "recovery-hash-", "public-key-", "credential-", "sid-", "hydra-session-", "hydra-login-"].map((s) => s + tag);
  return { id, email, secrets };
}

test("every table whose rows name a user is in the export", () => {
  const naming = TABLES.filter((t) => Object.values(t.columns).some((c) => c.column === "user_id" || c.column === "used_by_user_id")).map((t) => t.name);
  const expected = [...naming, "users", "session"].sort();
  expect(Object.keys(EXPORTED_TABLES).sort()).toEqual(expected);
});

test("the export holds each table's rows of the user, nothing of anyone else, and no secret", async () => {
  const ada = await userWithEverything("ada");
  const bob = await userWithEverything("bob");
  const data = (await userExport(store, ada.id, new Date("2026-12-07T20:00:00Z")))!;
  expect(data).toMatchObject({
    format: EXPORT_FORMAT,
    exportedAt: "2026-12-07T20:00:00.000Z",
    profile: { id: ada.id, email: ada.email, name: "Name ada", emailVerified: true, attributes: { team: "team-ada" } },
    consents: [{ audience: "shop", audienceName: "The Shop", scopes: ["openid", "scope-ada"], clients: ["shop-web"] }],
    consentHistory: [{ audience: "shop", client: "shop-web", action: "GRANT", scopesAdded: ["scope-ada"], scopesRemoved: [] }],
    invitationsUsed: [{ audience: "shop" }],
    mailLinks: [{ kind: "VERIFY_EMAIL", email: "ada@example.com" }],
    mail: [{ to: "ada@example.com", template: "verify-email" }],
    sessions: [{ expires: expect.any(String) }],
    authenticatorApp: { confirmedAt: expect.any(String) },
    recoveryCodes: { left: 1, used: [expect.any(String)] },
    passkeys: [{ name: "Laptop of ada", synced: true, backedUp: true }],
    signInStrengths: [{ acr: "aal2", amr: ["pwd", "otp", "mfa"] }],
    signedIn: [{ userAgent: "Firefox of ada", network: "203.0.113.0/24", rememberedUntil: null }],
    activity: [{ kind: "sign_in", detail: { browser: "Firefox", network: "203.0.113.0/24", client: "shop-web", of: "ada" } }],
  });
  for (const key of Object.values(EXPORTED_TABLES)) expect({ key, value: data[key] }).not.toEqual({ key, value: null });
  const text = JSON.stringify(data);
  for (const other of [bob.id, bob.email, "bob"]) expect(text).not.toContain(other);
  for (const secret of ada.secrets) expect(text).not.toContain(secret);
});

test("a user with nothing but the account: empty lists, and no export for an unknown id", async () => {
  const { rows } = await pool.query<{ id: string }>(
    "INSERT INTO users (id, email, email_normalized, password_hash, created_at, updated_at) VALUES (gen_random_uuid(), 'lone@example.com', 'lone@example.com', 'h', now(), now()) RETURNING id",
  );
  const data = (await userExport(store, rows[0]!.id))!;
  expect(data).toMatchObject({ consents: [], consentHistory: [], sessions: [], passkeys: [], authenticatorApp: null, recoveryCodes: { left: 0, used: [] }, signedIn: [], activity: [] });
  expect(await userExport(store, "00000000-0000-0000-0000-000000000000")).toBeNull();
});
