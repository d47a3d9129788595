// parseAppConfig / loadAppConfigFile: validation of the admins' declarative configuration
// (src/config/audiences.ts). Every invalid case asserts the exact "path: rule" line reported.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  AUDIENCE_ID_PATTERN,
  isAllowedUrl,
  isNativeAppRedirect,
  AudienceConfigError,
  loadAppConfigFile,
  parseAppConfig,
  type AppConfig,
  type ConfigFile,
} from "../../src/config/audiences";

const ID_RULE =
  "must be lowercase dot-separated kebab-case segments ([a-z0-9]+(-[a-z0-9]+)*), with no leading or trailing dot or slash, e.g. org.example.dealers-den";
const CB = "https://shop.example.com/callback";

/** A confidential web client of `audience` with a redirect URI: valid unless overridden. */
function client(id: string, audience: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id, audience, "secret-env": "CLIENT_SECRET", "redirect-uris": [CB], ...extra };
}

/** Runs parseAppConfig and returns the AudienceConfigError's problems; fails if it does not throw one. */
function problemsOf(raw: unknown, source?: string): string[] {
  let thrown: unknown;
  try {
    parseAppConfig(raw, source);
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(AudienceConfigError);
  return (thrown as AudienceConfigError).problems;
}

describe("parseAppConfig rejects", () => {
  describe("bad audience identifiers", () => {
    test.each([
      ["uppercase", "Shop"],
      ["uppercase in a later segment", "org.Example"],
      ["trailing dot", "shop."],
      ["leading dot", ".shop"],
      ["slash", "org/shop"],
      ["trailing slash", "shop/"],
      ["underscore", "my_shop"],
      ["double hyphen", "my--shop"],
      ["leading hyphen", "-shop"],
      ["trailing hyphen", "shop-"],
      ["empty segment", "org..shop"],
      ["empty string", ""],
      ["whitespace", "my shop"],
    ])("%s (%p)", (_label, id) => {
      expect(AUDIENCE_ID_PATTERN.test(id)).toBe(false);
      expect(problemsOf({ audiences: [{ id }] })).toEqual([`audiences[0].id: ${ID_RULE}`]);
    });

    test.each([
      ["scopes[0].audience", { scopes: [{ name: "x", audience: "Bad" }] }],
      ["claims[0].audience", { claims: [{ name: "x", scope: "openid", source: "id", audience: "bad." }] }],
      ["clients[0].audience", { clients: [client("c", "bad_id")] }],
      ["admin.audience", { admin: { audience: "/admin" } }],
    ])("an identifier at %s", (where, raw) => {
      expect(problemsOf(raw)).toContain(`${where}: ${ID_RULE}`);
    });

    test.each(["shop", "shop-2", "org.example.dealers-den", "a.b.c", "0", "x-y-z.q"])("and accepts %p", (id) => {
      expect(AUDIENCE_ID_PATTERN.test(id)).toBe(true);
      expect(parseAppConfig({ audiences: [{ id }] }).audiences[0]!.id).toBe(id);
    });
  });

  describe("identifier-prefix", () => {
    test.each(["org.example", "Org.", ".org.", "org..", "org_x.", ""])("a malformed prefix %p", (prefix) => {
      expect(problemsOf({ "identifier-prefix": prefix })).toEqual([
        "identifier-prefix: must be dot-terminated lowercase kebab-case segments, e.g. org.example.",
      ]);
    });

    test("an audience that does not start with the prefix", () => {
      const raw = { "identifier-prefix": "org.example.", audiences: [{ id: "org.example.shop" }, { id: "shop" }, { id: "org.examples" }] };
      expect(problemsOf(raw)).toEqual([
        'audiences[1].id: "shop" must start with the identifier prefix "org.example."',
        'audiences[2].id: "org.examples" must start with the identifier prefix "org.example."',
      ]);
    });

    test("is satisfied when every audience starts with it", () => {
      const cfg = parseAppConfig({ "identifier-prefix": "org.example.", audiences: [{ id: "org.example.shop" }, { id: "org.example.blog.admin" }] });
      expect(cfg.audiences.map((a) => a.id)).toEqual(["org.example.shop", "org.example.blog.admin"]);
    });
  });

  test.each<[string, unknown, string]>([
    // Unknown audiences referenced elsewhere
    ["unknown audience on a scope", { scopes: [{ name: "orders", audience: "shop" }] }, 'scopes[0].audience: unknown audience "shop" (declare it under audiences)'],
    [
      "unknown audience on a claim",
      { audiences: [{ id: "blog" }], claims: [{ name: "tier", scope: "openid", source: "id", audience: "shop" }] },
      'claims[0].audience: unknown audience "shop" (declare it under audiences)',
    ],
    ["unknown audience on a client", { audiences: [{ id: "blog" }], clients: [client("web", "shop")] }, 'clients[0].audience: unknown audience "shop" (declare it under audiences)'],
    ["unknown admin.audience", { audiences: [{ id: "blog" }], admin: { audience: "admin" } }, 'admin.audience: unknown audience "admin" (declare it under audiences)'],

    // Duplicates
    ["duplicate audience", { audiences: [{ id: "shop" }, { id: "blog" }, { id: "shop" }] }, 'audiences[2].id: duplicate audience "shop"'],
    ["duplicate scope", { scopes: [{ name: "orders" }, { name: "orders", description: "again" }] }, 'scopes[1].name: duplicate scope "orders"'],
    [
      "an admin scope duplicating a declared scope",
      { audiences: [{ id: "admin" }], scopes: [{ name: "manage" }], admin: { audience: "admin", scopes: [{ name: "manage" }] } },
      'admin.scopes[0].name: duplicate scope "manage"',
    ],
    [
      "duplicate claim",
      {
        claims: [
          { name: "tier", scope: "profile", source: "attributes.tier" },
          { name: "tier", scope: "openid", source: "id" },
        ],
      },
      'claims[1].name: duplicate claim "tier"',
    ],
    [
      "duplicate client",
      { audiences: [{ id: "shop" }], clients: [client("web", "shop"), client("web", "shop", { name: "Other" })] },
      'clients[1].id: duplicate client "web"',
    ],

    // Token audiences
    [
      "two audiences with the same explicit token-audience",
      { audiences: [{ id: "shop", "token-audience": "https://api.example.com" }, { id: "blog", "token-audience": "https://api.example.com" }] },
      'audiences: "blog" and "shop" share the token-audience "https://api.example.com"',
    ],
    [
      "a token-audience equal to another audience's default token-audience (its id)",
      { audiences: [{ id: "api" }, { id: "shop", "token-audience": "api" }] },
      'audiences: "shop" and "api" share the token-audience "api"',
    ],

    // Client scopes
    [
      "a client given a scope of another audience",
      {
        audiences: [{ id: "shop" }, { id: "blog" }],
        scopes: [{ name: "posts.write", audience: "blog" }],
        clients: [client("shop-web", "shop", { scopes: ["openid", "posts.write"] })],
      },
      'clients[0].scopes[1]: scope "posts.write" belongs to audience "blog", not to the client\'s audience "shop"',
    ],
    [
      "a client given an admin scope while not in the admin audience",
      { audiences: [{ id: "shop" }, { id: "admin" }], admin: { audience: "admin", scopes: [{ name: "users.manage" }] }, clients: [client("web", "shop", { scopes: ["users.manage"] })] },
      'clients[0].scopes[0]: scope "users.manage" belongs to audience "admin", not to the client\'s audience "shop"',
    ],
    [
      "an unknown scope on a client",
      { audiences: [{ id: "shop" }], clients: [client("web", "shop", { scopes: ["openid", "orders.read"] })] },
      'clients[0].scopes[1]: unknown scope "orders.read" (declare it under scopes)',
    ],

    // Built-in scopes and standard claims
    ["redeclaring the built-in scope email", { scopes: [{ name: "email" }] }, 'scopes[0].name: "email" is a built-in OpenID Connect scope and cannot be redeclared'],
    ["redeclaring the built-in scope openid", { scopes: [{ name: "x" }, { name: "openid" }] }, 'scopes[1].name: "openid" is a built-in OpenID Connect scope and cannot be redeclared'],
    ["redeclaring offline_access", { scopes: [{ name: "offline_access" }] }, 'scopes[0].name: "offline_access" is a built-in OpenID Connect scope and cannot be redeclared'],
    [
      "redeclaring a built-in scope under admin.scopes",
      { audiences: [{ id: "admin" }], admin: { audience: "admin", scopes: [{ name: "profile" }] } },
      'admin.scopes[0].name: "profile" is a built-in OpenID Connect scope and cannot be redeclared',
    ],
    [
      "a claim named email (standard claim)",
      { claims: [{ name: "email", scope: "openid", source: "email" }] },
      'claims[0].name: "email" is released by the "email" scope already and cannot be redeclared',
    ],
    [
      "a claim named given_name (standard claim)",
      { claims: [{ name: "given_name", scope: "profile", source: "given_name" }] },
      'claims[0].name: "given_name" is released by the "profile" scope already and cannot be redeclared',
    ],
    ["a claim whose scope is unknown", { claims: [{ name: "tier", scope: "billing", source: "attributes.tier" }] }, 'claims[0].scope: unknown scope "billing"'],
    [
      "a claim whose scope is not visible to the claim's audience",
      {
        audiences: [{ id: "shop" }, { id: "blog" }],
        scopes: [{ name: "posts", audience: "blog" }],
        claims: [{ name: "tier", scope: "posts", source: "attributes.tier", audience: "shop" }],
      },
      'claims[0].scope: scope "posts" is not visible to the claim\'s audience "shop"',
    ],

    // Client authentication and grants
    [
      "a confidential client (default method) without secret-env",
      { audiences: [{ id: "shop" }], clients: [{ id: "web", audience: "shop", "redirect-uris": [CB], "token-endpoint-auth-method": "client_secret_basic" }] },
      "clients[0].secret-env: a confidential client (client_secret_basic) needs the name of the environment variable holding its secret",
    ],
    [
      "a client_secret_post client without secret-env",
      { audiences: [{ id: "shop" }], clients: [{ id: "web", audience: "shop", "redirect-uris": [CB], "token-endpoint-auth-method": "client_secret_post" }] },
      "clients[0].secret-env: a confidential client (client_secret_post) needs the name of the environment variable holding its secret",
    ],
    [
      "a public client (token-endpoint-auth-method none) with secret-env",
      { audiences: [{ id: "shop" }], clients: [client("web", "shop", { "token-endpoint-auth-method": "none" })] },
      'clients[0].token-endpoint-auth-method: "none" (public client) cannot have a secret-env',
    ],
    [
      "client_credentials on a public client",
      { audiences: [{ id: "shop" }], clients: [{ id: "svc", audience: "shop", "grant-types": ["client_credentials"] }] },
      "clients[0].grant-types: client_credentials needs a confidential client (set secret-env)",
    ],
    [
      "authorization_code without redirect-uris",
      { audiences: [{ id: "shop" }], clients: [{ id: "web", audience: "shop", "secret-env": "S", "grant-types": ["authorization_code"] }] },
      "clients[0].redirect-uris: required for the authorization_code grant",
    ],
    [
      "the default grant types (authorization_code) without redirect-uris",
      { audiences: [{ id: "shop" }], clients: [{ id: "web", audience: "shop", "secret-env": "S" }] },
      "clients[0].redirect-uris: required for the authorization_code grant",
    ],
    [
      "authorization_code with an explicitly empty redirect-uris list",
      { audiences: [{ id: "shop" }], clients: [client("web", "shop", { "redirect-uris": [] })] },
      "clients[0].redirect-uris: required for the authorization_code grant",
    ],

    // Unknown keys (strict objects)
    ["an unknown top-level key", { audience: [{ id: "shop" }] }, '(root): Unrecognized key: "audience"'],
    ["an unknown key on an audience", { audiences: [{ id: "shop", "signup-enabled": false }] }, 'audiences[0]: Unrecognized key: "signup-enabled"'],
    ["an unknown key on a scope", { scopes: [{ name: "orders", title: "Orders" }] }, 'scopes[0]: Unrecognized key: "title"'],
    ["an unknown key on a claim", { claims: [{ name: "tier", scope: "openid", source: "id", type: "string" }] }, 'claims[0]: Unrecognized key: "type"'],
    ["an unknown key on a client", { audiences: [{ id: "shop" }], clients: [client("web", "shop", { secret: "hunter2" })] }, 'clients[0]: Unrecognized key: "secret"'],
    ["an unknown key on admin", { audiences: [{ id: "admin" }], admin: { audience: "admin", users: [] } }, 'admin: Unrecognized key: "users"'],
    [
      "an audience on an admin scope (it is implied)",
      { audiences: [{ id: "admin" }], admin: { audience: "admin", scopes: [{ name: "manage", audience: "admin" }] } },
      'admin.scopes[0]: Unrecognized key: "audience"',
    ],

    // Field formats
    ["a missing audience id", { audiences: [{ name: "Shop" }] }, "audiences[0].id: is required"],
    ["an empty audience name", { audiences: [{ id: "shop", name: "" }] }, "audiences[0].name: must not be empty"],
    ["whitespace in a token-audience", { audiences: [{ id: "shop", "token-audience": "shop api" }] }, "audiences[0].token-audience: must not contain whitespace"],
    ["a relative start-url", { audiences: [{ id: "shop", "start-url": "/home" }] }, "audiences[0].start-url: must be an absolute URL"],
    ["a scope name with a space", { scopes: [{ name: "read orders" }] }, "scopes[0].name: must be a valid OAuth scope token (no spaces, quotes or backslashes)"],
    ["a scope name with a quote", { scopes: [{ name: 'read"orders' }] }, "scopes[0].name: must be a valid OAuth scope token (no spaces, quotes or backslashes)"],
    ["a claim name starting with a digit", { claims: [{ name: "1tier", scope: "openid", source: "id" }] }, "claims[0].name: must be a claim name"],
    [
      "a claim source that is not a user field",
      { claims: [{ name: "tier", scope: "openid", source: "password_hash" }] },
      "claims[0].source: must be a user field (email, email_verified, name, given_name, family_name, id) or attributes.<key>",
    ],
    [
      "a claim source of a bare attributes.",
      { claims: [{ name: "tier", scope: "openid", source: "attributes." }] },
      "claims[0].source: must be a user field (email, email_verified, name, given_name, family_name, id) or attributes.<key>",
    ],
    ["a client id with a space", { audiences: [{ id: "shop" }], clients: [client("my web", "shop")] }, "clients[0].id: must be 1-255 characters of A-Z a-z 0-9 . _ ~ -"],
    ["a lowercase secret-env", { audiences: [{ id: "shop" }], clients: [client("web", "shop", { "secret-env": "web_secret" })] }, "clients[0].secret-env: must be an environment variable name (A-Z, 0-9, _)"],
    ["a relative redirect URI", { audiences: [{ id: "shop" }], clients: [client("web", "shop", { "redirect-uris": [CB, "/cb"] })] }, "clients[0].redirect-uris[1]: must be an absolute URL"],
    [
      "a relative post-logout redirect URI",
      { audiences: [{ id: "shop" }], clients: [client("web", "shop", { "post-logout-redirect-uris": ["bye"] })] },
      "clients[0].post-logout-redirect-uris[0]: must be an absolute URL",
    ],
    ["a javascript: start-url", { audiences: [{ id: "shop", "start-url": "javascript:alert(1)" }] }, "audiences[0].start-url: must be an https: URL (http: only for localhost or 127.0.0.1; no other scheme, no user:password@)"],
    ["a data: start-url", { audiences: [{ id: "shop", "start-url": "data:text/html,<script>alert(1)</script>" }] }, "audiences[0].start-url: must be an https: URL (http: only for localhost or 127.0.0.1; no other scheme, no user:password@)"],
    ["an http: start-url on a public host", { audiences: [{ id: "shop", "start-url": "http://shop.example.org/" }] }, "audiences[0].start-url: must be an https: URL (http: only for localhost or 127.0.0.1; no other scheme, no user:password@)"],
    ["a start-url with credentials", { audiences: [{ id: "shop", "start-url": "https://user:pw@shop.example.org/" }] }, "audiences[0].start-url: must be an https: URL (http: only for localhost or 127.0.0.1; no other scheme, no user:password@)"],
    ["a javascript: redirect URI", { audiences: [{ id: "shop" }], clients: [client("web", "shop", { "redirect-uris": ["javascript:alert(1)"] })] }, "clients[0].redirect-uris[0]: must be an https: URL (http: only for localhost or 127.0.0.1; a native app's reverse-domain scheme such as org.example.app:/cb; no other scheme, no user:password@)"],
    ["an http: redirect URI on a public host", { audiences: [{ id: "shop" }], clients: [client("web", "shop", { "redirect-uris": ["http://evil.example/cb"] })] }, "clients[0].redirect-uris[0]: must be an https: URL (http: only for localhost or 127.0.0.1; a native app's reverse-domain scheme such as org.example.app:/cb; no other scheme, no user:password@)"],
    ["a custom-scheme post-logout URI", { audiences: [{ id: "shop" }], clients: [client("web", "shop", { "post-logout-redirect-uris": ["vbscript:msgbox"] })] }, "clients[0].post-logout-redirect-uris[0]: must be an https: URL (http: only for localhost or 127.0.0.1; no other scheme, no user:password@)"],
    ["whitespace in an allowed audience", { audiences: [{ id: "shop" }], clients: [client("web", "shop", { "allowed-audiences": ["a b"] })] }, "clients[0].allowed-audiences[0]: must not contain whitespace"],
  ])("%s", (_label, raw, expected) => {
    expect(problemsOf(raw)).toContain(expected);
  });

  test("several problems are reported together, in file order", () => {
    const raw = {
      audiences: [{ id: "shop" }, { id: "shop" }],
      scopes: [{ name: "email" }, { name: "orders", audience: "blog" }],
      claims: [{ name: "tier", scope: "billing", source: "id" }],
      clients: [{ id: "svc", audience: "shop", "grant-types": ["client_credentials"], scopes: ["nope"] }],
    };
    expect(problemsOf(raw)).toEqual([
      'audiences[1].id: duplicate audience "shop"',
      'scopes[0].name: "email" is a built-in OpenID Connect scope and cannot be redeclared',
      'scopes[1].audience: unknown audience "blog" (declare it under audiences)',
      'claims[0].scope: unknown scope "billing"',
      'clients[0].scopes[0]: unknown scope "nope" (declare it under scopes)',
      "clients[0].grant-types: client_credentials needs a confidential client (set secret-env)",
    ]);
  });

  test("schema errors are all reported before any cross-reference check", () => {
    const problems = problemsOf({ audiences: [{ id: "Bad" }, { id: "ok", extra: 1 }], clients: [{ id: "web", audience: "nope" }] });
    expect(problems).toEqual([`audiences[0].id: ${ID_RULE}`, 'audiences[1]: Unrecognized key: "extra"']);
  });

  test("the error message names its source and lists each problem", () => {
    let thrown: unknown;
    try {
      parseAppConfig({ scopes: [{ name: "email" }] }, "audiences.yaml");
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(AudienceConfigError);
    const err = thrown as AudienceConfigError;
    expect(err.name).toBe("AudienceConfigError");
    expect(err.message).toBe(
      'Invalid audiences.yaml:\n  - scopes[0].name: "email" is a built-in OpenID Connect scope and cannot be redeclared',
    );
  });

  test("without a source the message says configuration", () => {
    let thrown: unknown;
    try {
      parseAppConfig({ audiences: "shop" });
    } catch (err) {
      thrown = err;
    }
    expect((thrown as AudienceConfigError).message.split("\n")[0]).toBe("Invalid configuration:");
  });

  test.each<[string, unknown]>([
    ["an array", []],
    ["a string", "audiences: []"],
    ["a number", 42],
  ])("a root that is %s", (_label, raw) => {
    const problems = problemsOf(raw);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.startsWith("(root): ")).toBe(true);
  });
});

describe("parseAppConfig accepts", () => {
  test.each<[string, unknown]>([
    ["undefined", undefined],
    ["null", null],
    ["an empty object", {}],
  ])("%s as an empty configuration", (_label, raw) => {
    expect(parseAppConfig(raw)).toEqual<AppConfig>({ audiences: [], scopes: [], claims: [], clients: [], adminAudience: null });
  });

  test("an audience with only an id gets the defaults", () => {
    expect(parseAppConfig({ audiences: [{ id: "org.example.shop" }] }).audiences).toEqual([
      { id: "org.example.shop", name: "org.example.shop", tokenAudience: "org.example.shop", signUpEnabled: true, invitationEnabled: false, requireVerifiedEmail: false, mfa: "optional", startUrl: null, brandName: null, brandLogo: null, consentTtlSeconds: null },
    ]);
  });

  test("an audience with every field set keeps them", () => {
    const raw: ConfigFile = {
      audiences: [
        { id: "shop", name: "The Shop", "token-audience": "https://api.shop.example", "sign-up-enabled": false, "invitation-enabled": true, "require-verified-email": true, "start-url": "https://shop.example/", "consent-ttl": "365d" },
      ],
    };
    expect(parseAppConfig(raw).audiences).toEqual([
      { id: "shop", name: "The Shop", tokenAudience: "https://api.shop.example", signUpEnabled: false, invitationEnabled: true, requireVerifiedEmail: true, mfa: "optional", startUrl: "https://shop.example/", brandName: null, brandLogo: null, consentTtlSeconds: 365 * 86400 },
    ]);
  });

  test("a client with only the required fields gets the defaults", () => {
    const cfg = parseAppConfig({ audiences: [{ id: "shop" }], clients: [{ id: "web", audience: "shop", "redirect-uris": [CB] }] });
    expect(cfg.clients).toEqual([
      {
        id: "web",
        name: "web",
        audience: "shop",
        secretEnv: null,
        redirectUris: [CB],
        postLogoutRedirectUris: [],
        grantTypes: ["authorization_code", "refresh_token"],
        responseTypes: ["code"],
        scopes: ["openid"],
        optionalScopes: [],
        allowedAudiences: ["shop"],
        tokenEndpointAuthMethod: "none",
        logoUri: null,
        clientUri: null,
        policyUri: null,
        tosUri: null,
      },
    ]);
  });

  test.each<[string, Record<string, unknown>, string]>([
    ["secret-env → client_secret_basic", { "secret-env": "S" }, "client_secret_basic"],
    ["secret-env with client_secret_post", { "secret-env": "S", "token-endpoint-auth-method": "client_secret_post" }, "client_secret_post"],
    ["no secret-env → none", {}, "none"],
    ["explicit none without secret-env", { "token-endpoint-auth-method": "none" }, "none"],
  ])("token-endpoint-auth-method: %s", (_label, extra, expected) => {
    const cfg = parseAppConfig({ audiences: [{ id: "shop" }], clients: [{ id: "web", audience: "shop", "redirect-uris": [CB], ...extra }] });
    expect(cfg.clients[0]!.tokenEndpointAuthMethod).toBe(expected);
  });

  test("a confidential client_credentials client needs no redirect-uris", () => {
    const cfg = parseAppConfig({ audiences: [{ id: "shop" }], clients: [{ id: "svc", audience: "shop", "secret-env": "SVC_SECRET", "grant-types": ["client_credentials"] }] });
    expect(cfg.clients[0]).toMatchObject({ id: "svc", secretEnv: "SVC_SECRET", grantTypes: ["client_credentials"], redirectUris: [], tokenEndpointAuthMethod: "client_secret_basic" });
  });

  test("scopes default to no description and no audience", () => {
    const cfg = parseAppConfig({ audiences: [{ id: "shop" }], scopes: [{ name: "shared" }, { name: "orders.read", description: "Read orders", audience: "shop", optional: false }] });
    expect(cfg.scopes).toEqual([
      { name: "shared", description: null, audience: null, optional: false },
      { name: "orders.read", description: "Read orders", audience: "shop", optional: false },
    ]);
  });

  test("optional scopes: declared optional, or optional for one client; openid never; the consent-ttl in seconds", () => {
    const cfg = parseAppConfig({
      audiences: [{ id: "shop", "consent-ttl": "12h" }],
      scopes: [{ name: "newsletter", optional: true }],
      clients: [{ id: "web", audience: "shop", "redirect-uris": [CB], scopes: ["openid", "email", "newsletter"], "optional-scopes": ["email"] }],
    });
    expect(cfg.scopes).toEqual([{ name: "newsletter", description: null, audience: null, optional: true }]);
    expect(cfg.clients[0]!.optionalScopes).toEqual(["email"]);
    expect(cfg.audiences[0]!.consentTtlSeconds).toBe(12 * 3600);
  });

  test.each<[string, Record<string, unknown>, string]>([
    ["openid optional", { scopes: ["openid", "email"], "optional-scopes": ["openid"] }, 'clients[0].optional-scopes[0]: "openid" is what signing in is; it cannot be optional'],
    ["a scope the client does not have", { scopes: ["openid"], "optional-scopes": ["email"] }, 'clients[0].optional-scopes[0]: "email" is not one of the client\'s scopes'],
  ])("optional-scopes refused: %s", (_label, extra, problem) => {
    expect(() => parseAppConfig({ audiences: [{ id: "shop" }], clients: [{ id: "web", audience: "shop", "redirect-uris": [CB], ...extra }] })).toThrow(problem);
  });

  test.each(["0d", "30s", "1y", "365", "3651d", "-1d", "1.5d"])("consent-ttl %p is refused", (ttl) => {
    expect(() => parseAppConfig({ audiences: [{ id: "shop", "consent-ttl": ttl }] })).toThrow("audiences[0].consent-ttl: must be a duration such as 365d, 12h or 90m (at least 1m, at most 3650d)");
  });

  test("admin scopes get audience = admin.audience and are visible to clients of that audience", () => {
    const cfg = parseAppConfig({
      audiences: [{ id: "org.example.admin" }, { id: "org.example.shop" }],
      scopes: [{ name: "orders.read", audience: "org.example.shop" }],
      admin: { audience: "org.example.admin", scopes: [{ name: "users.manage", description: "Manage users" }, { name: "audit.read" }] },
      clients: [client("console", "org.example.admin", { scopes: ["openid", "users.manage", "audit.read"] })],
      claims: [{ name: "roles", scope: "users.manage", source: "attributes.roles", audience: "org.example.admin" }],
    });
    expect(cfg.adminAudience).toBe("org.example.admin");
    expect(cfg.scopes).toEqual([
      { name: "orders.read", description: null, audience: "org.example.shop", optional: false },
      { name: "users.manage", description: "Manage users", audience: "org.example.admin", optional: false },
      { name: "audit.read", description: null, audience: "org.example.admin", optional: false },
    ]);
    expect(cfg.clients[0]!.scopes).toEqual(["openid", "users.manage", "audit.read"]);
    expect(cfg.claims).toEqual([{ name: "roles", scope: "users.manage", source: "attributes.roles", audience: "org.example.admin" }]);
  });

  test.each<[string, string, string[], string[]]>([
    ["own token-audience only", "shop", [], ["shop"]],
    ["own token-audience first, then extras", "shop", ["https://api.example.com", "billing"], ["shop", "https://api.example.com", "billing"]],
    ["own token-audience repeated in extras is deduplicated", "shop", ["billing", "shop", "billing"], ["shop", "billing"]],
    ["an explicit token-audience is used instead of the id", "api", ["https://api.example.com", "x"], ["https://api.example.com", "x"]],
  ])("allowedAudiences: %s", (_label, audience, extra, expected) => {
    const cfg = parseAppConfig({
      audiences: [{ id: "shop" }, { id: "api", "token-audience": "https://api.example.com" }],
      clients: [client("web", audience, { "allowed-audiences": extra })],
    });
    expect(cfg.clients[0]!.allowedAudiences).toEqual(expected);
  });

  test("client scopes are deduplicated, keeping first-seen order", () => {
    const cfg = parseAppConfig({ audiences: [{ id: "shop" }], clients: [client("web", "shop", { scopes: ["openid", "email", "openid", "profile", "email"] })] });
    expect(cfg.clients[0]!.scopes).toEqual(["openid", "email", "profile"]);
  });

  test("built-in scopes are visible to every audience (clients and claims)", () => {
    const builtIns = ["openid", "profile", "email", "address", "phone", "offline_access", "offline"];
    const cfg = parseAppConfig({
      audiences: [{ id: "shop" }, { id: "blog" }, { id: "admin" }],
      admin: { audience: "admin" },
      clients: [client("shop-web", "shop", { scopes: builtIns }), client("blog-web", "blog", { scopes: builtIns }), client("console", "admin", { scopes: builtIns })],
      claims: [
        { name: "shop_tier", scope: "profile", source: "attributes.tier", audience: "shop" },
        { name: "blog_id", scope: "openid", source: "id", audience: "blog" },
      ],
    });
    for (const c of cfg.clients) expect(c.scopes).toEqual(builtIns);
    expect(cfg.claims.map((c) => [c.name, c.scope, c.audience])).toEqual([
      ["shop_tier", "profile", "shop"],
      ["blog_id", "openid", "blog"],
    ]);
  });

  test("a scope without an audience is visible to clients of every audience", () => {
    const cfg = parseAppConfig({
      audiences: [{ id: "shop" }, { id: "blog" }],
      scopes: [{ name: "newsletter" }],
      clients: [client("shop-web", "shop", { scopes: ["newsletter"] }), client("blog-web", "blog", { scopes: ["newsletter"] })],
      claims: [{ name: "subscribed", scope: "newsletter", source: "attributes.subscribed", audience: "blog" }],
    });
    expect(cfg.clients.map((c) => c.scopes)).toEqual([["newsletter"], ["newsletter"]]);
    expect(cfg.claims[0]).toEqual({ name: "subscribed", scope: "newsletter", source: "attributes.subscribed", audience: "blog" });
  });

  test("a claim without an audience may use an audience-bound scope", () => {
    const cfg = parseAppConfig({
      audiences: [{ id: "shop" }],
      scopes: [{ name: "orders", audience: "shop" }],
      claims: [{ name: "customer_no", scope: "orders", source: "attributes.customer-no" }],
    });
    expect(cfg.claims).toEqual([{ name: "customer_no", scope: "orders", source: "attributes.customer-no", audience: null }]);
  });

  test("audiences with distinct token-audiences, and one whose token-audience equals its own id", () => {
    const cfg = parseAppConfig({ audiences: [{ id: "shop", "token-audience": "shop" }, { id: "blog", "token-audience": "https://blog.example" }] });
    expect(cfg.audiences.map((a) => a.tokenAudience)).toEqual(["shop", "https://blog.example"]);
  });

  test.each(["constructor", "toString", "hasOwnProperty", "valueOf"])("a custom claim named %p is accepted (not mistaken for a standard claim)", (name) => {
    const cfg = parseAppConfig({ claims: [{ name, scope: "openid", source: "id" }] });
    expect(cfg.claims).toEqual([{ name, scope: "openid", source: "id", audience: null }]);
  });

  test.each(["sub", "iss", "aud", "nonce", "__proto__"])("a claim named %p is refused as reserved", (name) => {
    expect(problemsOf({ claims: [{ name, scope: "openid", source: "id" }] })).toContain(`claims[0].name: "${name}" is reserved (set by Hydra or the token format)`);
  });
});

describe("loadAppConfigFile", () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "audiences-config-test-"));
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const write = (name: string, text: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  };
  const errorOf = (file: string): AudienceConfigError => {
    let thrown: unknown;
    try {
      loadAppConfigFile(file);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(AudienceConfigError);
    return thrown as AudienceConfigError;
  };

  const expected: AppConfig = {
    audiences: [{ id: "org.example.shop", name: "Shop", tokenAudience: "org.example.shop", signUpEnabled: true, invitationEnabled: false, requireVerifiedEmail: false, mfa: "optional", startUrl: null, brandName: null, brandLogo: null, consentTtlSeconds: null }],
    scopes: [{ name: "orders.read", description: "Read your orders", audience: "org.example.shop", optional: false }],
    claims: [{ name: "tier", scope: "orders.read", source: "attributes.tier", audience: "org.example.shop" }],
    clients: [
      {
        id: "shop-web",
        name: "shop-web",
        audience: "org.example.shop",
        secretEnv: "SHOP_WEB_SECRET",
        redirectUris: [CB],
        postLogoutRedirectUris: [],
        grantTypes: ["authorization_code", "refresh_token"],
        responseTypes: ["code"],
        scopes: ["openid", "orders.read"],
        optionalScopes: [],
        allowedAudiences: ["org.example.shop"],
        tokenEndpointAuthMethod: "client_secret_basic",
        logoUri: null,
        clientUri: null,
        policyUri: null,
        tosUri: null,
      },
    ],
    adminAudience: null,
  };

  test("reads a YAML file", () => {
    const file = write(
      "config.yaml",
      [
        "identifier-prefix: org.example.",
        "audiences:",
        "  - id: org.example.shop",
        "    name: Shop",
        "scopes:",
        "  - name: orders.read",
        "    description: Read your orders",
        "    audience: org.example.shop",
        "claims:",
        "  - { name: tier, scope: orders.read, source: attributes.tier, audience: org.example.shop }",
        "clients:",
        "  - id: shop-web",
        "    audience: org.example.shop",
        "    secret-env: SHOP_WEB_SECRET",
        `    redirect-uris: [${CB}]`,
        "    scopes: [openid, orders.read]",
        "",
      ].join("\n"),
    );
    expect(loadAppConfigFile(file)).toEqual(expected);
  });

  test("reads a JSON file", () => {
    const file = write(
      "config.json",
      JSON.stringify({
        "identifier-prefix": "org.example.",
        audiences: [{ id: "org.example.shop", name: "Shop" }],
        scopes: [{ name: "orders.read", description: "Read your orders", audience: "org.example.shop" }],
        claims: [{ name: "tier", scope: "orders.read", source: "attributes.tier", audience: "org.example.shop" }],
        clients: [{ id: "shop-web", audience: "org.example.shop", "secret-env": "SHOP_WEB_SECRET", "redirect-uris": [CB], scopes: ["openid", "orders.read"] }],
      }),
    );
    expect(loadAppConfigFile(file)).toEqual(expected);
  });

  test("an empty YAML file is an empty configuration", () => {
    expect(loadAppConfigFile(write("empty.yaml", ""))).toEqual({ audiences: [], scopes: [], claims: [], clients: [], adminAudience: null });
  });

  test("a malformed YAML file is reported as not valid YAML", () => {
    const file = write("bad.yaml", "audiences:\n  - id: shop\n   name: [unclosed\n");
    const err = errorOf(file);
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toMatch(/^not valid YAML: /);
    expect(err.message.split("\n")[0]).toBe(`Invalid ${file}:`);
  });

  test("a malformed JSON file is reported as not valid JSON", () => {
    const file = write("bad.json", '{"audiences": [');
    const err = errorOf(file);
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toMatch(/^not valid JSON: /);
  });

  test("YAML content in a .json file is parsed as JSON and rejected", () => {
    const err = errorOf(write("yaml-in.json", "audiences:\n  - id: shop\n"));
    expect(err.problems[0]).toMatch(/^not valid JSON: /);
  });

  test("a missing file is reported as unreadable", () => {
    const file = path.join(dir, "does-not-exist.yaml");
    const err = errorOf(file);
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toMatch(new RegExp(`^cannot read ${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: .*ENOENT`));
  });

  test("a well-formed file with an invalid configuration reports the problems with the file as source", () => {
    const file = write("invalid.yml", "audiences:\n  - id: Shop\nscopes:\n  - name: email\n");
    const err = errorOf(file);
    expect(err.problems).toEqual([`audiences[0].id: ${ID_RULE}`]);
    expect(err.message).toBe(`Invalid ${file}:\n  - audiences[0].id: ${ID_RULE}`);
  });
});

