// Pure decisions of the login and consent steps (src/decisions/login.ts, src/decisions/consent.ts,
// src/decisions/scopes.ts).
import { decideLoginStart, loginAcceptance, uiLocalesOf, type LoginStart } from "../../src/decisions/login";
import {
  decideConsent,
  grantedAudiences,
  mergeScopes,
  promptValues,
  scopeVisibleTo,
  unique,
  type AudienceInfo,
  type ConsentInput,
  type ConsentStep,
} from "../../src/decisions/consent";
import { BUILT_IN_SCOPES, describeScope } from "../../src/decisions/scopes";
import { english, fixedT, say } from "../../src/i18n";
import { claimPlan, restartWithFreshSignIn } from "../../src/decisions/consent";

describe("decideLoginStart", () => {
  test.each<[string, { skip?: boolean; subject?: string }, LoginStart]>([
    ["skip with a subject → accept as that subject", { skip: true, subject: "user-123" }, { kind: "accept", subject: "user-123" }],
    ["skip with a uuid subject → accept as that subject", { skip: true, subject: "0b6f0a52-3c1e-4d8e-9a43-1f2e3d4c5b6a" }, { kind: "accept", subject: "0b6f0a52-3c1e-4d8e-9a43-1f2e3d4c5b6a" }],
    ["skip without a subject → form", { skip: true }, { kind: "form" }],
    ["skip with an empty subject → form", { skip: true, subject: "" }, { kind: "form" }],
    ["no skip, with a subject → form", { skip: false, subject: "user-123" }, { kind: "form" }],
    ["skip undefined, with a subject → form", { subject: "user-123" }, { kind: "form" }],
    ["no skip, no subject → form", { skip: false, subject: "" }, { kind: "form" }],
    ["empty request → form", {}, { kind: "form" }],
  ])("%s", (_label, req, expected) => {
    expect(decideLoginStart(req)).toEqual(expected);
  });
});

describe("loginAcceptance", () => {
  test.each<[string, Parameters<typeof loginAcceptance>[0], ReturnType<typeof loginAcceptance>]>([
    [
      "remembered: remember_for is the configured lifetime",
      { userId: "user-1", remember: true, rememberForSeconds: 2592000, audienceId: "org.example.shop" },
      { subject: "user-1", remember: true, remember_for: 2592000, acr: "aal1", amr: ["pwd"], context: { audience: "org.example.shop" } },
    ],
    [
      "'stay signed in' unticked: remembered until the browser closes (remember_for 0, Hydra's cookie without expiry)",
      { userId: "user-1", remember: false, rememberForSeconds: 2592000, audienceId: "org.example.shop" },
      { subject: "user-1", remember: true, remember_for: 0, acr: "aal1", amr: ["pwd"], context: { audience: "org.example.shop" } },
    ],
    [
      "no audience: context.audience is null",
      { userId: "user-2", remember: true, rememberForSeconds: 60, audienceId: null },
      { subject: "user-2", remember: true, remember_for: 60, acr: "aal1", amr: ["pwd"], context: { audience: null } },
    ],
    [
      "skip-path acceptance (remember false, lifetime 0): still remember true, never a request to forget the browser",
      { userId: "user-3", remember: false, rememberForSeconds: 0, audienceId: null },
      { subject: "user-3", remember: true, remember_for: 0, acr: "aal1", amr: ["pwd"], context: { audience: null } },
    ],
  ])("%s", (_label, opts, expected) => {
    expect(loginAcceptance(opts)).toEqual(expected);
  });

  test("the subject is the user id, never an email-like value derived from elsewhere", () => {
    const acceptance = loginAcceptance({ userId: "c0ffee00-0000-4000-8000-000000000001", remember: false, rememberForSeconds: 10, audienceId: "shop" });
    expect(acceptance.subject).toBe("c0ffee00-0000-4000-8000-000000000001");
    expect(Object.keys(acceptance).sort()).toEqual(["acr", "amr", "context", "remember", "remember_for", "subject"]);
  });
});

// ——— consent ———

const SHOP: AudienceInfo = { id: "org.example.shop", displayName: "Example Shop", tokenAudience: "https://shop.example.org" };
const BILLING: AudienceInfo = { id: "org.example.billing", displayName: "Example Billing", tokenAudience: "https://billing.example.org" };

