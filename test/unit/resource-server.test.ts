import { judgeToken, wwwAuthenticate, type Introspection, type TokenVerdict } from "../../src/resource-server/judge";

const NOW = 1_800_000_000;
const required = { audience: "org.example.registration", scopes: ["registration.read"], nowSeconds: NOW };
const good: Introspection = { active: true, aud: ["org.example.registration"], scope: "openid registration.read", exp: NOW + 60, sub: "u1", client_id: "c1", token_use: "access_token" };

describe("judgeToken", () => {
  test.each<[string, Introspection, typeof required, TokenVerdict]>([
    ["a good token", good, required, { ok: true, scopes: ["openid", "registration.read"] }],
    ["no scopes required", { ...good, scope: "" }, { ...required, scopes: [] }, { ok: true, scopes: [] }],
    ["one of several audiences", { ...good, aud: ["x", "org.example.registration"] }, required, { ok: true, scopes: ["openid", "registration.read"] }],
    ["inactive", { active: false }, required, { ok: false, status: 401, error: "invalid_token", description: "The access token is not active (unknown, expired or revoked)." }],
    ["a refresh token", { ...good, token_use: "refresh_token" }, required, { ok: false, status: 401, error: "invalid_token", description: "This is not an access token." }],
    ["expired now", { ...good, exp: NOW }, required, { ok: false, status: 401, error: "invalid_token", description: "The access token has expired." }],
    ["another audience", { ...good, aud: ["org.example.dealers-den"] }, required, { ok: false, status: 401, error: "invalid_token", description: "The access token is not meant for this service (audience org.example.registration)." }],
    ["no aud at all", { ...good, aud: undefined }, required, { ok: false, status: 401, error: "invalid_token", description: "The access token is not meant for this service (audience org.example.registration)." }],
    ["a prefix of the scope is not the scope", { ...good, scope: "registration.readonly" }, required, { ok: false, status: 403, error: "insufficient_scope", description: "The access token lacks the scope registration.read.", missingScopes: ["registration.read"] }],
    ["two scopes missing", { ...good, scope: "openid" }, { ...required, scopes: ["a", "b"] }, { ok: false, status: 403, error: "insufficient_scope", description: "The access token lacks the scope a b.", missingScopes: ["a", "b"] }],
  ])("%s", (_label, info, req, expected) => {
    expect(judgeToken(info, req)).toEqual(expected);
  });
});

describe("wwwAuthenticate", () => {
  test.each<[string, Parameters<typeof wwwAuthenticate>, string]>([
    ["bare challenge", ["api"], 'Bearer realm="api"'],
    ["invalid token", ["api", { ok: false, status: 401, error: "invalid_token", description: "expired" }], 'Bearer realm="api", error="invalid_token", error_description="expired"'],
    [
      "insufficient scope names the scopes",
      ["api", { ok: false, status: 403, error: "insufficient_scope", description: "lacks a" }, ["a", "b"]],
      'Bearer realm="api", error="insufficient_scope", error_description="lacks a", scope="a b"',
    ],
    ["quotes and backslashes are dropped", ['a"p\\i', { error: "invalid_request", description: 'bad "x"' }], 'Bearer realm="api", error="invalid_request", error_description="bad x"'],
  ])("%s", (_label, args, expected) => {
    expect(wwwAuthenticate(...args)).toBe(expected);
  });
});
