// Where a person is signed in and what happened to the account (src/store/account-activity.ts)
// against real PostgreSQL: a sign-in's place, event and new-browser notice ride in the one statement
// that saves its session (a replayed step writes none of them); a remembered sign-in's "last seen"
// rides in its challenge's claim; ending a place takes its app session with it; the activity lists
// events and consent history newest first; pruning keeps what is recent.
import type { Pool } from "pg";
import { createStore, signInWrites, type Store } from "../../src/services/store";
import { saveSession } from "../../src/store/sessions";
import { claimChallengeStatement } from "../../src/store/challenges";
import { FlowAlreadyHandledError } from "../../src/services/hydra";
import { freshDatabase } from "../support/flow-db";
import { recordStatements } from "../support/pg";

jest.setTimeout(60_000);

let db: Awaited<ReturnType<typeof freshDatabase>>;
let pool: Pool;
let store: Store;
let statements: string[] = [];

beforeAll(async () => {
  db = await freshDatabase("account_activity");
  pool = db.pool;
  recordStatements(pool, (text) => statements.push(text));
  store = createStore({ pool });
});
afterAll(async () => db?.drop());

let n = 0;
async function user(verified = true): Promise<string> {
  n++;
  const { rows } = await pool.query<{ id: string }>(
    "INSERT INTO users (id, email, email_normalized, email_verified, password_hash, name, created_at, updated_at) VALUES (gen_random_uuid(), $1, $1, $2, 'h', 'Ada', now(), now()) RETURNING id",
    [`person${n}@example.test`, verified],
  );
  return rows[0]!.id;
}

/** A sign-in's save as finishSignIn makes it: the session row, the challenge's claim as the gate, the sign-in's writes. */
async function signIn(o: { userId: string; sid: string; replaces?: string; loginSessionId: string; challenge: string; newBrowser?: boolean; remember?: boolean }) {
  const writes = signInWrites({
    id: crypto.randomUUID(),
    userId: o.userId,
    loginSessionId: o.loginSessionId,
    userAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    ipPrefix: "203.0.113.0/24",
    rememberedUntil: o.remember ? new Date(Date.now() + 3_600_000) : null,
    event: { userId: o.userId, kind: "sign_in", detail: { methods: ["pwd"], browser: "Firefox", os: "Linux", network: "203.0.113.0/24" } },
    notice: o.newBrowser ? { template: "new-sign-in", data: JSON.stringify({ lng: "en", when: new Date().toISOString() }) } : undefined,
  });
  const gate = { sql: claimChallengeStatement("login", o.challenge), refused: () => new FlowAlreadyHandledError(undefined) };
  await saveSession(pool, { sid: o.sid, sess: JSON.stringify({ userId: o.userId }), expire: new Date(Date.now() + 3_600_000), replaces: o.replaces }, { gate, writes });
}
const count = async (sql: string, params: unknown[]) => (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params)).rows[0]!.n;
const notices = (userId: string) => count("outbox WHERE user_id = $1::uuid AND template = 'new-sign-in'", [userId]);

