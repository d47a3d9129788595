// The sign-in path's own database code against real PostgreSQL — the session store
// (src/services/sessions.ts: no touch, a regenerated session replaces its old row in one statement,
// unchanged saves skipped, other writes in the save's statement) and the attempt counters
// (src/services/limits.ts: one statement per attempt, the device-cookie fallback, settling).
import type { Request } from "express";
import session from "express-session";
import type { Pool } from "pg";
import { createPool } from "../../src/services/db";
import { PgSessionStore, saveSessionWith } from "../../src/services/sessions";
import { createLimits, rowKey, type Limits } from "../../src/services/limits";
import { loadEnv } from "../../src/config/env";
import { createDatabase, databaseUrl, dropDatabase, recordStatements, uniqueName } from "../support/pg";

jest.setTimeout(60_000);

let dbName: string;
let pool: Pool;
let store: PgSessionStore;
/** Statements sent on the pool, by text (a wrapper around pool.query). */
let statements: string[] = [];

beforeAll(async () => {
  dbName = uniqueName("signin_store");
  await createDatabase(dbName, process.env.TEST_APP_DB_TEMPLATE);
  pool = createPool(databaseUrl(dbName), { max: 4 });
  recordStatements(pool, (text) => statements.push(text));
  store = new PgSessionStore(pool, { ttlSeconds: 3600 });
});
afterAll(async () => {
  store?.close();
  await pool?.end();
  await dropDatabase(dbName);
});
beforeEach(() => {
  statements = [];
});

const rows = async () => (await pool.query<{ sid: string; sess: Record<string, unknown>; expire: Date }>("SELECT sid, sess, expire FROM session ORDER BY sid")).rows;

/** A request with a session the way express-session makes one (generate/createSession). */
function fakeRequest(sid: string, data: Record<string, unknown> = {}): Request {
  const req = { sessionID: sid, sessionStore: store } as unknown as Request;
  const sess = store.createSession(req, { cookie: { originalMaxAge: 3_600_000, expires: new Date(Date.now() + 3_600_000), httpOnly: true, path: "/" }, ...data } as never);
  req.session = sess;
  (store as unknown as { generate(req: Request): void }).generate = (r: Request) => {
    r.sessionID = `regen-${Math.random().toString(36).slice(2)}`;
    r.session = new (session.Session as unknown as new (req: Request) => session.Session)(r) as Request["session"];
    r.session.cookie = new (session.Cookie as unknown as new (o: object) => session.Cookie)({ maxAge: 3_600_000 });
  };
  return req;
}