/** Declared scopes: two limited to the shop, one to billing, one open to every audience. */
const DECLARED: ReadonlyMap<string, string | null> = new Map<string, string | null>([
  ["orders.read", SHOP.id],
  ["orders.write", SHOP.id],
  ["invoices.read", BILLING.id],
  ["newsletter", null],
]);

function consentInput(overrides: Partial<ConsentInput> = {}): ConsentInput {
  return {
    clientId: "shop-web",
    audience: SHOP,
    requestedScopes: ["openid"],
    requestedAudiences: [],
    declaredScopes: DECLARED,
    grantedScopes: [],
    forcePrompt: false,
    ...overrides,
  };
}

describe("decideConsent", () => {
  describe("reject", () => {
    test.each<[string, Partial<ConsentInput>, ConsentStep]>([
      [
        "client without audience → invalid_client naming the client",
        { clientId: "orphan-app", audience: null },
        {
          kind: "reject",
          error: "invalid_client",
          description: "The client 'orphan-app' does not belong to any audience; an administrator must assign it to one.",
        },
      ],
      [
        "client without audience → invalid_client even when everything is already granted",
        { clientId: "orphan-app", audience: null, requestedScopes: ["openid"], grantedScopes: ["openid"] },
        {
          kind: "reject",
          error: "invalid_client",
          description: "The client 'orphan-app' does not belong to any audience; an administrator must assign it to one.",
        },
      ],
      [
        "client without audience → invalid_client wins over an invalid scope",
        { clientId: "orphan-app", audience: null, requestedScopes: ["openid", "nope"] },
        {
          kind: "reject",
          error: "invalid_client",
          description: "The client 'orphan-app' does not belong to any audience; an administrator must assign it to one.",
        },
      ],
      [
        "client without audience and an empty client id → invalid_client with the empty id quoted",
        { clientId: "", audience: null },
        {
          kind: "reject",
          error: "invalid_client",
          description: "The client '' does not belong to any audience; an administrator must assign it to one.",
        },
      ],
      [
        "a scope declared for another audience → invalid_scope",
        { requestedScopes: ["openid", "invoices.read"] },
        { kind: "reject", error: "invalid_scope", description: "The scope 'invoices.read' is not available to clients of the audience 'org.example.shop'." },
      ],
      [
        "a scope declared nowhere → invalid_scope",
        { requestedScopes: ["openid", "orders.delete"] },
        { kind: "reject", error: "invalid_scope", description: "The scope 'orders.delete' is not available to clients of the audience 'org.example.shop'." },
      ],
      [
        "the shop's own scope from a billing client → invalid_scope naming billing",
        { clientId: "billing-web", audience: BILLING, requestedScopes: ["orders.read"] },
        { kind: "reject", error: "invalid_scope", description: "The scope 'orders.read' is not available to clients of the audience 'org.example.billing'." },
      ],
      [
        "several offending scopes → all named, in request order, plural wording",
        { requestedScopes: ["zzz", "openid", "invoices.read", "orders.read", "aaa"] },
        { kind: "reject", error: "invalid_scope", description: "The scopes 'zzz', 'invoices.read', 'aaa' are not available to clients of the audience 'org.example.shop'." },
      ],
      [
        "an offending scope requested twice is named once (singular wording)",
        { requestedScopes: ["invoices.read", "openid", "invoices.read"] },
        { kind: "reject", error: "invalid_scope", description: "The scope 'invoices.read' is not available to clients of the audience 'org.example.shop'." },
      ],
      [
        "a prototype-like scope name that is not declared → invalid_scope",
        { requestedScopes: ["toString", "constructor"] },
        { kind: "reject", error: "invalid_scope", description: "The scopes 'toString', 'constructor' are not available to clients of the audience 'org.example.shop'." },
      ],
      [
        "scope names are case-sensitive: OPENID is not the built-in openid",
        { requestedScopes: ["OPENID"] },
        { kind: "reject", error: "invalid_scope", description: "The scope 'OPENID' is not available to clients of the audience 'org.example.shop'." },
      ],
      [
        "invalid scope wins over an existing grant of it",
        { requestedScopes: ["invoices.read"], grantedScopes: ["invoices.read"] },
        { kind: "reject", error: "invalid_scope", description: "The scope 'invoices.read' is not available to clients of the audience 'org.example.shop'." },
      ],
      [
        "invalid scope wins over prompt=consent",
        { requestedScopes: ["openid", "nope"], forcePrompt: true },
        { kind: "reject", error: "invalid_scope", description: "The scope 'nope' is not available to clients of the audience 'org.example.shop'." },
      ],
      [
        "no declared scopes at all → a custom scope is rejected",
        { requestedScopes: ["orders.read"], declaredScopes: new Map() },
        { kind: "reject", error: "invalid_scope", description: "The scope 'orders.read' is not available to clients of the audience 'org.example.shop'." },
      ],
    ])("%s", (_label, overrides, expected) => {
      expect(decideConsent(consentInput(overrides))).toEqual(expected);
    });
  });

  describe("accept (everything requested is already granted, no prompt=consent)", () => {
    test.each<[string, Partial<ConsentInput>, ConsentStep]>([
      [
        "exactly the granted scopes → accept, aud = token-audience",
        { requestedScopes: ["openid", "orders.read"], grantedScopes: ["openid", "orders.read"] },
        { kind: "accept", grantScope: ["openid", "orders.read"], grantAudience: ["https://shop.example.org"] },
      ],
      [
        "a subset of the granted scopes → accept only what is requested",
        { requestedScopes: ["orders.read"], grantedScopes: ["openid", "profile", "orders.read", "orders.write"] },
        { kind: "accept", grantScope: ["orders.read"], grantAudience: ["https://shop.example.org"] },
      ],
      [
        "granted in another order → grantScope follows the request order",
        { requestedScopes: ["profile", "openid", "email"], grantedScopes: ["email", "openid", "profile"] },
        { kind: "accept", grantScope: ["profile", "openid", "email"], grantAudience: ["https://shop.example.org"] },
      ],
      [
        "duplicate requested scopes → deduped, first occurrence kept",
        { requestedScopes: ["openid", "email", "openid", "orders.read", "email"], grantedScopes: ["openid", "email", "orders.read"] },
        { kind: "accept", grantScope: ["openid", "email", "orders.read"], grantAudience: ["https://shop.example.org"] },
      ],
      [
        "requested audiences follow the token-audience",
        { requestedScopes: ["openid"], grantedScopes: ["openid"], requestedAudiences: ["https://api.example.org", "https://cdn.example.org"] },
        { kind: "accept", grantScope: ["openid"], grantAudience: ["https://shop.example.org", "https://api.example.org", "https://cdn.example.org"] },
      ],
      [
        "a requested audience equal to the token-audience is not repeated; token-audience stays first",
        { requestedScopes: ["openid"], grantedScopes: ["openid"], requestedAudiences: ["https://api.example.org", "https://shop.example.org"] },
        { kind: "accept", grantScope: ["openid"], grantAudience: ["https://shop.example.org", "https://api.example.org"] },
      ],
      [
        "duplicate requested audiences → deduped",
        { requestedScopes: ["openid"], grantedScopes: ["openid"], requestedAudiences: ["b", "a", "b", "a"] },
        { kind: "accept", grantScope: ["openid"], grantAudience: ["https://shop.example.org", "b", "a"] },
      ],
      [
        "a scope open to every audience (declared with null) counts like any other",
        { requestedScopes: ["newsletter"], grantedScopes: ["newsletter"] },
        { kind: "accept", grantScope: ["newsletter"], grantAudience: ["https://shop.example.org"] },
      ],
      [
        "billing client with its own scope granted → billing token-audience",
        { clientId: "billing-web", audience: BILLING, requestedScopes: ["openid", "invoices.read", "newsletter"], grantedScopes: ["openid", "invoices.read", "newsletter"] },
        { kind: "accept", grantScope: ["openid", "invoices.read", "newsletter"], grantAudience: ["https://billing.example.org"] },
      ],
      [
        "nothing requested → accept nothing (aud still the token-audience)",
        { requestedScopes: [], grantedScopes: [] },
        { kind: "accept", grantScope: [], grantAudience: ["https://shop.example.org"] },
      ],
      [
        "nothing requested with an existing grant → accept nothing",
        { requestedScopes: [], grantedScopes: ["openid", "orders.read"] },
        { kind: "accept", grantScope: [], grantAudience: ["https://shop.example.org"] },
      ],
    ])("%s", (_label, overrides, expected) => {
      expect(decideConsent(consentInput(overrides))).toEqual(expected);
    });
  });

  describe("show", () => {
    test.each<[string, Partial<ConsentInput>, ConsentStep]>([
      [
        "no consent yet → every requested scope is new",
        { requestedScopes: ["openid", "profile", "orders.read"], grantedScopes: [] },
        { kind: "show", alreadyGranted: [], newScopes: ["openid", "profile", "orders.read"], optional: [], declinedBefore: [], grantedBefore: [] },
      ],
      [
        "partly granted → split, both in request order",
        { requestedScopes: ["orders.write", "openid", "orders.read", "email"], grantedScopes: ["orders.read", "openid"] },
        { kind: "show", alreadyGranted: ["openid", "orders.read"], newScopes: ["orders.write", "email"], optional: [], declinedBefore: [], grantedBefore: [] },
      ],
      [
        "granted scopes that are not requested are not listed",
        { requestedScopes: ["openid", "email"], grantedScopes: ["openid", "profile", "orders.read"] },
        { kind: "show", alreadyGranted: ["openid"], newScopes: ["email"], optional: [], declinedBefore: [], grantedBefore: [] },
      ],
      [
        "duplicates in the request are listed once",
        { requestedScopes: ["openid", "email", "openid", "email", "newsletter"], grantedScopes: ["openid"] },
        { kind: "show", alreadyGranted: ["openid"], newScopes: ["email", "newsletter"], optional: [], declinedBefore: [], grantedBefore: [] },
      ],
      [
        "prompt=consent with everything granted → show, nothing new",
        { requestedScopes: ["openid", "orders.read"], grantedScopes: ["openid", "orders.read"], forcePrompt: true },
        { kind: "show", alreadyGranted: ["openid", "orders.read"], newScopes: [], optional: [], declinedBefore: [], grantedBefore: [] },
      ],
      [
        "prompt=consent with nothing granted → show, everything new",
        { requestedScopes: ["openid", "orders.read"], grantedScopes: [], forcePrompt: true },
        { kind: "show", alreadyGranted: [], newScopes: ["openid", "orders.read"], optional: [], declinedBefore: [], grantedBefore: [] },
      ],
      [
        "prompt=consent with nothing requested → show two empty lists",
        { requestedScopes: [], grantedScopes: ["openid"], forcePrompt: true },
        { kind: "show", alreadyGranted: [], newScopes: [], optional: [], declinedBefore: [], grantedBefore: [] },
      ],
      [
        "every built-in scope is fine without any declaration",
        { requestedScopes: [...BUILT_IN_SCOPES], declaredScopes: new Map() },
        { kind: "show", alreadyGranted: [], newScopes: ["openid", "profile", "email", "address", "phone", "offline_access", "offline"], optional: [], declinedBefore: [], grantedBefore: [] },
      ],
      [
        "a built-in scope stays fine even if a map (wrongly) limits it to another audience",
        { requestedScopes: ["openid", "email"], declaredScopes: new Map([["email", BILLING.id]]) },
        { kind: "show", alreadyGranted: [], newScopes: ["openid", "email"], optional: [], declinedBefore: [], grantedBefore: [] },
      ],
    ])("%s", (_label, overrides, expected) => {
      expect(decideConsent(consentInput(overrides))).toEqual(expected);
    });
  });

  test("does not mutate its inputs, and never returns the input arrays themselves", () => {
    const requestedScopes = ["openid", "openid", "orders.read"];
    const requestedAudiences = ["https://api.example.org"];
    const grantedScopes = ["openid", "orders.read"];
    const declaredScopes = new Map(DECLARED);
    const input = consentInput({ requestedScopes, requestedAudiences, grantedScopes, declaredScopes });
    const step = decideConsent(input);
    expect(step).toEqual({ kind: "accept", grantScope: ["openid", "orders.read"], grantAudience: ["https://shop.example.org", "https://api.example.org"] });
    if (step.kind !== "accept") throw new Error(`expected accept, got ${step.kind}`);
    expect(step.grantScope).not.toBe(requestedScopes);
    expect(step.grantAudience).not.toBe(requestedAudiences);
    expect(requestedScopes).toEqual(["openid", "openid", "orders.read"]);
    expect(requestedAudiences).toEqual(["https://api.example.org"]);
    expect(grantedScopes).toEqual(["openid", "orders.read"]);
    expect([...declaredScopes]).toEqual([...DECLARED]);
    expect(input.audience).toEqual(SHOP);
  });
});

