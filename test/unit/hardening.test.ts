// Pure decisions of the hardening, by tables: browser binding of consent, device cookies and
// which counters a sign-in counts against, the account page's ID-token judge, scopes to grant with
// include_granted_scopes, same-origin verdicts, log redaction.
import { addFlowMark, browserAnsweredLogin, flowKey, flowMark, guardConsent, parseFlowMarks, MAX_FLOW_MARKS } from "../../src/decisions/flow-binding";
import { deviceKey, loginLimitKeys, parseDeviceCookie, rememberDevice, trustedDevice, MAX_DEVICE_ENTRIES } from "../../src/decisions/device-cookie";
import { accountAuthRequest, judgeIdToken, jwtPayload } from "../../src/decisions/account-signin";
import { includeGrantedScopes, scopesToGrant, decideConsent } from "../../src/decisions/consent";
import { crossSiteVerdict } from "../../src/middleware/same-origin";
import { redactSecrets, serializeError } from "../../src/logger";
import { retryDelaySeconds } from "../../src/decisions/outbox";
import { mustVerifyFirst } from "../../src/decisions/login";

const KEY = flowKey("a".repeat(32));
const OLD_KEY = flowKey("b".repeat(32));

describe("flow binding", () => {
  test("a mark is an HMAC of the login-session id: same id same mark, other id or key another mark", () => {
    expect(flowMark(KEY, "sid-1")).toBe(flowMark(KEY, "sid-1"));
    expect(flowMark(KEY, "sid-1")).not.toBe(flowMark(KEY, "sid-2"));
    expect(flowMark(KEY, "sid-1")).not.toBe(flowMark(OLD_KEY, "sid-1"));
    expect(flowMark(KEY, "sid-1")).toMatch(/^[A-Za-z0-9_-]{16}$/);
  });

  test.each<[string, string | undefined, string[]]>([
    ["nothing", undefined, []],
    ["garbage", "<script>~;DROP", []],
    ["one good, one bad", `${flowMark(KEY, "x")}~nope`, [flowMark(KEY, "x")]],
  ])("parseFlowMarks: %s", (_l, value, expected) => {
    expect(parseFlowMarks(value)).toEqual(expected);
  });

  test("addFlowMark keeps the newest first, no duplicates, at most MAX_FLOW_MARKS", () => {
    let marks: string[] = [];
    for (let i = 0; i < MAX_FLOW_MARKS + 5; i++) marks = parseFlowMarks(addFlowMark(marks, flowMark(KEY, `sid-${i}`)));
    expect(marks).toHaveLength(MAX_FLOW_MARKS);
    expect(marks[0]).toBe(flowMark(KEY, `sid-${MAX_FLOW_MARKS + 4}`));
    expect(parseFlowMarks(addFlowMark(marks, marks[3]!))).toHaveLength(MAX_FLOW_MARKS);
    expect(parseFlowMarks(addFlowMark(marks, marks[3]!))[0]).toBe(marks[3]);
  });

  test.each<[string, string[], string | undefined, boolean]>([
    ["marked with the current key", [flowMark(KEY, "sid")], "sid", true],
    ["marked with an older key (rotation)", [flowMark(OLD_KEY, "sid")], "sid", true],
    ["another flow's mark", [flowMark(KEY, "other")], "sid", false],
    ["no marks", [], "sid", false],
    ["no login-session id on the request", [flowMark(KEY, "")], undefined, false],
  ])("browserAnsweredLogin: %s → %p", (_l, marks, sid, expected) => {
    expect(browserAnsweredLogin(marks, sid, [KEY, OLD_KEY])).toBe(expected);
  });

  test.each<[string, string | undefined, boolean, string]>([
    ["same user, answered login", "u1", true, "ok"],
    ["no app session, answered login (remembered at Hydra)", undefined, true, "ok"],
    ["another signed-in user", "u2", true, "other_user"],
    ["another signed-in user, not answered either", "u2", false, "other_user"],
    ["no session, did not answer the login step (a stolen link)", undefined, false, "other_browser"],
    ["same user but another browser's flow", "u1", false, "other_browser"],
  ])("guardConsent: %s → %s", (_l, sessionUserId, answeredLogin, expected) => {
    const g = guardConsent({ sessionUserId, subject: "u1", answeredLogin });
    expect(g.kind === "ok" ? "ok" : g.reason).toBe(expected);
  });
});