describe("session store", () => {
  test("a save writes the row with the cookie's expiry; an unchanged second save writes nothing", async () => {
    const req = fakeRequest("s-plain", { userId: "u1" });
    await saveSessionWith(req);
    const [row] = (await rows()).filter((r) => r.sid === "s-plain");
    expect(row!.sess.userId).toBe("u1");
    expect(Math.abs(row!.expire.getTime() - new Date(req.session.cookie.expires!).getTime())).toBeLessThan(1000);
    const written = statements.length;
    await saveSessionWith(req);
    expect(statements.length).toBe(written);
    req.session.userId = "u2";
    await saveSessionWith(req);
    expect(statements.length).toBe(written + 1);
    expect((await rows()).find((r) => r.sid === "s-plain")!.sess.userId).toBe("u2");
  });

  test("get returns the data of a live row and nothing for an expired or unknown one; prune deletes expired rows", async () => {
    await pool.query(`INSERT INTO session (sid, sess, expire) VALUES ('s-old', '{"userId":"x"}', now() - interval '1 minute')`);
    const get = (sid: string) => new Promise<unknown>((resolve, reject) => store.get(sid, (err, s) => (err ? reject(err) : resolve(s))));
    expect(await get("s-old")).toBeNull();
    expect(await get("nope")).toBeNull();
    expect(await get("s-plain")).toMatchObject({ userId: "u2" });
    expect(await store.prune()).toBeGreaterThanOrEqual(1);
    expect((await rows()).some((r) => r.sid === "s-old")).toBe(false);
  });

  test("there is no touch: an unmodified session costs its read only", () => {
    expect((store as unknown as { touch?: unknown }).touch).toBeUndefined();
  });

  test("a regenerated session replaces the old row in the statement that writes the new one", async () => {
    const req = fakeRequest("s-before", { invitationCode: "abc" });
    await saveSessionWith(req);
    statements = [];
    await new Promise<void>((resolve, reject) => req.session.regenerate((err) => (err ? reject(err) : resolve())));
    expect(req.sessionID).not.toBe("s-before");
    expect((await rows()).some((r) => r.sid === "s-before")).toBe(true); // nothing deleted yet
    req.session.userId = "u3";
    statements = [];
    await saveSessionWith(req);
    expect(statements).toHaveLength(1);
    const now = await rows();
    expect(now.some((r) => r.sid === "s-before")).toBe(false);
    expect(now.find((r) => r.sid === req.sessionID)!.sess).toMatchObject({ userId: "u3" });
    expect(now.find((r) => r.sid === req.sessionID)!.sess.invitationCode).toBeUndefined();
  });

  test("other writes ride in the save's statement: when the gate returns no row, neither they nor the session are written", async () => {
    const req = fakeRequest("s-tx", { userId: "u4" });
    const along = {
      gate: {
        sql: (p: (v: unknown) => string) => `INSERT INTO handled_challenges (hash, kind, handled_at) VALUES (${p("tx-test")}, 'login', now()) ON CONFLICT (hash) DO NOTHING RETURNING hash`,
        refused: () => new Error("replayed"),
      },
      writes: [(p: (v: unknown) => string, guard: string) => `INSERT INTO rate_limits (key, points, expire) SELECT ${p("tx-test-key")}::varchar, 1, NULL WHERE ${guard}`],
    };
    await pool.query("INSERT INTO handled_challenges (hash, kind, handled_at) VALUES ('tx-test', 'login', now())");
    statements = [];
    await expect(saveSessionWith(req, along)).rejects.toThrow("replayed");
    expect(statements).toHaveLength(1);
    expect((await rows()).some((r) => r.sid === "s-tx")).toBe(false);
    expect((await pool.query("SELECT 1 FROM rate_limits WHERE key = 'tx-test-key'")).rowCount).toBe(0);

    await pool.query("DELETE FROM handled_challenges WHERE hash = 'tx-test'");
    statements = [];
    await saveSessionWith(req, along);
    expect(statements).toHaveLength(1);
    expect((await rows()).find((r) => r.sid === "s-tx")!.sess).toMatchObject({ userId: "u4" });
    expect((await pool.query("SELECT 1 FROM handled_challenges WHERE hash = 'tx-test'")).rowCount).toBe(1);
    expect((await pool.query("SELECT points FROM rate_limits WHERE key = 'tx-test-key'")).rows).toEqual([{ points: 1 }]);

    // A write that fails takes the whole statement with it.
    const req2 = fakeRequest("s-tx-2", { userId: "u5" });
    await expect(saveSessionWith(req2, { writes: [(p, guard) => `INSERT INTO rate_limits (key, points, expire) SELECT ${p("tx-test-key")}::varchar, 1, NULL WHERE ${guard}`] })).rejects.toThrow(/duplicate key/);
    expect((await rows()).some((r) => r.sid === "s-tx-2")).toBe(false);
    await pool.query("DELETE FROM rate_limits WHERE key = 'tx-test-key'");
  });

  test("the pool commits asynchronously (sign-in bookkeeping; recordConsent turns it back on for a consent decision)", async () => {
    expect((await pool.query<{ synchronous_commit: string }>("SHOW synchronous_commit")).rows[0]!.synchronous_commit).toBe("off");
  });
});

