// Registration's account creation (src/flows/registration.ts) in-process against the real
// PostgreSQL. A self sign-up is held for its address's confirmation, so Hydra is never answered
// here (its acceptLogin must not be called): the account is pending with its verification mail in
// the outbox, a taken address answers with the same page and mails the owner instead, and the same
// browser retrying its own sign-up continues it rather than making a second account.
import type { Pool } from "pg";
import { createStore, type Audience, type Store } from "../../src/services/store";
import { createLimits } from "../../src/services/limits";
import { msg } from "../../src/i18n";
import { register, type Registration, type RegistrationDeps } from "../../src/flows/registration";
import type { AppSession } from "../../src/flows/session";
import type { Outcome } from "../../src/flows/outcome";
import type { SignInBrowser } from "../../src/flows/sign-in-step";
import type { OAuth2LoginRequest } from "../../src/services/hydra";
import { flowTestEnv, freshDatabase } from "../support/flow-db";
import { createFactors } from "../../src/services/factors";
import { createPasskeys } from "../../src/services/passkeys";
import { createSecretBox, keyRing } from "../../src/services/secret-box";

jest.setTimeout(60_000);

const env = flowTestEnv();

let db: Awaited<ReturnType<typeof freshDatabase>>;
let pool: Pool;
let store: Store;
let deps: RegistrationDeps;
const acceptLogin = jest.fn(() => Promise.reject(new Error("a held sign-up answers Hydra nothing")));
const logged: string[] = [];

beforeAll(async () => {
  db = await freshDatabase("registration_flow");
  pool = db.pool;
  store = createStore({ pool });
  const notCalled = () => Promise.reject(new Error("not expected"));
  deps = {
    env,
    store,
    hydra: { acceptLogin, getLoginRequest: notCalled, getConsentRequest: notCalled, getLogoutRequest: notCalled },
    limits: createLimits(pool, env),
    mailer: { kick: () => undefined },
    factors: createFactors(createSecretBox(keyRing(env))),
    passkeys: createPasskeys({ appBaseUrl: env.APP_BASE_URL, rpName: "Test", secrets: env.SESSION_SECRETS }),
    logger: { info: (o: object) => void logged.push((o as { event: string }).event) },
  };
});
afterAll(async () => {
  await db?.drop();
});

const audience = (mode: { signUpEnabled: boolean; invitationEnabled: boolean }): Audience => ({
  id: "aud",
  displayName: "Orders",
  tokenAudience: "https://orders",
  consentTtlSeconds: null,
  requireVerifiedEmail: false,
  mfa: "optional" as const,
  startUrl: null,
  brandName: null,
  brandLogo: null,
  createdAt: new Date(),
  updatedAt: new Date(),
  ...mode,
});
const registration = (mode = { signUpEnabled: true, invitationEnabled: false }): Registration => ({
  loginRequest: { challenge: "ch", session_id: "login-session", client: { client_id: "c1" }, request_url: "http://hydra/oauth2/auth" } as OAuth2LoginRequest,
  clientName: "Orders app",
  audience: audience(mode),
  mode: mode.signUpEnabled ? (mode.invitationEnabled ? "open+invitations" : "open") : "invitation-only",
});

/** A browser whose session regenerates as express-session's does (only the account sign-in in progress survives). */
function browser(initial: AppSession = {}) {
  const state = { session: initial, regenerated: 0, saved: 0, marked: [] as (string | undefined)[] };
  const port: SignInBrowser = {
    get session() {
      return state.session;
    },
    save: async () => void state.saved++,
    regenerate: async (data) => {
      state.session = { ...(state.session.accountAuth ? { accountAuth: state.session.accountAuth } : {}), ...data };
      state.regenerated++;
    },
    markLoginAnswered: (id) => void state.marked.push(id),
    markStrongSession: () => undefined,
    strongSession: () => false,
  };
  return { port, state };
}

