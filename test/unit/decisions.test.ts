// Pure decisions of the login and consent steps (src/decisions/login.ts, src/decisions/consent.ts).
import { decideLoginStart, loginAcceptance, type LoginStart } from "../../src/decisions/login";
import { decideConsent, unique, type ConsentInput, type ConsentStep } from "../../src/decisions/consent";

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
      { subject: "user-1", remember: true, remember_for: 2592000, context: { audience: "org.example.shop" } },
    ],
    [
      "not remembered: remember_for is 0 whatever the configured lifetime",
      { userId: "user-1", remember: false, rememberForSeconds: 2592000, audienceId: "org.example.shop" },
      { subject: "user-1", remember: false, remember_for: 0, context: { audience: "org.example.shop" } },
    ],
    [
      "no audience: context.audience is null",
      { userId: "user-2", remember: true, rememberForSeconds: 60, audienceId: null },
      { subject: "user-2", remember: true, remember_for: 60, context: { audience: null } },
    ],
    [
      "skip-path acceptance (remember false, lifetime 0)",
      { userId: "user-3", remember: false, rememberForSeconds: 0, audienceId: null },
      { subject: "user-3", remember: false, remember_for: 0, context: { audience: null } },
    ],
  ])("%s", (_label, opts, expected) => {
    expect(loginAcceptance(opts)).toEqual(expected);
  });

  test("the subject is the user id, never an email-like value derived from elsewhere", () => {
    const acceptance = loginAcceptance({ userId: "c0ffee00-0000-4000-8000-000000000001", remember: false, rememberForSeconds: 10, audienceId: "shop" });
    expect(acceptance.subject).toBe("c0ffee00-0000-4000-8000-000000000001");
    expect(Object.keys(acceptance).sort()).toEqual(["context", "remember", "remember_for", "subject"]);
  });
});

describe("decideConsent", () => {
  test.each<[string, ConsentInput, ConsentStep]>([
    [
      "skip → accept the requested scopes and audiences",
      { skip: true, requestedScopes: ["openid", "profile"], requestedAudiences: ["org.example.shop"] },
      { kind: "accept", grantScope: ["openid", "profile"], grantAudience: ["org.example.shop"] },
    ],
    [
      "skip → duplicates in scopes and audiences are removed, order kept",
      { skip: true, requestedScopes: ["openid", "email", "openid", "profile", "email"], requestedAudiences: ["b", "a", "b"] },
      { kind: "accept", grantScope: ["openid", "email", "profile"], grantAudience: ["b", "a"] },
    ],
    [
      "skip with nothing requested → accept nothing",
      { skip: true, requestedScopes: [], requestedAudiences: [] },
      { kind: "accept", grantScope: [], grantAudience: [] },
    ],
    [
      "no skip → show the requested scopes",
      { skip: false, requestedScopes: ["openid", "offline_access"], requestedAudiences: ["org.example.shop"] },
      { kind: "show", scopes: ["openid", "offline_access"] },
    ],
    [
      "no skip → the shown scopes are deduplicated",
      { skip: false, requestedScopes: ["openid", "openid", "orders.read"], requestedAudiences: [] },
      { kind: "show", scopes: ["openid", "orders.read"] },
    ],
    [
      "no skip with nothing requested → show an empty list",
      { skip: false, requestedScopes: [], requestedAudiences: ["x"] },
      { kind: "show", scopes: [] },
    ],
  ])("%s", (_label, input, expected) => {
    expect(decideConsent(input)).toEqual(expected);
  });

  test("does not mutate or alias its input arrays", () => {
    const input: ConsentInput = { skip: true, requestedScopes: ["openid", "openid"], requestedAudiences: ["a"] };
    const step = decideConsent(input);
    expect(input.requestedScopes).toEqual(["openid", "openid"]);
    if (step.kind !== "accept") throw new Error(`expected accept, got ${step.kind}`);
    expect(step.grantScope).not.toBe(input.requestedScopes);
    expect(step.grantAudience).not.toBe(input.requestedAudiences);
  });
});

describe("unique", () => {
  test.each<[string[], string[]]>([
    [[], []],
    [["a"], ["a"]],
    [["a", "b", "a", "c", "b"], ["a", "b", "c"]],
    [["B", "b", "B"], ["B", "b"]],
  ])("%p → %p", (input, expected) => {
    expect(unique(input)).toEqual(expected);
  });
});