describe("attempt counters", () => {
  let limits: Limits;
  const env = loadEnv({
    ...process.env,
    DATABASE_URL: "postgresql://unused",
    HYDRA_ADMIN_URL: "http://127.0.0.1:1",
    HYDRA_PUBLIC_URL: "http://127.0.0.1:1",
    APP_BASE_URL: "http://127.0.0.1:1",
    SESSION_SECRETS: "x".repeat(32),
    LOGIN_MAX_FAILURES_PER_DEVICE: "2",
    LOGIN_MAX_FAILURES_PER_ACCOUNT: "3",
    LOGIN_MAX_FAILURES_PER_IP: "100",
  } as NodeJS.ProcessEnv);
  beforeAll(() => {
    limits = createLimits(pool, env);
  });
  afterAll(() => limits?.close());

  const points = async (kind: Parameters<typeof rowKey>[0], key: string) =>
    (await pool.query<{ points: number }>("SELECT points FROM rate_limits WHERE key = $1", [rowKey(kind, key)])).rows[0]?.points ?? 0;

  test("an unknown browser counts against the IP and the account, in one statement; keys are hashed", async () => {
    statements = [];
    const r = await limits.consumeSignIn({ ip: "10.0.0.1", emailNormalized: "a@example.com", device: null });
    expect(r).toMatchObject({ allowed: true, counted: [{ kind: "loginIp" }, { kind: "loginAccount" }] });
    expect(statements).toHaveLength(1);
    expect(await points("loginIp", "10.0.0.1")).toBe(1);
    expect(await points("loginAccount", "a@example.com")).toBe(1);
    const keys = (await pool.query<{ key: string }>("SELECT key FROM rate_limits")).rows.map((x) => x.key).join(" ");
    expect(keys).not.toContain("a@example.com");
    expect(keys).not.toContain("10.0.0.1");
  });

  test("the account's limit refuses with the time left in its window", async () => {
    await limits.consumeSignIn({ ip: "10.0.0.1", emailNormalized: "a@example.com", device: null });
    await limits.consumeSignIn({ ip: "10.0.0.1", emailNormalized: "a@example.com", device: null });
    const refused = await limits.consumeSignIn({ ip: "10.0.0.1", emailNormalized: "a@example.com", device: null });
    expect(refused).toMatchObject({ allowed: false, refusedBy: "loginAccount" });
    expect(refused.retryAfterSeconds).toBeGreaterThan(env.LOGIN_FAILURE_WINDOW_SECONDS - 60);
    expect(refused.retryAfterSeconds).toBeLessThanOrEqual(env.LOGIN_FAILURE_WINDOW_SECONDS);
  });

  test("a browser with the account's device token counts on its own counter only, and falls back once that is over its limit", async () => {
    const input = { ip: "10.0.0.2", emailNormalized: "b@example.com", device: "dev-1" };
    expect(await limits.consumeSignIn(input)).toMatchObject({ allowed: true, counted: [{ kind: "loginDevice" }] });
    expect(await limits.consumeSignIn(input)).toMatchObject({ allowed: true, counted: [{ kind: "loginDevice" }] });
    expect(await points("loginAccount", "b@example.com")).toBe(0);
    // The device counter is over its limit now: the attempt counts like an unknown browser's.
    expect(await limits.consumeSignIn(input)).toMatchObject({ allowed: true, counted: [{ kind: "loginIp" }, { kind: "loginAccount" }] });
    expect(await points("loginAccount", "b@example.com")).toBe(1);
  });

  test("a right password clears the device counter and takes the attempt back from the others", async () => {
    const device = await limits.consumeSignIn({ ip: "10.0.0.3", emailNormalized: "c@example.com", device: "dev-2" });
    await limits.settleSignIn(device.counted);
    expect(await points("loginDevice", "dev-2")).toBe(0);
    const unknown = await limits.consumeSignIn({ ip: "10.0.0.3", emailNormalized: "c@example.com", device: null });
    await limits.consumeSignIn({ ip: "10.0.0.3", emailNormalized: "c@example.com", device: null });
    await limits.settleSignIn(unknown.counted);
    expect(await points("loginAccount", "c@example.com")).toBe(1);
    expect(await points("loginIp", "10.0.0.3")).toBe(1);
  });

  test("a counter whose window ended starts again at one", async () => {
    await pool.query("UPDATE rate_limits SET expire = $1 WHERE key = $2", [Date.now() - 1000, rowKey("loginAccount", "a@example.com")]);
    expect(await limits.consume("loginAccount", "a@example.com")).toEqual({ allowed: true, retryAfterSeconds: 0 });
    expect(await points("loginAccount", "a@example.com")).toBe(1);
  });

  test("parallel attempts never overshoot the limit", async () => {
    const results = await Promise.all(Array.from({ length: 12 }, () => limits.consumeSignIn({ ip: "10.0.0.9", emailNormalized: "p@example.com", device: null })));
    expect(results.filter((r) => r.allowed)).toHaveLength(3);
  });
});