describe("claimPlan: does the consent step claim its challenge while it reads the consent?", () => {
  test.each<[string, Partial<ConsentInput>, ReturnType<typeof claimPlan>]>([
    ["a client without audience is rejected whatever was granted → always", { audience: null }, { always: true, ifGranted: null, optional: [] }],
    ["a scope of another audience is rejected → always", { requestedScopes: ["openid", "nope"] }, { always: true, ifGranted: null, optional: [] }],
    ["the first-party client is accepted without a page → always", { firstParty: true }, { always: true, ifGranted: null, optional: [] }],
    ["prompt=none is answered either way (accepted or consent_required) → always", { promptNone: true, requestedScopes: ["openid", "email"] }, { always: true, ifGranted: null, optional: [] }],
    ["a plain request → exactly when the stored consent holds every requested scope", { requestedScopes: ["openid", "email", "openid"] }, { always: false, ifGranted: ["openid", "email"], optional: [] }],
    ["prompt=consent shows a page whatever was granted → never", { forcePrompt: true, requestedScopes: ["openid", "email"] }, { always: false, ifGranted: null, optional: [] }],
    ["no scopes at all → accepted at once → always", { requestedScopes: [] }, { always: true, ifGranted: null, optional: [] }],
  ])("%s", (_name, overrides, expected) => {
    const { grantedScopes: _ignored, ...input } = consentInput(overrides);
    expect(claimPlan(input)).toEqual(expected);
  });

  test.each<[string, Partial<ConsentInput>, string[]]>([
    ["covered", { requestedScopes: ["openid", "email"] }, ["email", "openid", "profile"]],
    ["not covered", { requestedScopes: ["openid", "email"] }, ["openid"]],
    ["nothing granted", { requestedScopes: ["openid"] }, []],
    ["prompt=consent", { forcePrompt: true, requestedScopes: ["openid"] }, ["openid"]],
    ["prompt=none, not covered", { promptNone: true, requestedScopes: ["openid", "email"] }, ["openid"]],
  ])("the plan agrees with the decision once the consent is known (%s)", (_name, overrides, granted) => {
    const input = consentInput({ ...overrides, grantedScopes: granted });
    const plan = claimPlan(input);
    const claims = plan.always || (plan.ifGranted !== null && plan.ifGranted.every((s) => granted.includes(s)));
    expect(claims).toBe(decideConsent(input).kind !== "show");
  });
});

