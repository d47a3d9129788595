// The password sign-in (src/flows/sign-in-password.ts) in-process against the real PostgreSQL,
// where Hydra's answer is not the point: a wrong password is refused and counted, the account's
// limit refuses even the right one with Retry-After, a disabled account is said only to who knows
// the password, and a right password for an audience that requires a verified address holds the
// step on "check your inbox" with a new verification mail (Hydra is not answered then).
import type { Pool } from "pg";
import { createStore, type Store } from "../../src/services/store";
import { createLimits } from "../../src/services/limits";
import { NO_METRICS } from "../../src/services/metrics";
import { hashPassword } from "../../src/services/passwords";
import { msg } from "../../src/i18n";
import { ticketKey, type TicketedLoginRequest } from "../../src/decisions/request-ticket";
import { passwordAttempt, signInWithPassword, type PasswordBrowser, type PasswordSignInDeps } from "../../src/flows/sign-in-password";
import type { AppSession } from "../../src/flows/session";
import type { Outcome } from "../../src/flows/outcome";
import type { PageLook } from "../../src/flows/page";
import { flowTestEnv, freshDatabase } from "../support/flow-db";
import { createFactors } from "../../src/services/factors";
import { createPasskeys } from "../../src/services/passkeys";
import { createSecretBox, keyRing } from "../../src/services/secret-box";

jest.setTimeout(60_000);

const env = flowTestEnv({ LOGIN_MAX_FAILURES_PER_ACCOUNT: "3", LOGIN_MAX_FAILURES_PER_IP: "100" });

let db: Awaited<ReturnType<typeof freshDatabase>>;
let pool: Pool;
let store: Store;
let deps: PasswordSignInDeps;
const acceptLogin = jest.fn(() => Promise.reject(new Error("a held or refused sign-in answers Hydra nothing")));
const events: string[] = [];
const PASSWORD = "quartz lantern meadow 4471";

beforeAll(async () => {
  db = await freshDatabase("password_sign_in");
  pool = db.pool;
  store = createStore({ pool });
  await pool.query(
    "INSERT INTO audiences (id, display_name, token_audience, require_verified_email, created_at, updated_at) VALUES ('aud', 'Orders', '{https://orders}', true, now(), now())",
  );
  await pool.query("INSERT INTO clients (id, audience_id, created_at, updated_at) VALUES ('c1', 'aud', now(), now())");
  const notCalled = () => Promise.reject(new Error("not expected"));
  const log = (o: object) => void events.push((o as { event: string }).event);
  deps = {
    env,
    store,
    hydra: { acceptLogin, getLoginRequest: notCalled, getConsentRequest: notCalled, getLogoutRequest: notCalled },
    limits: createLimits(pool, env),
    mailer: { kick: () => undefined },
    factors: createFactors(createSecretBox(keyRing(env))),
    passkeys: createPasskeys({ appBaseUrl: env.APP_BASE_URL, rpName: "Test", secrets: env.SESSION_SECRETS }),
    logger: { info: log, warn: log },
    metrics: NO_METRICS,
    ticketKeys: [ticketKey(env.SESSION_SECRETS[0]!, "login")],
  };
});
afterAll(async () => {
  await db?.drop();
});

let n = 0;
async function account(opts: { disabled?: boolean } = {}): Promise<{ id: string; email: string }> {
  n++;
  const email = `member${n}@example.test`;
  const user = await store.registerUser({ email, name: `Member ${n}`, passwordHash: await hashPassword(PASSWORD), emailVerified: false, pending: false }, null);
  if (opts.disabled) await pool.query("UPDATE users SET disabled_at = now() WHERE id = $1::uuid", [user.id]);
  return { id: user.id, email };
}

function browser() {
  const state = { session: {} as AppSession, regenerated: 0, remembered: [] as string[] };
  const port: PasswordBrowser = {
    get session() {
      return state.session;
    },
    save: async () => undefined,
    regenerate: async (data) => {
      state.session = { ...data };
      state.regenerated++;
    },
    markLoginAnswered: () => undefined,
    markStrongSession: () => undefined,
    strongSession: () => false,
    trustedDevice: () => null,
    rememberDevice: (email) => void state.remembered.push(email),
  };
  return { port, state };
}
const look: PageLook = { followUiLocales: () => undefined, useBrand: () => undefined, language: () => "en" };

let c = 0;
async function signIn(email: string, password: string, ip = "203.0.113.7") {
  const { port, state } = browser();
  const loginChallenge = `login-${++c}`;
  const request: TicketedLoginRequest = { challenge: loginChallenge, request_url: "http://hydra/oauth2/auth", session_id: "hydra-session", skip: false, subject: "", client: { client_id: "c1", client_name: "Orders app" } };
  const attempt = passwordAttempt(deps, port, { email, ip });
  const done = await signInWithPassword(deps, look, port, {
    form: { loginChallenge, password, remember: false },
    attempt,
    counted: attempt.read(null),
    checked: Promise.resolve(),
    request: Promise.resolve(request),
    again: { email, remember: false },
  });
  return { done: done as Extract<Outcome, { kind: "page" }>, state, loginChallenge };
}
const mails = async (userId: string) => (await pool.query<{ template: string }>("SELECT template FROM outbox WHERE user_id = $1::uuid ORDER BY id", [userId])).rows.map((r) => r.template);

test("a wrong password: the form again with the address kept, nothing of the session changes", async () => {
  const user = await account();
  const { done, state } = await signIn(user.email, "not the password");
  expect(done).toMatchObject({ kind: "page", view: "login", status: 401, form: true, locals: { email: user.email, error: msg("login:error.incorrect"), audienceName: "Orders", clientName: "Orders app" } });
  expect(state.regenerated).toBe(0);
  expect(events).toContain("login_failed");
});

test("past the account's limit even the right password is refused, with Retry-After", async () => {
  const user = await account();
  for (let i = 0; i < 3; i++) expect((await signIn(user.email, "wrong", `198.51.100.${i}`)).done.status).toBe(401);
  const { done, state } = await signIn(user.email, PASSWORD, "198.51.100.99");
  expect(done).toMatchObject({ view: "login", status: 429 });
  expect(done.locals.error).toMatchObject({ key: "login:error.tooMany" });
  expect(Number(done.headers?.["Retry-After"])).toBeGreaterThan(0);
  expect(state.regenerated).toBe(0);
  expect(events).toContain("login_throttled");
});

test("a disabled account is said only to who knows its password", async () => {
  const user = await account({ disabled: true });
  expect((await signIn(user.email, "wrong")).done.status).toBe(401);
  const { done } = await signIn(user.email, PASSWORD);
  expect(done).toMatchObject({ view: "login", status: 403, locals: { error: msg("login:error.disabled") } });
});

test("the right password where the audience requires a verified address: held, with a new verification mail", async () => {
  const user = await account();
  const { done, state, loginChallenge } = await signIn(user.email, PASSWORD);
  expect(done).toMatchObject({ view: "check-inbox", form: true, locals: { email: user.email, audienceName: "Orders", challenge: loginChallenge, mailSent: true } });
  // A new session that is nobody's yet: only the held step.
  expect(state.regenerated).toBe(1);
  expect(state.session.userId).toBeUndefined();
  expect(state.session.pendingLogin).toMatchObject({ userId: user.id, loginChallenge, startSession: true, remember: false, requireVerified: false });
  expect(state.remembered).toEqual([user.email]);
  expect(await mails(user.id)).toEqual(["verify-email"]);
  expect(acceptLogin).not.toHaveBeenCalled();
});