const PASSWORD = "plum tractor violet harbour 1987";
let n = 0;
const nextChallenge = () => `challenge-${++n}`;
const usersWith = async (email: string) => (await pool.query<{ id: string; email_verified: boolean; pending: boolean }>("SELECT id, email_verified, pending_since IS NOT NULL AS pending FROM users WHERE email_normalized = $1", [email])).rows;
const mailsTo = async (to: string) => (await pool.query<{ template: string }>('SELECT template FROM outbox WHERE "to" = $1 ORDER BY id', [to])).rows.map((r) => r.template);
const pageOf = (o: Outcome) => o as Extract<Outcome, { kind: "page" }>;
const input = (loginChallenge: string, email: string, password = PASSWORD) => ({ loginChallenge, email, name: "Ada Lovelace", password, lng: "en" as const, keep: { email, name: "Ada Lovelace", invitation: "" } });

test("a new address: a pending account with its verification mail, the step held on 'check your inbox'", async () => {
  const { port, state } = browser({ csrfToken: "t" } as AppSession);
  const challenge = nextChallenge();
  const done = pageOf(await register(deps, port, registration(), input(challenge, "ada@example.test")));
  expect(done).toMatchObject({ view: "check-inbox", form: true, locals: { email: "ada@example.test", audienceName: "Orders", challenge, mailSent: true } });
  const [user] = await usersWith("ada@example.test");
  expect(user).toMatchObject({ email_verified: false, pending: true });
  expect(await mailsTo("ada@example.test")).toEqual(["verify-email"]);
  // A new session holds the step and the sign-up; nobody is signed in yet.
  expect(state.regenerated).toBe(1);
  expect(state.session.userId).toBeUndefined();
  expect(state.session.pendingLogin).toMatchObject({ userId: user!.id, startSession: true, requireVerified: true, loginChallenge: challenge, loginSessionId: "login-session" });
  expect(state.session.pendingSignUp).toMatchObject({ userId: user!.id });
  expect(acceptLogin).not.toHaveBeenCalled();
  expect(logged).toContain("registered");
});

test("the same browser retrying its own sign-up continues it: no second account, no 'already exists'", async () => {
  const { port, state } = browser();
  const challenge = nextChallenge();
  await register(deps, port, registration(), input(challenge, "grace@example.test"));
  const first = state.session.pendingSignUp!.userId;
  const again = pageOf(await register(deps, port, registration(), input(challenge, "Grace@Example.test")));
  expect(again).toMatchObject({ view: "check-inbox", locals: { challenge } });
  expect((await usersWith("grace@example.test")).map((u) => u.id)).toEqual([first]);
  expect(state.session.pendingLogin).toMatchObject({ userId: first });
  expect(state.session.pendingLogin!.decoy).toBeUndefined();
  expect(await mailsTo("grace@example.test")).toEqual(["verify-email"]);
});

test("an address that has an account: the same page from another browser, the owner is mailed, nothing changes", async () => {
  await register(deps, browser().port, registration(), input(nextChallenge(), "linus@example.test"));
  const [owner] = await usersWith("linus@example.test");
  const { port, state } = browser();
  const challenge = nextChallenge();
  const done = pageOf(await register(deps, port, registration(), input(challenge, "linus@example.test", "another pass phrase 2024")));
  expect(done).toMatchObject({ view: "check-inbox", form: true, locals: { email: "linus@example.test", challenge } });
  expect(await usersWith("linus@example.test")).toEqual([owner]);
  expect(await mailsTo("linus@example.test")).toEqual(["verify-email", "account-exists"]);
  expect(state.session.pendingLogin).toMatchObject({ userId: "", decoy: { email: "linus@example.test", codeTries: 0 } });
  expect(logged).toContain("registration_existing_address");
});

test("refusals show the form again with the error on its field and create nothing", async () => {
  const weak = pageOf(await register(deps, browser().port, registration(), input(nextChallenge(), "weak@example.test", "password")));
  expect(weak).toMatchObject({ view: "registration", status: 400, locals: { errorField: "password", email: "weak@example.test", name: "Ada Lovelace" } });
  const inviteOnly = pageOf(await register(deps, browser().port, registration({ signUpEnabled: false, invitationEnabled: true }), input(nextChallenge(), "nobody@example.test")));
  expect(inviteOnly).toMatchObject({ view: "registration", status: 403, locals: { errorField: "invitation", error: msg("registration:refused.required", { audience: "Orders" }) } });
  expect(await usersWith("weak@example.test")).toEqual([]);
  expect(await usersWith("nobody@example.test")).toEqual([]);
});
