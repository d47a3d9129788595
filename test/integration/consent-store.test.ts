// An approval of a consent step is one statement (the database function record_consent),
// against real PostgreSQL: the merge is mergeScopes', the history is exact, concurrent approvals
// lose nothing, and a replayed challenge, a deleted or a disabled account write nothing.
import type { Pool } from "pg";
import { createPool } from "../../src/services/db";
import { createStore, type Store } from "../../src/services/store";
import { mergeScopes } from "../../src/decisions/consent";
import { createDatabase, databaseUrl, dropDatabase, recordStatements, uniqueName } from "../support/pg";

jest.setTimeout(60_000);

let dbName: string;
let pool: Pool;
let store: Store;
let statements: string[] = [];

beforeAll(async () => {
  dbName = uniqueName("consent_store");
  await createDatabase(dbName, process.env.TEST_APP_DB_TEMPLATE);
  pool = createPool(databaseUrl(dbName), { max: 12 });
  recordStatements(pool, (text) => statements.push(text));
  store = createStore({ pool });
  await pool.query("INSERT INTO audiences (id, display_name, token_audience, created_at, updated_at) VALUES ('aud', 'Aud', '{https://api}', now(), now())");
});
afterAll(async () => {
  await pool?.end();
  await dropDatabase(dbName);
});