describe("device cookies", () => {
  const k = deviceKey("s".repeat(32));
  const old = deviceKey("t".repeat(32));
  const cookieFor = (email: string, key = k, nonce = "n".repeat(22)) => rememberDevice([], email, key, null, nonce);

  test.each<[string, string, string, Buffer[], string | null]>([
    ["this account, current key", cookieFor("ada@example.com"), "ada@example.com", [k], "n".repeat(22)],
    ["this account, older key (rotation)", cookieFor("ada@example.com", old), "ada@example.com", [k, old], "n".repeat(22)],
    ["another account's token", cookieFor("eve@example.com"), "ada@example.com", [k], null],
    ["a token signed with an unknown key", cookieFor("ada@example.com", deviceKey("x".repeat(32))), "ada@example.com", [k, old], null],
    ["a forged signature", `${"n".repeat(22)}.${"A".repeat(22)}`, "ada@example.com", [k], null],
    ["garbage", "not a cookie", "ada@example.com", [k], null],
  ])("trustedDevice: %s", (_l, cookie, email, keys, expected) => {
    expect(trustedDevice(parseDeviceCookie(cookie), email, keys)).toBe(expected);
  });

  test("rememberDevice keeps one entry per account, newest first, at most MAX_DEVICE_ENTRIES, and keeps the device id", () => {
    let cookie = "";
    for (let i = 0; i < MAX_DEVICE_ENTRIES + 2; i++) cookie = rememberDevice(parseDeviceCookie(cookie), `u${i}@example.com`, k, null);
    expect(parseDeviceCookie(cookie)).toHaveLength(MAX_DEVICE_ENTRIES);
    const id = trustedDevice(parseDeviceCookie(cookie), `u${MAX_DEVICE_ENTRIES + 1}@example.com`, [k]);
    expect(id).not.toBeNull();
    const again = rememberDevice(parseDeviceCookie(cookie), `u${MAX_DEVICE_ENTRIES + 1}@example.com`, k, id);
    expect(parseDeviceCookie(again)).toHaveLength(MAX_DEVICE_ENTRIES);
    expect(trustedDevice(parseDeviceCookie(again), `u${MAX_DEVICE_ENTRIES + 1}@example.com`, [k])).toBe(id);
    expect(trustedDevice(parseDeviceCookie(again), "u0@example.com", [k])).toBeNull(); // the oldest fell out
  });

  test.each<[string, string | null, boolean, string[]]>([
    ["known browser, not locked: that device only", "dev1", false, ["loginDevice:dev1"]],
    ["known browser whose own counter is used up: like an unknown browser", "dev1", true, ["loginIp:10.0.0.1", "loginAccount:ada@example.com"]],
    ["unknown browser: per IP and per account", null, false, ["loginIp:10.0.0.1", "loginAccount:ada@example.com"]],
  ])("loginLimitKeys: %s", (_l, device, deviceBlocked, expected) => {
    expect(loginLimitKeys({ ip: "10.0.0.1", emailNormalized: "ada@example.com", device, deviceBlocked }).map((x) => `${x.kind}:${x.key}`)).toEqual(expected);
  });
});

