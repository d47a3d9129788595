// The consent page's choices, as pure decisions: optional scopes a user may untick, "don't ask
// again", a consent that expires, and how long Hydra may remember an accepted consent.
import { approvalOf, claimPlan, consentExpiry, consentRememberFor, decideConsent, type AudienceInfo, type ConsentInput, type ConsentStep } from "../../src/decisions/consent";

const SHOP: AudienceInfo = { id: "org.example.shop", displayName: "Example Shop", tokenAudience: "https://shop.example.org" };
const DECLARED = new Map<string, string | null>([
  ["orders.read", SHOP.id],
  ["newsletter", null],
]);

function input(overrides: Partial<ConsentInput>): ConsentInput {
  return {
    clientId: "shop-web",
    audience: SHOP,
    requestedScopes: ["openid", "email", "newsletter"],
    requestedAudiences: [],
    declaredScopes: DECLARED,
    grantedScopes: [],
    optionalScopes: new Set(["email", "newsletter"]),
    forcePrompt: false,
    ...overrides,
  };
}

const show = (o: Partial<Extract<ConsentStep, { kind: "show" }>>): ConsentStep => ({ kind: "show", alreadyGranted: [], newScopes: [], optional: [], declinedBefore: [], grantedBefore: [], ...o });
const accept = (grantScope: string[]): ConsentStep => ({ kind: "accept", grantScope, grantAudience: [SHOP.tokenAudience] });

describe("decideConsent with optional scopes, declined ones and expiry", () => {
  test.each<[string, Partial<ConsentInput>, ConsentStep]>([
    ["nothing granted: every scope asked, the optional ones with a box", {}, show({ newScopes: ["openid", "email", "newsletter"], optional: ["email", "newsletter"] })],
    ["openid is never optional, even when configured so", { optionalScopes: new Set(["openid", "email"]) }, show({ newScopes: ["openid", "email", "newsletter"], optional: ["email"] })],
    [
      "an optional scope left out before (no \"don't ask again\") is asked again",
      { grantedScopes: ["openid", "email"] },
      show({ alreadyGranted: ["openid", "email"], newScopes: ["newsletter"], optional: ["newsletter"] }),
    ],
    ["declined with \"don't ask again\": passes silently without it", { grantedScopes: ["openid", "email"], declinedScopes: ["newsletter"] }, accept(["openid", "email"])],
    [
      "declined, but a new scope is asked: the declined one stays out of the page",
      { requestedScopes: ["openid", "orders.read", "newsletter"], grantedScopes: ["openid"], declinedScopes: ["newsletter"] },
      show({ alreadyGranted: ["openid"], newScopes: ["orders.read"] }),
    ],
    [
      "prompt=consent shows a declined scope again, unticked at first",
      { grantedScopes: ["openid", "email"], declinedScopes: ["newsletter"], forcePrompt: true },
      show({ alreadyGranted: ["openid", "email"], newScopes: ["newsletter"], optional: ["newsletter"], declinedBefore: ["newsletter"] }),
    ],
    [
      "a declined scope that is no longer optional is asked like any other",
      { grantedScopes: ["openid", "email"], declinedScopes: ["newsletter"], optionalScopes: new Set(["email"]) },
      show({ alreadyGranted: ["openid", "email"], newScopes: ["newsletter"] }),
    ],
    [
      "an expired consent asks for everything again and says what it held",
      { grantedScopes: ["openid", "email", "newsletter"], expired: true },
      show({ newScopes: ["openid", "email", "newsletter"], optional: ["email", "newsletter"], grantedBefore: ["openid", "email", "newsletter"] }),
    ],
    ["an expired consent with prompt=none: consent_required", { grantedScopes: ["openid", "email", "newsletter"], expired: true, promptNone: true }, expect.objectContaining({ kind: "reject", error: "consent_required" })],
  ])("%s", (_label, overrides, expected) => {
    expect(decideConsent(input(overrides))).toEqual(expected);
  });

  test.each<[string, Partial<ConsentInput>, string[], string[], boolean]>([
    ["covered", {}, ["openid", "email", "newsletter"], [], false],
    ["covered but for a declined optional scope", {}, ["openid", "email"], ["newsletter"], false],
    ["a declined scope that is required now", { optionalScopes: new Set(["email"]) }, ["openid", "email"], ["newsletter"], false],
    ["covered but expired", {}, ["openid", "email", "newsletter"], [], true],
    ["not covered", {}, ["openid"], [], false],
  ])("the statement's claim agrees with the decision (%s)", (_label, overrides, granted, declined, expired) => {
    const full = input({ ...overrides, grantedScopes: granted, declinedScopes: declined, expired });
    const plan = claimPlan(full);
    // What the consents statement tests (store/consents.ts consentContext).
    const held = new Set([...granted, ...declined.filter((s) => plan.optional.includes(s))]);
    const claims = plan.always || (!expired && plan.ifGranted !== null && plan.ifGranted.every((s) => held.has(s)));
    expect(claims).toBe(decideConsent(full).kind === "accept");
  });
});

