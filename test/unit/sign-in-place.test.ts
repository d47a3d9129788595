// Where a sign-in came from (decisions/sign-in-place.ts) and how the account's activity is paged
// and told (decisions/activity.ts): tables.
import { nameBrowser, networkOf } from "../../src/decisions/sign-in-place";
import { activityLogLine, activityPage, browserWords, consentActivityKind } from "../../src/decisions/activity";

describe("nameBrowser", () => {
  test.each([
    ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36", "Chrome", "Windows"],
    ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87", "Edge", "Windows"],
    ["Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "Firefox", "Linux"],
    ["Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15", "Safari", "macOS"],
    ["Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "Safari", "iOS"],
    ["Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1", "Chrome", "iOS"],
    ["Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "Safari", "iPadOS"],
    ["Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36", "Chrome", "Android"],
    ["Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36", "Samsung Internet", "Android"],
    ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 OPR/111.0.0.0", "Opera", "Windows"],
    ["Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36", "Chrome", "ChromeOS"],
    ["Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36", "Chrome", "Linux"],
    ["curl/8.5.0", null, null],
    ["", null, null],
  ])("%s → %s on %s", (ua, browser, os) => {
    expect(nameBrowser(ua)).toEqual({ browser, os });
  });

  test("no user agent at all is unknown", () => {
    expect(nameBrowser(undefined)).toEqual({ browser: null, os: null });
  });
});

describe("networkOf: the address cut to its network, never the address", () => {
  test.each([
    ["203.0.113.77", "203.0.113.0/24"],
    ["10.0.0.1", "10.0.0.0/24"],
    ["::ffff:198.51.100.9", "198.51.100.0/24"],
    ["2001:db8:12:34::1", "2001:db8:12::/48"],
    ["2001:0db8:0000:0042:0000:8a2e:0370:7334", "2001:db8::/48"],
    ["2a01:4f8:c0c:1234:5678:9abc:def0:1", "2a01:4f8:c0c::/48"],
    ["[2001:db8:1::5]", "2001:db8:1::/48"],
    ["fe80::1%eth0", "fe80::/48"],
    ["::1", "::/48"],
    ["127.0.0.1", "127.0.0.0/24"],
    ["not an address", "unknown"],
    ["", "unknown"],
    ["300.1.2.3", "unknown"],
  ])("%s → %s", (ip, network) => {
    expect(networkOf(ip)).toBe(network);
  });
});

describe("the account's activity", () => {
  test.each([
    [{ browser: "Firefox", os: "Linux" }, "account:where.browserOn"],
    [{ browser: "Firefox", os: null }, "account:where.browserOnly"],
    [{ browser: null, os: "Android" }, "account:where.osOnly"],
    [{ browser: null, os: null }, "account:where.unknownBrowser"],
  ])("browser words of %j: %s", (named, key) => {
    expect(browserWords(named).key).toBe(key);
  });

  test.each([
    [undefined, { page: 1, offset: 0, limit: 21 }],
    [1, { page: 1, offset: 0, limit: 21 }],
    [3, { page: 3, offset: 40, limit: 21 }],
    [0, { page: 1, offset: 0, limit: 21 }],
    [2.5, { page: 1, offset: 0, limit: 21 }],
    [5000, { page: 1, offset: 0, limit: 21 }],
  ])("page %s → %j (one more than shown: is there an older page)", (requested, expected) => {
    expect(activityPage(requested, 20)).toEqual(expected);
  });

  test.each([
    ["GRANT", [], "consent_granted"],
    ["MERGE", ["email"], "consent_merged"],
    ["REVOKE", [], "consent_revoked"],
    ["DECLINE", [], "consent_declined"],
    ["DECLINE", ["newsletter"], "consent_ask_again"],
  ] as const)("consent history %s (added %j) reads as %s", (action, added, kind) => {
    expect(consentActivityKind(action, added)).toBe(kind);
  });

  test("the log line names the event and the user, with the network only", () => {
    expect(activityLogLine({ userId: "u1", kind: "sign_in", detail: { browser: "Firefox", os: "Linux", network: "203.0.113.0/24" } })).toEqual({
      event: "sign_in",
      subject: "u1",
      activity: true,
      browser: "Firefox",
      os: "Linux",
      network: "203.0.113.0/24",
    });
  });
});