describe("account sign-in", () => {
  test("the authorization request: PKCE S256, state, nonce, openid only, max_age, prompt=login when fresh", () => {
    let i = 0;
    const r = accountAuthRequest({ hydraPublicUrl: "https://id.example.org", clientId: "account", appBaseUrl: "https://login.example.org", maxAuthAgeSeconds: 3600, freshSignIn: true, random: () => `r${++i}` });
    const u = new URL(r.url);
    expect(u.origin + u.pathname).toBe("https://id.example.org/oauth2/auth");
    expect(Object.fromEntries(u.searchParams)).toEqual({
      client_id: "account",
      response_type: "code",
      scope: "openid",
      redirect_uri: "https://login.example.org/account/callback",
      state: "r1",
      nonce: "r2",
      code_challenge: "5J1jsqinjwSLr8S0WQApYDpaQWXui_mK8V1i8kzYNHk", // SHA-256("r3"), base64url
      code_challenge_method: "S256",
      max_age: "3600",
      prompt: "login",
    });
    expect(r).toMatchObject({ state: "r1", nonce: "r2", codeVerifier: "r3" });
    expect(new URL(accountAuthRequest({ hydraPublicUrl: "https://id.example.org", clientId: "account", appBaseUrl: "https://l", maxAuthAgeSeconds: 60, freshSignIn: false }).url).searchParams.has("prompt")).toBe(false);
  });

  const now = 1_800_000_000;
  const good = { iss: "https://id.example.org", aud: ["account"], nonce: "N", exp: now + 60, sub: "user-1", auth_time: now - 100 };
  const expectations = { issuer: "https://id.example.org", clientId: "account", nonce: "N", nowSeconds: now, maxAuthAgeSeconds: 3600 };
  test.each<[string, Record<string, unknown>, string]>([
    ["a good token", good, "ok"],
    ["issuer with a trailing slash", { ...good, iss: "https://id.example.org/" }, "ok"],
    ["aud as a string", { ...good, aud: "account" }, "ok"],
    ["another issuer", { ...good, iss: "https://evil.example" }, "issuer"],
    ["another client's token", { ...good, aud: ["demo-web"] }, "audience"],
    ["another nonce (replayed)", { ...good, nonce: "X" }, "nonce"],
    ["expired", { ...good, exp: now - 1 }, "expired"],
    ["no subject", { ...good, sub: "" }, "subject"],
    ["no auth_time", { ...good, auth_time: undefined }, "auth_time"],
    ["a sign-in older than allowed", { ...good, auth_time: now - 3600 - 61 }, "auth_time"],
  ])("judgeIdToken: %s → %s", (_l, payload, expected) => {
    const v = judgeIdToken(payload, expectations);
    expect(v.ok ? "ok" : v.reason).toBe(expected);
  });

  test.each<[string, string, unknown]>([
    ["a JWT", `x.${Buffer.from('{"sub":"a"}').toString("base64url")}.y`, { sub: "a" }],
    ["not a JWT", "abc", null],
    ["not JSON", "x.bm90IGpzb24.y", null],
  ])("jwtPayload: %s", (_l, token, expected) => {
    expect(jwtPayload(token)).toEqual(expected);
  });

  test("the first-party client gets openid only, with no page, whatever it asks", () => {
    expect(decideConsent({ clientId: "account", audience: null, requestedScopes: ["openid", "email", "offline_access"], requestedAudiences: [], declaredScopes: new Map(), grantedScopes: [], forcePrompt: true, firstParty: true })).toEqual({
      kind: "first_party",
      grantScope: ["openid"],
    });
  });
});

describe("include_granted_scopes", () => {
  test.each<[string, string | undefined, boolean]>([
    ["true", "https://id/oauth2/auth?client_id=a&include_granted_scopes=true", true],
    ["false", "https://id/oauth2/auth?include_granted_scopes=false", false],
    ["TRUE is not the convention's value", "https://id/oauth2/auth?include_granted_scopes=TRUE", false],
    ["absent", "https://id/oauth2/auth?client_id=a", false],
    ["no URL", undefined, false],
  ])("includeGrantedScopes: %s", (_l, url, expected) => {
    expect(includeGrantedScopes(url)).toBe(expected);
  });

  test.each<[string, string[], string[], string[], boolean, string[]]>([
    ["without the parameter: exactly the requested scopes", ["openid", "email"], ["openid", "profile", "email"], ["openid", "profile", "email"], false, ["openid", "email"]],
    ["with it: the audience consent the client may request", ["openid", "email"], ["openid", "profile", "email"], ["openid", "profile", "email"], true, ["openid", "email", "profile"]],
    ["never a scope the client may not request", ["openid"], ["openid", "profile", "email"], ["openid", "profile"], true, ["openid", "profile"]],
    ["never a scope outside the audience consent", ["openid"], ["openid"], ["openid", "profile", "email"], true, ["openid"]],
    ["duplicates collapse", ["openid", "openid"], [], [], false, ["openid"]],
  ])("scopesToGrant: %s", (_l, requested, audienceConsent, clientScopes, includeGranted, expected) => {
    expect(scopesToGrant({ requested, audienceConsent, clientScopes, includeGranted })).toEqual(expected);
  });
});