describe("scopeVisibleTo", () => {
  test.each<[string, string, ReadonlyMap<string, string | null>, boolean]>([
    ["openid", SHOP.id, new Map(), true],
    ["profile", SHOP.id, new Map(), true],
    ["email", SHOP.id, new Map(), true],
    ["address", SHOP.id, new Map(), true],
    ["phone", SHOP.id, new Map(), true],
    ["offline_access", SHOP.id, new Map(), true],
    ["offline", SHOP.id, new Map(), true],
    ["email", SHOP.id, new Map([["email", BILLING.id]]), true],
    ["orders.read", SHOP.id, DECLARED, true],
    ["orders.read", BILLING.id, DECLARED, false],
    ["invoices.read", BILLING.id, DECLARED, true],
    ["invoices.read", SHOP.id, DECLARED, false],
    ["newsletter", SHOP.id, DECLARED, true],
    ["newsletter", BILLING.id, DECLARED, true],
    ["newsletter", "any.other.audience", DECLARED, true],
    ["orders.delete", SHOP.id, DECLARED, false],
    ["orders.read", SHOP.id, new Map(), false],
    ["", SHOP.id, DECLARED, false],
    ["OPENID", SHOP.id, new Map(), false],
    ["toString", SHOP.id, DECLARED, false],
    ["__proto__", SHOP.id, DECLARED, false],
    ["orders.read", "org.example.shop.", DECLARED, false],
  ])("%p for audience %p → %p", (scope, audienceId, declared, expected) => {
    expect(scopeVisibleTo(scope, audienceId, declared)).toBe(expected);
  });
});

