// The consent step's flows in-process, against the real PostgreSQL (the store as the server builds
// it, its configuration in memory) and Hydra's admin API answered by test/support/fake-hydra.ts:
// what the step shows or answers, what it stores, what it claims, and how many statements it costs.
import type { Pool } from "pg";
import type { OAuth2ConsentRequest } from "@ory/hydra-client";
import { createPool } from "../../src/services/db";
import { createStore, type Store } from "../../src/services/store";
import { createConfigCache, type ConfigCache } from "../../src/services/config-cache";
import { createHydra, FlowAlreadyHandledError } from "../../src/services/hydra";
import { createLogger } from "../../src/logger";
import { ticketKey } from "../../src/decisions/request-ticket";
import { AppError } from "../../src/errors";
import type { Outcome } from "../../src/flows/outcome";
import { consentStep, type ConsentStepDeps, type PageSetup } from "../../src/flows/consent-step";
import { approveInOneStatement, consentDecision, type ConsentDecisionDeps, type FormBrowser } from "../../src/flows/consent-decision";
import { startFakeHydra, type FakeHydra } from "../support/fake-hydra";
import { createDatabase, databaseUrl, dropDatabase, recordStatements, uniqueName } from "../support/pg";

/** The page offered no box (no optional scope). */
const NO_CHOICES = { offered: [], ticked: [], dontAskAgain: false };

jest.setTimeout(60_000);

const CLIENT = { client_id: "shop-web", client_name: "Shop Web", scope: "openid email profile orders.read" };
const TOKEN_AUDIENCE = "https://api.shop.test";

let dbName: string;
let pool: Pool;
let configCache: ConfigCache;
let store: Store;
let fake: FakeHydra;
let deps: ConsentStepDeps & ConsentDecisionDeps;
/** Statements sent on the pool, by text. */
let statements: string[] = [];
/** The decisions counted for /metrics. */
let decisions: string[] = [];

beforeAll(async () => {
  dbName = uniqueName("consent_flow");
  await createDatabase(dbName, process.env.TEST_APP_DB_TEMPLATE);
  pool = createPool(databaseUrl(dbName), { max: 4 });
  await pool.query(
    `INSERT INTO audiences (id, display_name, token_audience, created_at, updated_at) VALUES ('shop', 'The Shop', '${TOKEN_AUDIENCE}', now(), now());
     INSERT INTO clients (id, audience_id, created_at, updated_at) VALUES ('shop-web', 'shop', now(), now());
     INSERT INTO scopes (name, description, audience_id, created_at, updated_at) VALUES ('orders.read', 'See your orders', 'shop', now(), now());`,
  );
  const logger = createLogger("silent");
  configCache = await createConfigCache({ pool, databaseUrl: databaseUrl(dbName), logger });
  recordStatements(pool, (text) => statements.push(text));
  store = createStore({ pool, configCache });
  fake = await startFakeHydra();
  deps = {
    env: { ACCOUNT_CLIENT_ID: "account" },
    store,
    hydra: createHydra({ adminUrl: fake.url, timeoutMs: 5_000 }),
    logger,
    metrics: { consentDecisions: { inc: (labels: { decision: string }) => void decisions.push(labels.decision) } } as ConsentStepDeps["metrics"],
    ticketKeys: [ticketKey("integration-secret", "consent")],
  };
});
afterAll(async () => {
  await fake?.close();
  await configCache?.close();
  await pool?.end();
  await dropDatabase(dbName);
});
beforeEach(() => {
  statements = [];
  decisions = [];
});

let n = 0;
/** A user, and a live session of this browser signed in as them (holding the form's CSRF token `csrf-<n>`). */
async function newUser(): Promise<{ id: string; email: string; sid: string; csrf: string }> {
  n++;
  const email = `consent${n}@example.test`;
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO users (id, email, email_normalized, email_verified, password_hash, created_at, updated_at)
     VALUES (gen_random_uuid(), $1, $1, true, 'x', now(), now()) RETURNING id`,
    [email],
  );
  const id = rows[0]!.id;
  const sid = `sid-${n}`;
  const csrf = `csrf-${n}`;
  await pool.query("INSERT INTO session (sid, sess, expire) VALUES ($1, $2, now() + interval '1 hour')", [sid, JSON.stringify({ cookie: {}, userId: id, csrfToken: csrf })]);
  return { id, email, sid, csrf };
}

/** Hydra's description of a consent request of the shop's client (through the fake). */
function consentRequest(challenge: string, subject: string, scopes: string[], query = ""): OAuth2ConsentRequest {
  const request: OAuth2ConsentRequest = {
    challenge,
    subject,
    client: CLIENT,
    requested_scope: scopes,
    requested_access_token_audience: ["https://reports.shop.test"],
    login_session_id: "login-session-1",
    request_url: `http://hydra.test/oauth2/auth?client_id=shop-web&scope=${scopes.join("+")}${query}`,
  };
  fake.addConsentRequest(request);
  return request;
}