let n = 0;
async function newUser(disabled = false): Promise<string> {
  n++;
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO users (id, email, email_normalized, password_hash, disabled_at, created_at, updated_at)
     VALUES (gen_random_uuid(), $1, $1, 'x', $2, now(), now()) RETURNING id`,
    [`u${n}@example.test`, disabled ? new Date() : null],
  );
  return rows[0]!.id;
}
const stored = async (userId: string) =>
  (await pool.query<{ scopes: string[]; client_ids: string[] }>("SELECT scopes, client_ids FROM consents WHERE user_id = $1::uuid AND audience_id = 'aud'", [userId])).rows[0];
const events = async (userId: string) =>
  (await pool.query<{ action: string; client_id: string; scopes_added: string[] }>("SELECT action, client_id, scopes_added FROM consent_events WHERE user_id = $1::uuid ORDER BY id", [userId])).rows;

describe("record_consent merges like mergeScopes", () => {
  const cases: [string, string[], string[]][] = [
    ["a first approval", [], ["openid", "email"]],
    ["duplicates in the approval", [], ["openid", "email", "openid"]],
    ["nothing new", ["openid", "email"], ["email"]],
    ["new scopes after old ones, in the approved order", ["openid", "email"], ["profile", "email", "orders.read", "profile"]],
    ["an empty approval", ["openid"], []],
  ];
  test.each(cases)("%s", async (_title, before, approved) => {
    const user = await newUser();
    if (before.length) expect((await store.recordConsent(user, "aud", "c-before", before)).outcome).toBe("recorded");
    statements = [];
    const result = await store.recordConsent(user, "aud", "c1", approved);
    expect(statements).toHaveLength(1);
    const expected = mergeScopes(before, approved);
    expect(result).toMatchObject({ outcome: "recorded", user: { id: user }, scopes: expected.scopes, added: expected.added });
    expect((await stored(user))!.scopes).toEqual(expected.scopes);
    expect((await stored(user))!.client_ids).toEqual(before.length ? ["c-before", "c1"] : ["c1"]);
    const history = await events(user);
    const own = history.filter((e) => e.client_id === "c1");
    expect(own).toEqual(expected.added.length ? [{ action: before.length ? "MERGE" : "GRANT", client_id: "c1", scopes_added: expected.added }] : []);
  });
});

test("the challenge is claimed with the approval: a replay writes nothing", async () => {
  const user = await newUser();
  const first = await store.recordConsent(user, "aud", "c1", ["openid"], { claimChallenge: "challenge-1" });
  expect(first.outcome).toBe("recorded");
  const replay = await store.recordConsent(user, "aud", "c2", ["openid", "email"], { claimChallenge: "challenge-1" });
  expect(replay.outcome).toBe("handled");
  expect(await stored(user)).toEqual({ scopes: ["openid"], client_ids: ["c1"] });
  expect(await events(user)).toHaveLength(1);
});

test("a deleted or disabled account: nothing is written and the challenge stays unclaimed", async () => {
  const disabled = await newUser(true);
  const r = await store.recordConsent(disabled, "aud", "c1", ["openid"], { claimChallenge: "challenge-disabled" });
  expect(r).toMatchObject({ outcome: "disabled", user: { id: disabled } });
  expect(r.user?.disabledAt).toBeInstanceOf(Date);
  expect(await stored(disabled)).toBeUndefined();
  expect(await store.claimChallenge("consent", "challenge-disabled")).toBe(true);

  const gone = await store.recordConsent("00000000-0000-4000-8000-000000000001", "aud", "c1", ["openid"], { claimChallenge: "challenge-gone" });
  expect(gone).toEqual({ outcome: "no_user", user: null });
  expect(await store.claimChallenge("consent", "challenge-gone")).toBe(true);
  expect((await store.recordConsent("not-a-uuid", "aud", "c1", ["openid"])).outcome).toBe("no_user");
});

test("concurrent approvals lose no scope, and the history names each scope once", async () => {
  const user = await newUser();
  const approvals = Array.from({ length: 10 }, (_, i) => ({ client: `c${i % 3}`, scopes: ["openid", `s${i}`, `s${(i + 1) % 10}`] }));
  const results = await Promise.all(approvals.map((a) => store.recordConsent(user, "aud", a.client, a.scopes)));
  expect(results.every((r) => r.outcome === "recorded")).toBe(true);
  const all = ["openid", ...Array.from({ length: 10 }, (_, i) => `s${i}`)];
  const row = (await stored(user))!;
  expect([...row.scopes].sort()).toEqual([...all].sort());
  expect(new Set(row.scopes).size).toBe(row.scopes.length);
  expect([...row.client_ids].sort()).toEqual(["c0", "c1", "c2"]);
  const history = await events(user);
  expect(history.filter((e) => e.action === "GRANT")).toHaveLength(1);
  expect(history.flatMap((e) => e.scopes_added).sort()).toEqual([...all].sort());
});

test("the approval commits durably although the pool commits asynchronously", async () => {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("SELECT * FROM record_consent($1::uuid, 'aud', 'c1', '{openid}', NULL, '{}', NULL)", [await newUser()]);
    expect((await client.query<{ s: string }>("SELECT current_setting('synchronous_commit') AS s")).rows[0]!.s).toBe("on");
    await client.query("ROLLBACK");
  } finally {
    client.release();
  }
  expect((await pool.query<{ s: string }>("SELECT current_setting('synchronous_commit') AS s")).rows[0]!.s).toBe("off");
});

describe("statements that read the browser's session alongside (Deps.loadSessionWith)", () => {
  async function sessionOf(userId: string | null): Promise<string> {
    const sid = `sid-${++n}`;
    const sess = { cookie: { originalMaxAge: 3600_000, expires: new Date(Date.now() + 3600_000).toISOString(), httpOnly: true, path: "/" }, ...(userId ? { userId } : {}), csrfToken: `t${n}` };
    await pool.query("INSERT INTO session (sid, sess, expire) VALUES ($1, $2::json, now() + interval '1 hour')", [sid, JSON.stringify(sess)]);
    return sid;
  }
  test.each([
    { what: "no session (a new browser)", who: null, claims: true },
    { what: "the subject's own session", who: "self", claims: true },
    { what: "a session nobody signed in to", who: "anonymous", claims: true },
    { what: "a session of another user", who: "other", claims: false },
  ] as const)("consentContext with $what: the silent step claimed: $claims; the session returned", async ({ who, claims }) => {
    const user = await newUser();
    await store.recordConsent(user, "aud", "c-x", ["openid"]);
    const other = await newUser();
    const sid = who === null ? null : await sessionOf(who === "self" ? user : who === "other" ? other : null);
    const challenge = `ctx-${n}-${who}`;
    statements = [];
    const found = await store.consentContext(user, "aud", challenge, { always: false, ifGranted: ["openid"], optional: [] }, sid);
    expect(statements).toHaveLength(1); // one round trip for both
    expect(found.claimed).toBe(claims);
    expect(found.grantedScopes).toEqual(["openid"]);
    if (sid) expect(found.session).toMatchObject({ csrfToken: expect.any(String) });
    else expect(found.session).toBeNull();
    // A refused browser leaves the challenge unclaimed: the person it belongs to can still answer it.
    expect((await store.consentContext(user, "aud", challenge, { always: true, ifGranted: null, optional: [] })).handled).toBe(claims);
  });

  test("an expired session is not read", async () => {
    const user = await newUser();
    const sid = await sessionOf(user);
    await pool.query("UPDATE session SET expire = now() - interval '1 second' WHERE sid = $1", [sid]);
    expect((await store.consentContext(user, "aud", `exp-${n}`, null, sid)).session).toBeNull();
    expect((await store.isChallengeHandledWithSession("login", `exp-${n}`, sid)).session).toBeNull();
  });

  test("the login page's replay check and the sign-in attempt read the session in their statement", async () => {
    const user = await newUser();
    const email = `u${n}@example.test`;
    const sid = await sessionOf(user);
    statements = [];
    expect(await store.isChallengeHandledWithSession("login", "never-answered", sid)).toEqual({ handled: false, session: expect.objectContaining({ userId: user }) });
    await store.claimChallenge("login", "answered-once");
    expect((await store.isChallengeHandledWithSession("login", "answered-once", null)).handled).toBe(true);
    const attempt = await store.attemptSignIn(email, { keys: [], rows: [`k-${n}`], now: Date.now(), durationsMs: [60_000] }, sid);
    expect(attempt.user?.id).toBe(user);
    expect(attempt.counted).toHaveLength(1);
    expect(attempt.session).toMatchObject({ userId: user });
    expect(statements).toHaveLength(4); // one each (the claim included)
  });
  type Sess = (self: string, other: string) => Record<string, unknown> | null;
  test.each<{ what: string; sess: Sess; csrf: string | null; expired?: boolean; outcome: "recorded" | "refused" }>([
    { what: "the subject's session with the form's token", sess: (self) => ({ userId: self, csrfToken: "tok-1" }), csrf: "tok-1", outcome: "recorded" },
    { what: "a session nobody signed in to", sess: () => ({ csrfToken: "tok-1" }), csrf: "tok-1", outcome: "recorded" },
    { what: "an empty userId (nobody's, as guardConsent reads it)", sess: () => ({ userId: "", csrfToken: "tok-1" }), csrf: "tok-1", outcome: "recorded" },
    { what: "another token", sess: (self) => ({ userId: self, csrfToken: "tok-1" }), csrf: "tok-2", outcome: "refused" },
    { what: "the token in other letter case", sess: (self) => ({ userId: self, csrfToken: "tok-1" }), csrf: "TOK-1", outcome: "refused" },
    { what: "no token in the form", sess: (self) => ({ userId: self, csrfToken: "tok-1" }), csrf: null, outcome: "refused" },
    { what: "an empty token against a session without one", sess: (self) => ({ userId: self }), csrf: "", outcome: "refused" },
    { what: "a stored token that is not a string", sess: (self) => ({ userId: self, csrfToken: 5 }), csrf: "5", outcome: "refused" },
    { what: "another user's session", sess: (_self, other) => ({ userId: other, csrfToken: "tok-1" }), csrf: "tok-1", outcome: "refused" },
    { what: "an expired session", sess: (self) => ({ userId: self, csrfToken: "tok-1" }), csrf: "tok-1", expired: true, outcome: "refused" },
    { what: "no session", sess: () => null, csrf: "tok-1", outcome: "refused" },
  ])("recordConsentInSession with $what: $outcome", async ({ sess, csrf, expired, outcome }) => {
    const user = await newUser();
    const other = await newUser();
    const data = sess(user, other);
    let sid: string | null = null;
    if (data) {
      sid = `sid-${++n}`;
      const cookie = { originalMaxAge: 3600_000, expires: new Date(Date.now() + 3600_000).toISOString(), httpOnly: true, path: "/" };
      await pool.query(`INSERT INTO session (sid, sess, expire) VALUES ($1, $2::json, now() + interval '${expired ? "-1 second" : "1 hour"}')`, [sid, JSON.stringify({ cookie, ...data })]);
    }
    const challenge = `in-session-${n}`;
    statements = [];
    const result = await store.recordConsentInSession(sid, csrf, user, "aud", "c1", ["openid", "email"], challenge);
    expect(statements).toHaveLength(1); // the session, the gate and the approval: one round trip
    expect(result.outcome).toBe(outcome);
    if (data && !expired) expect(result.session).toMatchObject(data);
    else expect(result.session).toBeNull();
    if (outcome === "recorded") {
      expect(result).toMatchObject({ user: { id: user }, scopes: ["openid", "email"], added: ["openid", "email"] });
      expect(await stored(user)).toEqual({ scopes: ["openid", "email"], client_ids: ["c1"] });
      // The challenge was claimed with it: the same approval again is a replay.
      expect((await store.recordConsentInSession(sid, csrf, user, "aud", "c1", ["openid"], challenge)).outcome).toBe("handled");
    } else {
      // Nothing written: no consent, no history, the challenge still open for the right browser.
      expect(await stored(user)).toBeUndefined();
      expect(await events(user)).toEqual([]);
      expect((await store.recordConsent(user, "aud", "c1", ["openid"], { claimChallenge: challenge })).outcome).toBe("recorded");
    }
  });
});