describe("same-origin posts", () => {
  const app = "https://login.example.org";
  test.each<[string, { secFetchSite?: string; origin?: string }, string]>([
    ["Sec-Fetch-Site same-origin", { secFetchSite: "same-origin" }, "ok"],
    ["Sec-Fetch-Site none (user typed it)", { secFetchSite: "none" }, "ok"],
    ["Sec-Fetch-Site same-site", { secFetchSite: "same-site" }, "cross-site"],
    ["Sec-Fetch-Site cross-site", { secFetchSite: "cross-site" }, "cross-site"],
    ["Sec-Fetch-Site decides over Origin null", { secFetchSite: "same-origin", origin: "null" }, "ok"],
    ["Sec-Fetch-Site cross-site with a matching Origin", { secFetchSite: "cross-site", origin: app }, "cross-site"],
    ["our Origin", { origin: app }, "ok"],
    ["a foreign Origin", { origin: "https://evil.example" }, "cross-site"],
    ["our host on another scheme", { origin: "http://login.example.org" }, "cross-site"],
    ["Origin null alone (no-referrer page, old browser)", { origin: "null" }, "ok"],
    ["no headers (non-browser client; the CSRF token still applies)", {}, "ok"],
  ])("%s → %s", (_l, headers, expected) => {
    expect(crossSiteVerdict(headers, app)).toBe(expected);
  });
});

describe("log redaction", () => {
  test.each<[string, string]>([
    ["/login?login_challenge=abc123", "/login?login_challenge=[redacted]"],
    ["/consent?consent_challenge=abc&x=1", "/consent?consent_challenge=[redacted]&x=1"],
    ["/cb?code=c0de&state=s7&scope=openid", "/cb?code=[redacted]&state=[redacted]&scope=openid"],
    ["/invitation?code=inv", "/invitation?code=[redacted]"],
    ["/registration?login_challenge=a&invitation=b", "/registration?login_challenge=[redacted]&invitation=[redacted]"],
    ["GET http://hydra/admin/oauth2/auth/requests/login?login_challenge=zzz failed", "GET http://hydra/admin/oauth2/auth/requests/login?login_challenge=[redacted] failed"],
    ["/health", "/health"],
    ["/account?revoked=shop", "/account?revoked=shop"],
  ])("%s", (input, expected) => {
    expect(redactSecrets(input)).toBe(expected);
  });

  test("errors keep name, message, code and stack, never an HTTP client's request config", () => {
    const cause = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED", config: { url: "http://hydra/x?login_challenge=secret" } });
    const err = Object.assign(new Error("Hydra unavailable", { cause }), { status: 503 });
    const out = JSON.stringify(serializeError(err));
    expect(out).not.toContain("secret");
    expect(JSON.parse(out)).toMatchObject({ type: "Error", message: "Hydra unavailable", status: 503, cause: { message: "connect ECONNREFUSED", code: "ECONNREFUSED" } });
    expect(serializeError("plain")).toBe("plain");
  });
});

describe("mail outbox back-off", () => {
  test.each<[number, number]>([
    [1, 5],
    [2, 10],
    [3, 20],
    [7, 320],
    [8, 600],
    [30, 600],
  ])("after attempt %p wait %p s", (attempts, seconds) => {
    expect(retryDelaySeconds(attempts)).toBe(seconds);
  });
});

describe("require-verified-email gate, and pending self sign-ups", () => {
  const since = new Date("2026-12-01T00:00:00Z");
  test.each<[string, boolean | null, boolean, Date | null, boolean]>([
    ["audience requires, address not verified: wait", true, false, null, true],
    ["audience requires, address verified: go on", true, true, null, false],
    ["audience does not require: go on", false, false, null, false],
    ["no audience (the account page's client): go on", null, false, null, false],
    ["pending self sign-up, audience does not require: wait", false, false, since, true],
    ["pending self sign-up, no audience (the account page's client): wait", null, false, since, true],
    ["pending self sign-up, audience requires: wait", true, false, since, true],
    ["confirmed meanwhile (pending cleared with it): go on", false, true, null, false],
  ])("%s", (_l, requires, verified, pendingSince, expected) => {
    const audience = requires === null ? null : { id: "a", displayName: "A", requireVerifiedEmail: requires };
    expect(mustVerifyFirst(audience, { emailVerified: verified, pendingSince })).toBe(expected);
  });
});