test("a sign-in's place, event and notice are written in the one statement that saves its session; a replay writes nothing", async () => {
  const ada = await user();
  statements = [];
  await signIn({ userId: ada, sid: "app-1", loginSessionId: "hydra-1", challenge: "c-1", newBrowser: true });
  expect(statements).toHaveLength(1);
  const places = await store.listAccountSessions(ada);
  expect(places).toEqual([expect.objectContaining({ appSessionId: "app-1", ipPrefix: "203.0.113.0/24", remembered: false })]);
  expect(places[0]!.userAgent).toContain("Firefox");
  // The account's first sign-in is new everywhere: no notice.
  expect(await notices(ada)).toBe(0);

  await expect(signIn({ userId: ada, sid: "app-2", loginSessionId: "hydra-2", challenge: "c-1", newBrowser: true })).rejects.toBeInstanceOf(FlowAlreadyHandledError);
  expect(await count("account_sessions WHERE user_id = $1::uuid", [ada])).toBe(1);
  expect(await count("account_events WHERE user_id = $1::uuid", [ada])).toBe(1);

  // A later sign-in from a new browser: the notice, to the confirmed address, named.
  statements = [];
  await signIn({ userId: ada, sid: "app-2", loginSessionId: "hydra-2", challenge: "c-2", newBrowser: true, remember: true });
  expect(statements).toHaveLength(1);
  const { rows } = await pool.query<{ to: string; data: Record<string, unknown> }>(`SELECT "to", data FROM outbox WHERE user_id = $1::uuid AND template = 'new-sign-in'`, [ada]);
  expect(rows).toEqual([{ to: expect.stringMatching(/^person\d+@example\.test$/), data: expect.objectContaining({ lng: "en", name: "Ada", email: rows[0]!.to }) }]);
  // A known browser: no notice.
  await signIn({ userId: ada, sid: "app-3", loginSessionId: "hydra-3", challenge: "c-3" });
  expect(await notices(ada)).toBe(1);
  expect((await store.listAccountSessions(ada)).map((p) => p.appSessionId).sort()).toEqual(["app-1", "app-2", "app-3"]);
});

test("no notice to an address nobody confirmed", async () => {
  const bob = await user(false);
  await signIn({ userId: bob, sid: "b-1", loginSessionId: "hydra-b1", challenge: "b-1" });
  await signIn({ userId: bob, sid: "b-2", loginSessionId: "hydra-b2", challenge: "b-2", newBrowser: true });
  expect(await notices(bob)).toBe(0);
});

test("signing in again in a browser: the same Hydra session keeps one place, another one replaces the browser's place", async () => {
  const ada = await user();
  await signIn({ userId: ada, sid: "r-1", loginSessionId: "hydra-r1", challenge: "r-1" });
  await signIn({ userId: ada, sid: "r-2", replaces: "r-1", loginSessionId: "hydra-r1", challenge: "r-2" });
  expect((await store.listAccountSessions(ada)).map((p) => p.appSessionId)).toEqual(["r-2"]);
  await signIn({ userId: ada, sid: "r-3", replaces: "r-2", loginSessionId: "hydra-r3", challenge: "r-3" });
  expect((await store.listAccountSessions(ada)).map((p) => p.appSessionId)).toEqual(["r-3"]);
  expect(await count("account_sessions WHERE user_id = $1::uuid", [ada])).toBe(1);
});

test("a remembered sign-in's last seen rides in its claim; a replayed claim changes nothing", async () => {
  const ada = await user();
  await signIn({ userId: ada, sid: "s-1", loginSessionId: "hydra-s1", challenge: "s-1", remember: true });
  await pool.query("UPDATE account_sessions SET last_seen_at = now() - interval '1 day' WHERE login_session_id = 'hydra-s1'");
  statements = [];
  expect(await store.claimSkippedSignIn("skip-1", "hydra-s1", ada)).toBe(true);
  expect(statements).toHaveLength(1);
  const seen = (await store.listAccountSessions(ada))[0]!.lastSeenAt;
  expect(Date.now() - seen.getTime()).toBeLessThan(60_000);
  await pool.query("UPDATE account_sessions SET last_seen_at = now() - interval '1 day' WHERE login_session_id = 'hydra-s1'");
  expect(await store.claimSkippedSignIn("skip-1", "hydra-s1", ada)).toBe(false);
  expect(Date.now() - (await store.listAccountSessions(ada))[0]!.lastSeenAt.getTime()).toBeGreaterThan(3_600_000);
});

