// Which claims go into the ID token for a grant (src/decisions/claims.ts).
import { releasedClaims, type ClaimDef, type ClaimUser } from "../../src/decisions/claims";

const SHOP = "org.example.shop";
const BILLING = "org.example.billing";

const ADA: ClaimUser = {
  id: "c0ffee00-0000-4000-8000-000000000001",
  email: "ada@example.org",
  emailVerified: true,
  name: "Ada Lovelace",
  givenName: "Ada",
  familyName: "Lovelace",
  attributes: {
    department: "R&D",
    level: 3,
    zero: 0,
    manager: false,
    empty: "",
    nothing: null,
    tags: ["math", "engines"],
    address: { city: "London" },
  },
};

function user(overrides: Partial<ClaimUser> = {}): ClaimUser {
  return { ...ADA, ...overrides };
}

function def(name: string, scope: string, source: string, audience: string | null = null): ClaimDef {
  return { name, scope, source, audience };
}

describe("releasedClaims: standard claims", () => {
  test.each<[string, ClaimUser, string[], Record<string, unknown>]>([
    ["nothing granted → {}", ADA, [], {}],
    ["only openid → {}", ADA, ["openid"], {}],
    ["openid offline_access address phone → {} (no user fields behind those)", ADA, ["openid", "offline_access", "address", "phone"], {}],
    ["profile → name, given_name, family_name", ADA, ["openid", "profile"], { name: "Ada Lovelace", given_name: "Ada", family_name: "Lovelace" }],
    ["profile without openid → still released", ADA, ["profile"], { name: "Ada Lovelace", given_name: "Ada", family_name: "Lovelace" }],
    ["email → email, email_verified", ADA, ["openid", "email"], { email: "ada@example.org", email_verified: true }],
    [
      "profile and email → all five",
      ADA,
      ["openid", "profile", "email"],
      { name: "Ada Lovelace", given_name: "Ada", family_name: "Lovelace", email: "ada@example.org", email_verified: true },
    ],
    [
      "duplicate granted scopes → same as once",
      ADA,
      ["email", "email", "profile", "profile"],
      { name: "Ada Lovelace", given_name: "Ada", family_name: "Lovelace", email: "ada@example.org", email_verified: true },
    ],
    ["email_verified false is kept", user({ emailVerified: false }), ["email"], { email: "ada@example.org", email_verified: false }],
    ["empty email is left out, email_verified kept", user({ email: "", emailVerified: false }), ["email"], { email_verified: false }],
    ["null given/family names are left out", user({ givenName: null, familyName: null }), ["profile"], { name: "Ada Lovelace" }],
    ["null name is left out", user({ name: null }), ["profile"], { given_name: "Ada", family_name: "Lovelace" }],
    ["empty-string names are left out", user({ name: "", givenName: "", familyName: "" }), ["profile"], {}],
    ["all names null → profile releases nothing", user({ name: null, givenName: null, familyName: null }), ["openid", "profile"], {}],
    ["scope names are case-sensitive: PROFILE releases nothing", ADA, ["PROFILE", "Email"], {}],
    ["user id is never released by a standard scope", ADA, ["openid", "profile", "email"], { name: "Ada Lovelace", given_name: "Ada", family_name: "Lovelace", email: "ada@example.org", email_verified: true }],
  ])("%s", (_label, u, granted, expected) => {
    expect(releasedClaims(u, granted, SHOP, [])).toEqual(expected);
  });
});

describe("releasedClaims: declared claims by scope and audience", () => {
  const DEFS: ClaimDef[] = [
    def("department", "org", "attributes.department"), // every audience
    def("level", "org", "attributes.level", SHOP),
    def("cost_center", "org", "attributes.department", BILLING),
    def("user_id", "ids", "id"),
    def("contact", "contact", "email", SHOP),
    def("nickname", "profile", "given_name"), // declared under a built-in scope
  ];

  test.each<[string, string[], string, Record<string, unknown>]>([
    ["no scope granted → {}", [], SHOP, {}],
    ["only openid → {}", ["openid"], SHOP, {}],
    ["org for the shop → the open claim and the shop's", ["openid", "org"], SHOP, { department: "R&D", level: 3 }],
    ["org for billing → the open claim and billing's", ["openid", "org"], BILLING, { department: "R&D", cost_center: "R&D" }],
    ["org for a third audience → only the open claim", ["org"], "org.example.other", { department: "R&D" }],
    ["audience ids are compared exactly (case)", ["org"], "ORG.EXAMPLE.SHOP", { department: "R&D" }],
    ["audience ids are compared exactly (prefix)", ["org"], "org.example.shop.eu", { department: "R&D" }],
    ["ids → the user id", ["ids"], BILLING, { user_id: "c0ffee00-0000-4000-8000-000000000001" }],
    ["contact for the shop → the email under another name", ["contact"], SHOP, { contact: "ada@example.org" }],
    ["contact for billing → nothing (claim limited to the shop)", ["contact"], BILLING, {}],
    ["profile → standard profile claims plus the declared nickname", ["profile"], BILLING, { name: "Ada Lovelace", given_name: "Ada", family_name: "Lovelace", nickname: "Ada" }],
    [
      "everything for the shop",
      ["openid", "profile", "email", "org", "ids", "contact"],
      SHOP,
      {
        name: "Ada Lovelace",
        given_name: "Ada",
        family_name: "Lovelace",
        email: "ada@example.org",
        email_verified: true,
        department: "R&D",
        level: 3,
        user_id: "c0ffee00-0000-4000-8000-000000000001",
        contact: "ada@example.org",
        nickname: "Ada",
      },
    ],
    ["an unknown scope granted releases nothing", ["orders.read"], SHOP, {}],
  ])("%s (audience %s)", (_label, granted, audienceId, expected) => {
    expect(releasedClaims(ADA, granted, audienceId, DEFS)).toEqual(expected);
  });

  test("a claim whose audience matches but whose scope is not granted is left out", () => {
    expect(releasedClaims(ADA, ["openid", "email"], SHOP, [def("level", "org", "attributes.level", SHOP)])).toEqual({
      email: "ada@example.org",
      email_verified: true,
    });
  });

  test("a claim whose scope is granted but whose audience differs is left out", () => {
    expect(releasedClaims(ADA, ["org"], SHOP, [def("cost_center", "org", "attributes.department", BILLING)])).toEqual({});
  });

  test("standard claims come first, then declared ones in definition order", () => {
    const claims = releasedClaims(ADA, ["profile", "org", "ids"], SHOP, [def("user_id", "ids", "id"), def("level", "org", "attributes.level")]);
    expect(Object.keys(claims)).toEqual(["name", "given_name", "family_name", "user_id", "level"]);
  });

  test("does not mutate its inputs", () => {
    const granted = ["org", "profile"];
    const defs = [def("department", "org", "attributes.department")];
    const u = user({ attributes: { department: "R&D" } });
    releasedClaims(u, granted, SHOP, defs);
    expect(granted).toEqual(["org", "profile"]);
    expect(defs).toEqual([def("department", "org", "attributes.department")]);
    expect(u.attributes).toEqual({ department: "R&D" });
  });
});