/**
 * The browser as the route builds it: it answered this flow's login step; its session (the cookie's
 * `sid`) is read when the flow asks, alone or by the flow's own statement (as the primed session store does).
 */
function browser(sid: string, submittedCsrf: string | null = null): FormBrowser {
  let session: { userId?: string; csrfToken?: string } | null = null;
  return {
    hasSession: () => session !== null,
    userId: () => session?.userId,
    answeredLogin: (loginSessionId) => loginSessionId === "login-session-1",
    loadSession: async () => {
      session = (await pool.query<{ sess: { userId?: string } }>("SELECT sess FROM session WHERE sid = $1", [sid])).rows[0]?.sess ?? {};
    },
    loadSessionWith: (read) => {
      const result = read(sid);
      return { loaded: result.then((r) => void (session = (r.session as typeof session) ?? {})), result };
    },
    submittedCsrf: () => submittedCsrf,
    checkCsrf: async (loaded) => {
      await loaded;
      if (!submittedCsrf || session?.csrfToken !== submittedCsrf) throw new AppError(403, "csrf", "invalid csrf token");
    },
  };
}

const english: PageSetup = () => "en";
const stored = async (userId: string) => (await pool.query<{ scopes: string[] }>("SELECT scopes FROM consents WHERE user_id = $1::uuid AND audience_id = 'shop'", [userId])).rows[0]?.scopes;
const page = (o: Outcome) => {
  if (o.kind !== "page") throw new Error(`expected a page, got ${o.kind === "redirect" ? `a redirect to ${o.to}` : o.kind}`);
  return o;
};
const caught = (p: Promise<unknown>) => p.then(() => null, (err: unknown) => err);

test("a first consent is a page: every requested scope is new, nothing is claimed and Hydra is not answered", async () => {
  const user = await newUser();
  consentRequest("first-1", user.id, ["openid", "email", "orders.read"]);
  const setups: unknown[][] = [];
  const outcome = page(await consentStep(deps, { challenge: "first-1", browser: browser(user.sid), pageSetup: (...args) => (setups.push(args), "en") }));

  expect(outcome).toMatchObject({ view: "consent", form: true, title: { key: "consent:title" } });
  expect(outcome.locals).toMatchObject({
    challenge: "first-1",
    account: { email: user.email },
    rp: { name: "Shop Web" },
    audienceName: "The Shop",
    alreadyGranted: [],
    newScopes: [{ name: "openid" }, { name: "email" }, { name: "orders.read", description: "See your orders" }],
    offline: false,
  });
  expect(setups).toEqual([[undefined, expect.objectContaining({ brandName: null, brandLogo: null })]]);
  expect(decisions).toEqual(["page"]);
  expect(fake.answers.filter((a) => a.challenge === "first-1")).toEqual([]);
  expect(await store.isChallengeHandled("consent", "first-1")).toBe(false);
});

test("a remembered consent is accepted in one statement: the audience's token audience first, the stored scopes merged (include_granted_scopes)", async () => {
  const user = await newUser();
  expect((await store.recordConsent(user.id, "shop", "shop-web", ["openid", "email", "orders.read"])).outcome).toBe("recorded");
  consentRequest("remembered-1", user.id, ["openid", "email"], "&include_granted_scopes=true");
  statements = [];

  const outcome = await consentStep(deps, { challenge: "remembered-1", browser: browser(user.sid), pageSetup: english });

  expect(outcome).toEqual({ kind: "redirect", to: fake.redirectFor("remembered-1", "accept") });
  // One statement read the session, the account and the consent, and claimed the challenge.
  expect(statements).toHaveLength(1);
  expect(await store.isChallengeHandled("consent", "remembered-1")).toBe(true);
  expect(fake.answers.filter((a) => a.challenge === "remembered-1")).toEqual([
    {
      challenge: "remembered-1",
      kind: "accept",
      body: {
        grant_scope: ["openid", "email", "orders.read"],
        grant_access_token_audience: [TOKEN_AUDIENCE, "https://reports.shop.test"],
        remember: true,
        remember_for: 0,
        session: { id_token: { email: user.email, email_verified: true }, access_token: {} },
      },
    },
  ]);
  expect(decisions).toEqual(["silent"]);
});

test("the page's denial rejects at Hydra and leaves the stored consent as it was", async () => {
  const user = await newUser();
  await store.recordConsent(user.id, "shop", "shop-web", ["openid"]);
  consentRequest("deny-1", user.id, ["openid", "email"]);
  const shown = page(await consentStep(deps, { challenge: "deny-1", browser: browser(user.sid), pageSetup: english }));
  expect(shown.locals).toMatchObject({ alreadyGranted: [{ name: "openid" }], newScopes: [{ name: "email" }] });

  const form = browser(user.sid);
  const outcome = await consentDecision(deps, { challenge: "deny-1", decision: "deny", ticket: shown.locals.consentTicket as string, checked: form.loadSession(), browser: form, choices: NO_CHOICES });

  expect(outcome).toEqual({ kind: "redirect", to: fake.redirectFor("deny-1", "reject") });
  expect(fake.answers.filter((a) => a.challenge === "deny-1")).toEqual([{ challenge: "deny-1", kind: "reject", body: { error: "access_denied", error_description: "The user denied the request." } }]);
  expect(await stored(user.id)).toEqual(["openid"]);
  expect(decisions).toEqual(["page", "denied"]);
});