describe("shipped configuration files", () => {
  test.each(["config/audiences.example.yaml", "config/demo.yaml"])("%s is valid", (file) => {
    const cfg = loadAppConfigFile(path.join(__dirname, "..", "..", file));
    expect(cfg.audiences.length).toBeGreaterThan(0);
    expect(cfg.clients.length).toBeGreaterThan(0);
  });

  test("the complete example uses every section", () => {
    const cfg = loadAppConfigFile(path.join(__dirname, "..", "..", "config/audiences.example.yaml"));
    expect(cfg.adminAudience).toBe("org.example.identity");
    expect(cfg.scopes.find((s) => s.name === "identity.users.read")).toEqual({ name: "identity.users.read", description: "Read user accounts", audience: "org.example.identity", optional: false });
    expect(cfg.claims.map((c) => c.name)).toEqual(["preferred_username", "dealer_number", "roles"]);
    expect(cfg.clients.find((c) => c.id === "dealers-den-backend")!.allowedAudiences).toEqual(["org.example.dealers-den", "org.example.registration"]);
    expect(cfg.clients.find((c) => c.id === "registration-app")!.tokenEndpointAuthMethod).toBe("none");
    expect(cfg.clients.find((c) => c.id === "registration-web")!.optionalScopes).toEqual(["offline_access"]);
    expect(cfg.scopes.find((s) => s.name === "dealers.newsletter")!.optional).toBe(true);
    expect(cfg.audiences.find((a) => a.id === "org.example.dealers-den")!.consentTtlSeconds).toBe(365 * 86400);
  });
});

