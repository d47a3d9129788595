// The verification use case (src/flows/verification.ts) in-process against the real PostgreSQL:
// a code confirms the address of the browser's held sign-in or signed-in user, wrong codes are
// counted on the token until it takes no more, a link works once and not after its expiry, and
// "send a new mail" writes the mail within the address's budget.
import type { Pool } from "pg";
import { createStore, issueOneTimeToken, MAX_CODE_ATTEMPTS, type Store } from "../../src/services/store";
import { createLimits } from "../../src/services/limits";
import { AppError } from "../../src/errors";
import { msg } from "../../src/i18n";
import { confirmCode, confirmLink, linkPage, resendMail, type VerificationDeps } from "../../src/flows/verification";
import { challengeDigest } from "../../src/flows/sign-in-step";
import type { AppSession } from "../../src/flows/session";
import type { Outcome } from "../../src/flows/outcome";
import { flowTestEnv, freshDatabase } from "../support/flow-db";

jest.setTimeout(60_000);

const env = flowTestEnv({ VERIFICATION_MAIL_MAX: "2" });

let db: Awaited<ReturnType<typeof freshDatabase>>;
let pool: Pool;
let store: Store;
let deps: VerificationDeps;
let kicks = 0;
const logged: string[] = [];

beforeAll(async () => {
  db = await freshDatabase("verification_flow");
  pool = db.pool;
  store = createStore({ pool });
  deps = {
    env,
    store,
    limits: createLimits(pool, env),
    mailer: { kick: () => void kicks++ },
    logger: { info: (o: object) => void logged.push((o as { event: string }).event) },
  };
});
afterAll(async () => {
  await db?.drop();
});

let n = 0;
/** A pending account with a verification mail's link and code. */
async function pendingUser(): Promise<{ id: string; email: string; token: string; code: string }> {
  n++;
  const email = `person${n}@example.test`;
  const user = await store.registerUser({ email, name: `Person ${n}`, passwordHash: "x", emailVerified: false, pending: true }, null);
  const issued = await store.transaction((tx) => issueOneTimeToken(tx, { kind: "VERIFY_EMAIL", userId: user.id, email, ttlSeconds: 3600, withCode: true }));
  return { id: user.id, email, token: issued.token, code: issued.code! };
}
const verified = async (userId: string) => (await store.getUser(userId))!.emailVerified;
const attempts = async (userId: string) =>
  (await pool.query<{ attempts: number }>("SELECT attempts FROM one_time_tokens WHERE user_id = $1::uuid AND kind = 'VERIFY_EMAIL' AND used_at IS NULL", [userId])).rows[0]?.attempts;
const mails = async (userId: string) => (await pool.query<{ template: string }>("SELECT template FROM outbox WHERE user_id = $1::uuid ORDER BY id", [userId])).rows.map((r) => r.template);
const heldFor = (userId: string, loginChallenge: string): AppSession => ({
  pendingLogin: { challenge: challengeDigest(loginChallenge), loginChallenge, userId, remember: false, startSession: true, loginSessionId: undefined },
});
const browser = (data: AppSession) => {
  const saved: string[] = [];
  return { session: { data, save: async () => void saved.push(JSON.stringify(data)) }, saved };
};
const pageOf = (o: unknown) => o as Extract<Outcome, { kind: "page" }>;
let ip = 0;
const nextIp = () => `198.51.100.${++ip}`;

describe("a code", () => {
  test("confirms the address of the sign-in held in this browser, which then goes on", async () => {
    const user = await pendingUser();
    const { session } = browser(heldFor(user.id, "challenge-a"));
    const done = await confirmCode(deps, { code: user.code, loginChallenge: "challenge-a", ip: nextIp(), session });
    expect(done).toEqual({ kind: "resume-sign-in", loginChallenge: "challenge-a", otherwise: null });
    expect(await verified(user.id)).toBe(true);
    expect(logged).toContain("email_verified");
  });

  test("typed by the signed-in user outside a sign-in: the address is confirmed, the page says so", async () => {
    const user = await pendingUser();
    const { session } = browser({ userId: user.id });
    const done = pageOf(await confirmCode(deps, { code: user.code, ip: nextIp(), session }));
    expect(done).toMatchObject({ kind: "page", view: "verified", locals: { email: user.email } });
    expect(await verified(user.id)).toBe(true);
  });

  test("a wrong one is counted on the token; after the last allowed try even the right code is refused", async () => {
    const user = await pendingUser();
    const wrong = user.code === "000000" ? "111111" : "000000";
    const { session } = browser(heldFor(user.id, "challenge-b"));
    for (let i = 1; i < MAX_CODE_ATTEMPTS; i++) {
      const page = pageOf(await confirmCode(deps, { code: wrong, loginChallenge: "challenge-b", ip: nextIp(), session }));
      expect(page).toMatchObject({ view: "check-inbox", status: 400, form: true, locals: { email: user.email, challenge: "challenge-b", error: msg("verification:code.wrong") } });
      expect(await attempts(user.id)).toBe(i);
    }
    const last = pageOf(await confirmCode(deps, { code: wrong, loginChallenge: "challenge-b", ip: nextIp(), session }));
    expect(last.locals.error).toEqual(msg("verification:code.tooMany"));
    const right = pageOf(await confirmCode(deps, { code: user.code, loginChallenge: "challenge-b", ip: nextIp(), session }));
    expect(right).toMatchObject({ status: 400, locals: { error: msg("verification:code.tooMany") } });
    expect(await verified(user.id)).toBe(false);
    // The link of the same mail still works.
    expect(pageOf(await confirmLink(deps, {}, user.token))).toMatchObject({ view: "verified" });
    expect(await verified(user.id)).toBe(true);
  });

  test("not six digits: the page asks again and nothing is counted", async () => {
    const user = await pendingUser();
    const { session } = browser({ userId: user.id });
    const page = pageOf(await confirmCode(deps, { code: "12ab", ip: nextIp(), session }));
    expect(page).toMatchObject({ view: "check-inbox", status: 400, locals: { error: msg("verification:code.format") } });
    expect(await attempts(user.id)).toBe(0);
  });

  test("a browser with neither a held sign-in nor a signed-in user cannot use one", async () => {
    const { session } = browser({});
    await expect(confirmCode(deps, { code: "123456", ip: nextIp(), session })).rejects.toMatchObject({ status: 401, code: "not_signed_in" });
  });

  test("for a sign-up with an address that has an account (the decoy): wrong like any wrong code, counted in the session", async () => {
    const owner = await pendingUser();
    const data: AppSession = { pendingLogin: { ...heldFor("", "challenge-d").pendingLogin!, decoy: { email: owner.email, codeTries: 0 } } };
    const { session, saved } = browser(data);
    const page = pageOf(await confirmCode(deps, { code: owner.code, loginChallenge: "challenge-d", ip: nextIp(), session }));
    expect(page).toMatchObject({ view: "check-inbox", status: 400, locals: { email: owner.email, error: msg("verification:code.wrong") } });
    expect(data.pendingLogin!.decoy!.codeTries).toBe(1);
    expect(saved).toHaveLength(1);
    expect(await verified(owner.id)).toBe(false);
  });
});