describe("grantedAudiences", () => {
  test.each<[string, AudienceInfo, string[], string[]]>([
    ["nothing requested → the token-audience alone", SHOP, [], ["https://shop.example.org"]],
    ["requested ones follow, in order", SHOP, ["https://b.example.org", "https://a.example.org"], ["https://shop.example.org", "https://b.example.org", "https://a.example.org"]],
    ["the token-audience requested first is not repeated", SHOP, ["https://shop.example.org", "https://a.example.org"], ["https://shop.example.org", "https://a.example.org"]],
    ["the token-audience requested last still comes first", SHOP, ["https://a.example.org", "https://shop.example.org"], ["https://shop.example.org", "https://a.example.org"]],
    ["duplicates are removed", BILLING, ["x", "y", "x", "y", "x"], ["https://billing.example.org", "x", "y"]],
    ["audiences are case-sensitive", SHOP, ["https://SHOP.example.org"], ["https://shop.example.org", "https://SHOP.example.org"]],
  ])("%s", (_label, audience, requested, expected) => {
    expect(grantedAudiences(audience, requested)).toEqual(expected);
  });

  test("does not mutate the requested list", () => {
    const requested = ["a", "a"];
    grantedAudiences(SHOP, requested);
    expect(requested).toEqual(["a", "a"]);
  });
});