describe("isAllowedUrl: https everywhere, http only on the loopback", () => {
  test.each<[string, boolean]>([
    ["https://shop.example.org/cb", true],
    ["https://127.0.0.1/cb", true],
    ["http://localhost:5555/callback", true],
    ["http://127.0.0.1:9/callback", true],
    ["http://[::1]:8080/", true],
    ["http://shop.example.org/", false],
    ["http://127.0.0.1.evil.example/", false],
    ["http://localhost.evil.example/", false],
    ["javascript:alert(1)", false],
    ["JAVASCRIPT:alert(1)", false],
    ["data:text/html,x", false],
    ["file:///etc/passwd", false],
    ["ftp://example.org/", false],
    ["https://user:pw@example.org/", false],
    ["/relative", false],
    ["", false],
  ])("%s → %p", (url, ok) => {
    expect(isAllowedUrl(url)).toBe(ok);
  });
});

describe("isNativeAppRedirect: RFC 8252 private-use schemes for redirect URIs only", () => {
  test.each<[string, boolean]>([
    ["org.example.registration://callback", true],
    ["com.example.app:/oauth2redirect", true],
    ["myapp://callback", false],
    ["javascript:alert(1)", false],
    ["data.evil:x", true],
    ["https://example.org/", false],
  ])("%s → %p", (url, ok) => {
    expect(isNativeAppRedirect(url)).toBe(ok);
  });
});