describe("a link", () => {
  test("opens a page that confirms with a click; it works once", async () => {
    const user = await pendingUser();
    expect(pageOf(await linkPage(deps, {}, user.token))).toMatchObject({ view: "verify-confirm", form: true, locals: { token: user.token, email: user.email } });
    expect(await verified(user.id)).toBe(false);
    expect(pageOf(await confirmLink(deps, {}, user.token))).toMatchObject({ view: "verified", locals: { email: user.email } });
    expect(await verified(user.id)).toBe(true);
    await expect(confirmLink(deps, {}, user.token)).rejects.toMatchObject({ status: 410, code: "verification_used" });
    await expect(linkPage(deps, {}, user.token)).rejects.toMatchObject({ status: 410, code: "verification_used" });
  });

  test("confirmed in the browser whose sign-in waits for it: that sign-in goes on, else the page", async () => {
    const user = await pendingUser();
    const done = await confirmLink(deps, heldFor(user.id, "challenge-l"), user.token);
    expect(done).toMatchObject({ kind: "resume-sign-in", loginChallenge: "challenge-l", otherwise: { view: "verified" } });
  });

  test("past its expiry it confirms nothing", async () => {
    const user = await pendingUser();
    await pool.query("UPDATE one_time_tokens SET expires_at = expires_at - interval '2 hours' WHERE user_id = $1::uuid", [user.id]);
    await expect(linkPage(deps, {}, user.token)).rejects.toMatchObject({ status: 410, code: "verification_expired" });
    await expect(confirmLink(deps, {}, user.token)).rejects.toMatchObject({ status: 410, code: "verification_expired" });
    expect(await verified(user.id)).toBe(false);
  });

  test("in a browser signed in as another account it is refused and used up by nobody", async () => {
    const user = await pendingUser();
    const other = await pendingUser();
    const refused = await confirmLink(deps, { userId: other.id }, user.token).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AppError);
    expect(refused).toMatchObject({ status: 403, code: "verification_other_account" });
    expect(pageOf(await confirmLink(deps, {}, user.token))).toMatchObject({ view: "verified" });
  });
});

describe("a new mail", () => {
  test("is written to the outbox within the address's budget, then refused with Retry-After", async () => {
    const user = await pendingUser();
    const session: AppSession = { userId: user.id };
    const before = kicks;
    for (let i = 0; i < 2; i++) {
      const page = pageOf(await resendMail(deps, { lng: "en", session }));
      expect(page).toMatchObject({ view: "check-inbox", locals: { notice: msg("verification:resend.sent", { email: user.email }) } });
    }
    expect(await mails(user.id)).toEqual(["verify-email", "verify-email"]);
    expect(kicks).toBe(before + 2);
    const refused = pageOf(await resendMail(deps, { lng: "en", session }));
    expect(refused).toMatchObject({ status: 429, locals: { error: msg("verification:resend.tooMany") } });
    expect(Number(refused.headers?.["Retry-After"])).toBeGreaterThan(0);
    expect(await mails(user.id)).toHaveLength(2);
  });

  test("for an address already confirmed: none is sent, the page says so", async () => {
    const user = await pendingUser();
    await confirmLink(deps, {}, user.token);
    const page = pageOf(await resendMail(deps, { lng: "en", session: { userId: user.id } }));
    expect(page.locals.notice).toEqual(msg("verification:resend.alreadyConfirmed"));
    expect(await mails(user.id)).toEqual([]);
  });
});