describe("releasedClaims: sources", () => {
  test.each<[string, unknown, Record<string, unknown>]>([
    // source, attributes, expected for a claim "c" under scope "s" (audience null)
    ["id", ADA.attributes, { c: "c0ffee00-0000-4000-8000-000000000001" }],
    ["email", ADA.attributes, { c: "ada@example.org" }],
    ["email_verified", ADA.attributes, { c: true }],
    ["name", ADA.attributes, { c: "Ada Lovelace" }],
    ["given_name", ADA.attributes, { c: "Ada" }],
    ["family_name", ADA.attributes, { c: "Lovelace" }],
    ["unknown-field", ADA.attributes, {}],
    ["emailVerified", ADA.attributes, {}],
    ["attributes", ADA.attributes, {}],
    ["attributes.department", ADA.attributes, { c: "R&D" }],
    ["attributes.level", ADA.attributes, { c: 3 }],
    ["attributes.zero", ADA.attributes, { c: 0 }],
    ["attributes.manager", ADA.attributes, { c: false }],
    ["attributes.tags", ADA.attributes, { c: ["math", "engines"] }],
    ["attributes.address", ADA.attributes, { c: { city: "London" } }],
    ["attributes.empty", ADA.attributes, {}],
    ["attributes.nothing", ADA.attributes, {}],
    ["attributes.missing", ADA.attributes, {}],
    ["attributes.", ADA.attributes, {}],
    ["attributes.address.city", ADA.attributes, {}],
    ["attributes.a.b", { "a.b": "dotted key" }, { c: "dotted key" }],
    ["attributes.", { "": "empty key" }, { c: "empty key" }],
    ["attributes.department", null, {}],
    ["attributes.department", undefined, {}],
    ["attributes.department", "R&D", {}],
    ["attributes.length", "R&D", {}],
    ["attributes.department", 42, {}],
    ["attributes.department", true, {}],
    ["attributes.0", ["first"], {}],
    ["attributes.length", ["first"], {}],
    ["attributes.department", [{ department: "R&D" }], {}],
    ["attributes.toString", {}, {}],
    ["attributes.constructor", {}, {}],
    ["attributes.hasOwnProperty", {}, {}],
    ["attributes.valueOf", {}, {}],
    ["attributes.__proto__", {}, {}],
    ["attributes.__defineGetter__", {}, {}],
    ["attributes.toString", Object.create(null), {}],
    ["attributes.department", Object.create({ department: "inherited" }), {}],
    ["attributes.toString", { toString: "own value" }, { c: "own value" }],
    ["attributes.constructor", { constructor: "own value" }, { c: "own value" }],
    ["attributes.__proto__", JSON.parse('{"__proto__": "own value"}'), { c: "own value" }],
    ["attributes.department", Object.assign(Object.create(null), { department: "no prototype" }), { c: "no prototype" }],
  ])("source %p with attributes %p → %p", (source, attributes, expected) => {
    expect(releasedClaims(user({ attributes }), ["s"], SHOP, [def("c", "s", source)])).toEqual(expected);
  });

  test("empty standard fields are left out when used as declared sources, false is kept", () => {
    const u = user({ email: "", emailVerified: false, name: null, givenName: "", familyName: null });
    const defs = [
      def("e", "s", "email"),
      def("ev", "s", "email_verified"),
      def("n", "s", "name"),
      def("gn", "s", "given_name"),
      def("fn", "s", "family_name"),
      def("i", "s", "id"),
    ];
    expect(releasedClaims(u, ["s"], SHOP, defs)).toEqual({ ev: false, i: "c0ffee00-0000-4000-8000-000000000001" });
  });

  test("prototype-keyed sources never yield functions, whatever is granted", () => {
    const names = ["toString", "constructor", "hasOwnProperty", "valueOf", "isPrototypeOf", "__proto__"];
    const claims = releasedClaims(user({ attributes: {} }), ["s"], SHOP, names.map((n) => def(`c_${n}`, "s", `attributes.${n}`)));
    expect(claims).toEqual({});
  });
});