test("ending a place deletes its app session and tells the activity; a sign-out forgets its place; the other sessions' end forgets theirs", async () => {
  const ada = await user();
  await signIn({ userId: ada, sid: "e-1", loginSessionId: "hydra-e1", challenge: "e-1" });
  await signIn({ userId: ada, sid: "e-2", loginSessionId: "hydra-e2", challenge: "e-2", remember: true });
  await signIn({ userId: ada, sid: "e-3", loginSessionId: "hydra-e3", challenge: "e-3", remember: true });
  const byApp = async (sid: string) => (await store.listAccountSessions(ada)).find((p) => p.appSessionId === sid)!;
  const first = await byApp("e-1");
  expect(await store.getAccountSession(ada, first.id)).toMatchObject({ loginSessionId: "hydra-e1", appSessionId: "e-1" });
  expect(await store.getAccountSession(await user(), first.id)).toBeNull(); // someone else's: not found
  expect(await store.endAccountSession(ada, first.id, { userId: ada, kind: "session_ended", detail: { browser: "Firefox" } })).toBe(true);
  expect(await count("session WHERE sid = 'e-1'", [])).toBe(0);
  expect((await store.listActivity(ada, 0, 10))[0]).toMatchObject({ kind: "session_ended" });

  // This browser's sign-out (express-session's destroy) takes its place, remembered or not.
  const { PgSessionStore } = await import("../../src/services/sessions");
  const sessions = new PgSessionStore(pool, { ttlSeconds: 3600 });
  await new Promise<void>((resolve, reject) => sessions.destroy("e-2", (err) => (err ? reject(err) : resolve())));
  sessions.close();
  expect((await store.listAccountSessions(ada)).map((p) => p.appSessionId)).toEqual(["e-3"]);

  // A password change elsewhere: the others go, this browser stays while its app session lives.
  await signIn({ userId: ada, sid: "e-4", loginSessionId: "hydra-e4", challenge: "e-4", remember: true });
  await store.endUserSessionsExcept(ada, "e-4");
  expect(await store.listAccountSessions(ada)).toEqual([expect.objectContaining({ appSessionId: "e-4", remembered: false })]);
  await store.endUserSessions(ada);
  expect(await store.listAccountSessions(ada)).toEqual([]);
});

test("the activity: events and consent history newest first, paged; pruning keeps the recent ones and the live places", async () => {
  const ada = await user();
  await pool.query("INSERT INTO audiences (id, display_name, token_audience, created_at, updated_at) VALUES ('shop', 'The Shop', '{https://shop}', now(), now()) ON CONFLICT DO NOTHING");
  await store.recordActivity({ userId: ada, kind: "password_changed" });
  await pool.query("INSERT INTO consent_events (user_id, audience_id, client_id, action, scopes_added, scopes_removed, created_at) VALUES ($1, 'shop', 'shop-web', 'GRANT', ARRAY['openid', 'orders'], '{}', now() + interval '1 second')", [ada]);
  await pool.query("INSERT INTO account_events (user_id, kind, detail, created_at) VALUES ($1, 'sign_in', '{}', now() - interval '100 days')", [ada]);
  const all = await store.listActivity(ada, 0, 10);
  expect(all.map((e) => e.kind)).toEqual(["consent_granted", "password_changed", "sign_in"]);
  expect(all[0]!.detail).toEqual({ audience: "The Shop", client: "shop-web", scopes: ["openid", "orders"] });
  expect((await store.listActivity(ada, 1, 1)).map((e) => e.kind)).toEqual(["password_changed"]);

  expect(await store.pruneActivity(90)).toBeGreaterThanOrEqual(1);
  expect((await store.listActivity(ada, 0, 10)).map((e) => e.kind)).toEqual(["consent_granted", "password_changed"]);

  // A place whose app session expired and that Hydra does not remember goes; a remembered one stays.
  await signIn({ userId: ada, sid: "p-1", loginSessionId: "hydra-p1", challenge: "p-1" });
  await signIn({ userId: ada, sid: "p-2", loginSessionId: "hydra-p2", challenge: "p-2", remember: true });
  await pool.query("UPDATE session SET expire = now() - interval '1 minute' WHERE sid IN ('p-1', 'p-2')");
  await store.pruneAccountSessions();
  expect((await pool.query<{ login_session_id: string }>("SELECT login_session_id FROM account_sessions WHERE user_id = $1::uuid", [ada])).rows).toEqual([{ login_session_id: "hydra-p2" }]);
});