describe("mergeScopes", () => {
  test.each<[string, string[], string[], { scopes: string[]; added: string[] }]>([
    ["first approval → everything is added", [], ["openid", "orders.read"], { scopes: ["openid", "orders.read"], added: ["openid", "orders.read"] }],
    ["nothing approved → unchanged, nothing added", ["openid", "orders.read"], [], { scopes: ["openid", "orders.read"], added: [] }],
    ["both empty → empty", [], [], { scopes: [], added: [] }],
    ["approving a subset of the old → unchanged (never drops)", ["openid", "profile", "orders.read"], ["openid"], { scopes: ["openid", "profile", "orders.read"], added: [] }],
    ["approving the same set → unchanged", ["openid", "orders.read"], ["orders.read", "openid"], { scopes: ["openid", "orders.read"], added: [] }],
    ["new scopes are appended after the old, in approval order", ["openid", "profile"], ["orders.write", "openid", "email"], { scopes: ["openid", "profile", "orders.write", "email"], added: ["orders.write", "email"] }],
    ["disjoint → old then new", ["b", "a"], ["d", "c"], { scopes: ["b", "a", "d", "c"], added: ["d", "c"] }],
    ["duplicates in the approval are added once", ["openid"], ["email", "email", "openid", "profile", "email"], { scopes: ["openid", "email", "profile"], added: ["email", "profile"] }],
    ["case-sensitive: Email is a different scope", ["email"], ["Email"], { scopes: ["email", "Email"], added: ["Email"] }],
  ])("%s", (_label, old, approved, expected) => {
    expect(mergeScopes(old, approved)).toEqual(expected);
  });

  test("every old scope and every approved scope ends up in the result", () => {
    const old = ["openid", "orders.read", "newsletter"];
    const approved = ["email", "orders.read", "orders.write"];
    const { scopes } = mergeScopes(old, approved);
    for (const s of [...old, ...approved]) expect(scopes).toContain(s);
    expect(new Set(scopes).size).toBe(scopes.length);
  });

  test("does not mutate or alias its inputs", () => {
    const old = ["openid"];
    const approved = ["email"];
    const merged = mergeScopes(old, approved);
    expect(old).toEqual(["openid"]);
    expect(approved).toEqual(["email"]);
    expect(merged.scopes).not.toBe(old);
    expect(merged.added).not.toBe(approved);
  });
});