test("an approval merges into the stored consent and accepts; the same challenge again gets the 410 and Hydra hears no more", async () => {
  const user = await newUser();
  await store.recordConsent(user.id, "shop", "shop-web", ["openid", "orders.read"]);
  consentRequest("approve-1", user.id, ["openid", "email"]);
  const form = browser(user.sid);
  const answer = { challenge: "approve-1", decision: "allow" as const, ticket: undefined, checked: form.loadSession(), browser: form, choices: NO_CHOICES };

  expect(await consentDecision(deps, answer)).toEqual({ kind: "redirect", to: fake.redirectFor("approve-1", "accept") });
  expect(await stored(user.id)).toEqual(["openid", "orders.read", "email"]);
  const [accepted] = fake.answers.filter((a) => a.challenge === "approve-1");
  expect(accepted!.body).toMatchObject({ grant_scope: ["openid", "email"], grant_access_token_audience: [TOKEN_AUDIENCE, "https://reports.shop.test"] });
  expect(decisions).toEqual(["approved"]);

  // Hydra v2 describes the answered challenge as if it were new (the fake does too): the app's record refuses it.
  const again = browser(user.sid);
  const replayedForm = await caught(consentDecision(deps, { ...answer, checked: again.loadSession(), browser: again }));
  expect(replayedForm).toBeInstanceOf(FlowAlreadyHandledError);
  expect((replayedForm as FlowAlreadyHandledError).status).toBe(410);
  const replayedLink = await caught(consentStep(deps, { challenge: "approve-1", browser: browser(user.sid), pageSetup: english }));
  expect(replayedLink).toBeInstanceOf(FlowAlreadyHandledError);
  // The 410 page leads back to the authorization request.
  expect((replayedLink as FlowAlreadyHandledError).redirectTo).toBe("http://hydra.test/oauth2/auth?client_id=shop-web&scope=openid+email");
  expect(fake.answers.filter((a) => a.challenge === "approve-1")).toHaveLength(1);
  expect(await stored(user.id)).toEqual(["openid", "orders.read", "email"]);
});

test("a browser signed in as someone else is refused (403): nothing is claimed, stored or answered", async () => {
  const user = await newUser();
  const other = await newUser();
  await store.recordConsent(user.id, "shop", "shop-web", ["openid"]);
  consentRequest("other-1", user.id, ["openid"]);

  const refused = await caught(consentStep(deps, { challenge: "other-1", browser: browser(other.sid), pageSetup: english }));

  expect(refused).toBeInstanceOf(AppError);
  expect(refused).toMatchObject({ status: 403, code: "consent_other_user" });
  expect(await store.isChallengeHandled("consent", "other-1")).toBe(false);
  expect(fake.answers.filter((a) => a.challenge === "other-1")).toEqual([]);
  expect(decisions).toEqual([]);
});

test("the page's approval in one statement: the form's ticket stands in for Hydra's description, the statement reads the session and records", async () => {
  const user = await newUser();
  await store.recordConsent(user.id, "shop", "shop-web", ["openid"]);
  consentRequest("one-statement-1", user.id, ["openid", "orders.read"]);
  const shown = page(await consentStep(deps, { challenge: "one-statement-1", browser: browser(user.sid), pageSetup: english }));
  statements = [];
  const described = fake.described.length;

  const form = browser(user.sid, user.csrf);
  const outcome = await approveInOneStatement(deps, { challenge: "one-statement-1", ticket: shown.locals.consentTicket as string, browser: form, choices: NO_CHOICES });

  expect(outcome).toEqual({ kind: "redirect", to: fake.redirectFor("one-statement-1", "accept") });
  expect(statements).toHaveLength(1);
  expect(fake.described).toHaveLength(described);
  expect(form.userId()).toBe(user.id);
  expect(await stored(user.id)).toEqual(["openid", "orders.read"]);
  expect(await store.isChallengeHandled("consent", "one-statement-1")).toBe(true);
  expect(decisions).toEqual(["page", "approved"]);

  // Without the session's CSRF token: refused (403), nothing recorded.
  consentRequest("one-statement-2", user.id, ["openid", "email"]);
  const next = page(await consentStep(deps, { challenge: "one-statement-2", browser: browser(user.sid), pageSetup: english }));
  const forged = await caught(approveInOneStatement(deps, { challenge: "one-statement-2", ticket: next.locals.consentTicket as string, browser: browser(user.sid, "forged"), choices: NO_CHOICES }));
  expect(forged).toMatchObject({ status: 403 });
  expect(await stored(user.id)).toEqual(["openid", "orders.read"]);
  expect(await store.isChallengeHandled("consent", "one-statement-2")).toBe(false);
});