describe("approvalOf: what an approval grants and declines", () => {
  const optional = new Set(["email", "newsletter"]);
  const requested = ["openid", "email", "newsletter", "orders.read"];
  test.each<[string, { offered: string[]; ticked: string[]; dontAskAgain: boolean }, { approved: string[]; declined: string[] }]>([
    ["every box ticked: everything", { offered: ["email", "newsletter"], ticked: ["email", "newsletter"], dontAskAgain: false }, { approved: requested, declined: [] }],
    ["one unticked: left out, asked again later", { offered: ["email", "newsletter"], ticked: ["email"], dontAskAgain: false }, { approved: ["openid", "email", "orders.read"], declined: [] }],
    ["one unticked with \"don't ask again\": declined", { offered: ["email", "newsletter"], ticked: ["email"], dontAskAgain: true }, { approved: ["openid", "email", "orders.read"], declined: ["newsletter"] }],
    ["a form without boxes (no optional scope offered): everything", { offered: [], ticked: [], dontAskAgain: true }, { approved: requested, declined: [] }],
    ["a forged form cannot leave out a required scope", { offered: ["openid", "orders.read", "email"], ticked: ["email"], dontAskAgain: true }, { approved: requested, declined: [] }],
    ["a ticked scope that was not requested is not granted", { offered: ["email"], ticked: ["email", "admin"], dontAskAgain: false }, { approved: requested, declined: [] }],
  ])("%s", (_label, choices, expected) => {
    expect(approvalOf({ requested, optionalScopes: optional, ...choices })).toEqual(expected);
  });
});

describe("consent lifetime", () => {
  const confirmed = new Date("2026-01-01T00:00:00Z");
  const at = (iso: string) => new Date(iso).getTime();
  test.each<[string, number | null, string, number]>([
    ["no consent-ttl: Hydra remembers for ever (0)", null, "2030-01-01T00:00:00Z", 0],
    ["what is left of the lifetime", 86400, "2026-01-01T06:00:00Z", 18 * 3600],
    ["never 0 (Hydra's for ever) when it ends now", 86400, "2026-01-02T00:00:00Z", 1],
    ["never 0 when it ended already", 86400, "2026-02-01T00:00:00Z", 1],
  ])("consentRememberFor: %s", (_label, ttl, now, expected) => {
    expect(consentRememberFor(ttl, confirmed, at(now))).toBe(expected);
  });

  test.each<[number | null, string, string | null, boolean]>([
    [null, "2040-01-01T00:00:00Z", null, false],
    [3600, "2026-01-01T00:59:59Z", "2026-01-01T01:00:00.000Z", false],
    [3600, "2026-01-01T01:00:00Z", "2026-01-01T01:00:00.000Z", true],
  ])("consentExpiry(ttl %p) at %s: expires %p, expired %p", (ttl, now, expiresAt, expired) => {
    const e = consentExpiry(ttl, confirmed, at(now));
    expect(e.expiresAt?.toISOString() ?? null).toBe(expiresAt);
    expect(e.expired).toBe(expired);
  });
});