describe("promptValues: does the request say prompt=consent?", () => {
  const AUTH = "https://auth.example.org/oauth2/auth?client_id=shop-web&response_type=code&scope=openid";
  test.each<[string, string | undefined, boolean]>([
    ["undefined", undefined, false],
    ["empty string", "", false],
    ["no prompt parameter", AUTH, false],
    ["prompt=consent", `${AUTH}&prompt=consent`, true],
    ["prompt=consent as the first parameter", "https://auth.example.org/oauth2/auth?prompt=consent&client_id=shop-web", true],
    ["prompt=login consent (space as +)", `${AUTH}&prompt=login+consent`, true],
    ["prompt=login consent (space as %20)", `${AUTH}&prompt=login%20consent`, true],
    ["prompt=consent login", `${AUTH}&prompt=consent+login`, true],
    ["prompt=login select_account consent", `${AUTH}&prompt=login+select_account+consent`, true],
    ["prompt=login", `${AUTH}&prompt=login`, false],
    ["prompt=none", `${AUTH}&prompt=none`, false],
    ["prompt=select_account", `${AUTH}&prompt=select_account`, false],
    ["empty prompt", `${AUTH}&prompt=`, false],
    ["prompt values are case-sensitive: CONSENT", `${AUTH}&prompt=CONSENT`, false],
    ["a longer word containing consent", `${AUTH}&prompt=consented`, false],
    ["a word containing consent as a suffix", `${AUTH}&prompt=noconsent`, false],
    ["consent only in another parameter's value", `${AUTH}&state=consent`, false],
    ["consent as a parameter name", `${AUTH}&consent=prompt`, false],
    ["consent only in the fragment", `${AUTH}#prompt=consent`, false],
    ["relative request URL with prompt=consent", "/oauth2/auth?client_id=shop-web&prompt=consent", true],
    ["relative request URL without prompt", "/oauth2/auth?client_id=shop-web", false],
    ["garbage that is no URL", "not a url at all", false],
    ["garbage: an unparseable host", "http://[not-an-ipv6/oauth2/auth?prompt=consent", false],
    ["garbage: only punctuation", "%%%???&&&", false],
  ])("%s → %p", (_label, url, expected) => {
    expect(promptValues(url).includes("consent")).toBe(expected);
  });
});

describe("unique", () => {
  test.each<[string[], string[]]>([
    [[], []],
    [["a"], ["a"]],
    [["a", "b", "a", "c", "b"], ["a", "b", "c"]],
    [["B", "b", "B"], ["B", "b"]],
    [["c", "b", "a"], ["c", "b", "a"]],
    [["", "", "x"], ["", "x"]],
  ])("%p → %p", (input, expected) => {
    expect(unique(input)).toEqual(expected);
  });

  test.each<[string, () => Iterable<string>, string[]]>([
    ["a Set", () => new Set(["x", "y"]), ["x", "y"]],
    ["a generator", () => (function* () { yield "p"; yield "q"; yield "p"; })(), ["p", "q"]],
    ["a Map's keys", () => new Map([["k1", 1], ["k2", 2]]).keys(), ["k1", "k2"]],
  ])("accepts any iterable: %s", (_label, make, expected) => {
    expect(unique(make())).toEqual(expected);
  });

  test("returns a new array", () => {
    const input = ["a", "b"];
    expect(unique(input)).not.toBe(input);
  });
});

describe("describeScope", () => {
  test.each<[string, string | undefined, string]>([
    ["openid", undefined, "Sign you in with your account"],
    ["profile", undefined, "Your name"],
    ["email", undefined, "Your email address"],
    ["address", undefined, "Your postal address"],
    ["phone", undefined, "Your phone number"],
    ["offline_access", undefined, "Stay connected when you are not using it"],
    ["offline", undefined, "Stay connected when you are not using it"],
    ["orders.read", "Read your orders", "Read your orders"],
    ["orders.read", undefined, "orders.read"],
    ["profile", "Your public profile", "Your public profile"],
    ["newsletter", undefined, "newsletter"],
    ["OPENID", undefined, "OPENID"],
  ])("%p with declared %p → %p", (scope, declared, expected) => {
    expect(english(describeScope(scope, declared))).toBe(expected);
  });

  test.each<[string, Record<string, string>, string, string]>([
    ["orders.read", { en: "Read your orders", de: "Ihre Bestellungen lesen" }, "de", "Ihre Bestellungen lesen"],
    ["orders.read", { en: "Read your orders", de: "Ihre Bestellungen lesen" }, "en", "Read your orders"],
    ["orders.read", { en: "Read your orders" }, "de", "Read your orders"],
    ["orders.read", { fr: "Lire vos commandes" }, "de", "Lire vos commandes"],
  ])("%p declared per language %p in %p → %p", (scope, declared, lng, expected) => {
    expect(describeScope(scope, declared, lng)).toBe(expected);
  });

  test("built-in descriptions are translated", () => {
    expect(say(fixedT("de"), describeScope("email"))).toBe("Ihre E-Mail-Adresse");
  });

  test("every built-in scope has a built-in description (not its bare name)", () => {
    for (const s of BUILT_IN_SCOPES) {
      const d = english(describeScope(s));
      expect(typeof d).toBe("string");
      expect(d).not.toBe(s);
    }
  });

  // Scope names like these are valid OAuth scope tokens and pass the config's scope-name rule, so an
  // admin may declare one without a description. The consent page must then show the name itself.
  // (Regression: a plain-object lookup once returned inherited Object.prototype members here.)
  test.each<[string]>([["constructor"], ["toString"], ["hasOwnProperty"], ["valueOf"], ["__proto__"]])(
    "a declared scope named %p without description is described by its name",
    (scope) => {
      expect(english(describeScope(scope, undefined))).toBe(scope);
    },
  );
});