describe("brand, localized descriptions and client links", () => {
  const base = {
    audiences: [{ id: "shop", name: "Shop", brand: { name: "Shop Co", logo: "/brand/shop.svg" } }],
    scopes: [{ name: "orders.read", description: { en: "Read your orders", de: "Ihre Bestellungen lesen" } }],
    clients: [{ id: "web", audience: "shop", "secret-env": "WEB_SECRET", "redirect-uris": ["https://shop.example/cb"], "logo-uri": "data:image/png;base64,iVBORw0KGgo=", "policy-uri": "https://shop.example/privacy", "tos-uri": "https://shop.example/terms" }],
  };
  test("are read", () => {
    const c = parseAppConfig(base);
    expect(c.audiences[0]).toMatchObject({ brandName: "Shop Co", brandLogo: "/brand/shop.svg" });
    expect(c.scopes[0]!.description).toEqual({ en: "Read your orders", de: "Ihre Bestellungen lesen" });
    expect(c.clients[0]).toMatchObject({ logoUri: "data:image/png;base64,iVBORw0KGgo=", policyUri: "https://shop.example/privacy", tosUri: "https://shop.example/terms", clientUri: null });
  });
  test.each<[string, unknown, RegExp]>([
    ["a logo from another origin", { ...base, audiences: [{ id: "shop", brand: { logo: "https://cdn.example/logo.svg" } }] }, /audiences\[0\]\.brand\.logo: must be a path on this site/],
    ["a protocol-relative logo", { ...base, clients: [{ ...base.clients[0], "logo-uri": "//cdn.example/l.png" }] }, /clients\[0\]\.logo-uri: must be a path on this site/],
    ["an http policy link", { ...base, clients: [{ ...base.clients[0], "policy-uri": "http://shop.example/privacy" }] }, /clients\[0\]\.policy-uri: must be an https: URL/],
    ["a description per unknown tag", { ...base, scopes: [{ name: "orders.read", description: { "Deutsch!": "x" } }] }, /scopes\[0\]\.description/],
    ["an empty description map", { ...base, scopes: [{ name: "orders.read", description: {} }] }, /scopes\[0\]\.description/],
  ])("refuses %s", (_l, raw, expected) => {
    expect(() => parseAppConfig(raw)).toThrow(expected);
  });
});