describe("decideConsent with prompt=none", () => {
  const base = {
    clientId: "web",
    audience: { id: "shop", displayName: "Shop", tokenAudience: "shop" },
    requestedScopes: ["openid", "profile"],
    requestedAudiences: [],
    declaredScopes: new Map<string, string | null>(),
    forcePrompt: false,
    promptNone: true,
  };
  test.each<[string, Partial<typeof base> & { grantedScopes: string[] }, unknown]>([
    ["covered → accepted silently", { grantedScopes: ["openid", "profile"] }, { kind: "accept", grantScope: ["openid", "profile"], grantAudience: ["shop"] }],
    [
      "not covered → consent_required, no page",
      { grantedScopes: ["openid"] },
      { kind: "reject", error: "consent_required", description: "The request needs the user's consent, but prompt=none forbids asking for it." },
    ],
    [
      "prompt=consent together with none → consent_required",
      { grantedScopes: ["openid", "profile"], forcePrompt: true },
      { kind: "reject", error: "consent_required", description: "The request needs the user's consent, but prompt=none forbids asking for it." },
    ],
  ])("%s", (_label, input, expected) => {
    expect(decideConsent({ ...base, ...input })).toEqual(expected);
  });
});

describe("restartWithFreshSignIn ('Not you?')", () => {
  test.each<[string | undefined, string | null]>([
    ["http://127.0.0.1:4444/oauth2/auth?client_id=a&scope=openid", "http://127.0.0.1:4444/oauth2/auth?client_id=a&scope=openid&prompt=login"],
    ["https://auth.example/oauth2/auth?client_id=a&prompt=consent", "https://auth.example/oauth2/auth?client_id=a&prompt=login+consent"],
    ["https://auth.example/oauth2/auth?client_id=a&prompt=none", "https://auth.example/oauth2/auth?client_id=a&prompt=login"],
    ["https://auth.example/oauth2/auth?client_id=a&prompt=select_account+login", "https://auth.example/oauth2/auth?client_id=a&prompt=login"],
    ["/oauth2/auth?client_id=a", null],
    ["javascript:alert(1)", null],
    [undefined, null],
  ])("%p → %p", (url, expected) => {
    expect(restartWithFreshSignIn(url)).toBe(expected);
  });
});

describe("uiLocalesOf: the language an application asked for in its login step", () => {
  const cases: [string, { oidc_context?: { ui_locales?: string[] }; request_url: string }, string[] | string | undefined][] = [
    ["Hydra's list wins", { oidc_context: { ui_locales: ["de", "en"] }, request_url: "http://hydra/oauth2/auth?ui_locales=fr" }, ["de", "en"]],
    ["an empty list from Hydra: the request's parameter", { oidc_context: { ui_locales: [] }, request_url: "http://hydra/oauth2/auth?ui_locales=fr%20de" }, "fr de"],
    ["no context: the request's parameter", { request_url: "http://hydra/oauth2/auth?client_id=c&ui_locales=de" }, "de"],
    ["neither", { request_url: "http://hydra/oauth2/auth?client_id=c" }, undefined],
    ["a request URL that is no URL", { request_url: "not a url" }, undefined],
  ];
  test.each(cases)("%s", (_title, request, expected) => {
    expect(uiLocalesOf(request)).toEqual(expected);
  });
});
