// loadEnv: parsing, defaults and error reporting of the environment (src/config/env.ts).
import { ConfigError, loadEnv } from "../../src/config/env";

const SECRET = "s".repeat(32);
const MINIMAL: NodeJS.ProcessEnv = {
  DATABASE_URL: "postgresql://app:pw@db.local:5432/app",
  HYDRA_ADMIN_URL: "http://hydra.local:4445",
  SESSION_SECRETS: SECRET,
};

/** Runs loadEnv and returns the ConfigError's problems; fails if it does not throw a ConfigError. */
function problemsOf(source: NodeJS.ProcessEnv): string[] {
  let thrown: unknown;
  try {
    loadEnv(source);
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(ConfigError);
  return (thrown as ConfigError).problems;
}

describe("loadEnv with a valid minimal environment", () => {
  test("parses the required variables and fills in every default", () => {
    expect(loadEnv({ ...MINIMAL })).toEqual({
      NODE_ENV: "development",
      HOST: "127.0.0.1",
      PORT: 3000,
      APP_BASE_URL: "http://127.0.0.1:3000",
      DATABASE_URL: "postgresql://app:pw@db.local:5432/app",
      HYDRA_ADMIN_URL: "http://hydra.local:4445",
      SESSION_SECRETS: [SECRET],
      SESSION_COOKIE_NAME: "audience_login_sid",
      COOKIE_SECURE: false,
      COOKIE_SAME_SITE: "lax",
      SESSION_TTL_SECONDS: 86400,
      LOGIN_REMEMBER_FOR_SECONDS: 2592000,
      LOGIN_MAX_FAILURES_PER_IP: 50,
      LOGIN_MAX_FAILURES_PER_ACCOUNT: 10,
      LOGIN_MAX_FAILURES_PER_DEVICE: 10,
      LOGIN_FAILURE_WINDOW_SECONDS: 900,
      DEVICE_COOKIE_NAME: "audience_login_device",
      DEVICE_COOKIE_TTL_SECONDS: 31536000,
      TRUST_PROXY_HOPS: 0,
      REGISTRATION_MAX_PER_IP: 30,
      REGISTRATION_WINDOW_SECONDS: 3600,
      SECOND_FACTOR_MAX_FAILURES: 10,
      SECOND_FACTOR_WINDOW_SECONDS: 900,
      INVITATION_MAX_PER_IP: 60,
      INVITATION_WINDOW_SECONDS: 3600,
      INVITATION_TTL_SECONDS: 604800,
      LOG_LEVEL: "info",
      HYDRA_TIMEOUT_MS: 2000,
      SHUTDOWN_TIMEOUT_MS: 10000,
      PASSWORD_HASH_CONCURRENCY: undefined,
      HYDRA_PUBLIC_URL: "http://127.0.0.1:4444",
      HYDRA_PUBLIC_INTERNAL_URL: "http://127.0.0.1:4444",
      ACCOUNT_CLIENT_ID: "account",
      ACCOUNT_MAX_AUTH_AGE_SECONDS: 3600,
      SMTP_URL: "smtp://127.0.0.1:1025",
      MAIL_FROM: "Sign-in service <no-reply@localhost>",
      SMTP_TIMEOUT_MS: 5000,
      EMAIL_VERIFICATION_TTL_SECONDS: 86400,
      VERIFICATION_MAIL_MAX: 5,
      VERIFICATION_MAIL_WINDOW_SECONDS: 3600,
      VERIFICATION_CODE_MAX_PER_ADDRESS: 10,
      VERIFICATION_CODE_MAX_PER_IP: 50,
      VERIFICATION_CODE_WINDOW_SECONDS: 3600,
      PENDING_ACCOUNT_TTL_SECONDS: 604800,
      ACTIVITY_RETENTION_DAYS: 90,
      RECOVERY_TTL_SECONDS: 1800,
      RECOVERY_MAX_PER_IP: 20,
      RECOVERY_MAX_PER_ADDRESS: 5,
      RECOVERY_WINDOW_SECONDS: 3600,
      BRAND_PRODUCT_NAME: "Sign-in service",
      METRICS_HOST: "127.0.0.1",
      BRAND_PRIMARY_COLOR: "#2a5bd7",
    });
  });

  test("ignores variables it does not know", () => {
    const env = loadEnv({ ...MINIMAL, PATH: "/usr/bin", SOMETHING_ELSE: "x" });
    expect(env).not.toHaveProperty("PATH");
    expect(env).not.toHaveProperty("SOMETHING_ELSE");
  });

  test.each([
    ["PORT", "8080", { PORT: 8080 }],
    ["PORT", "0", { PORT: 0 }],
    ["PORT", "65535", { PORT: 65535 }],
    ["HOST", "0.0.0.0", { HOST: "0.0.0.0" }],
    ["NODE_ENV", "test", { NODE_ENV: "test" }],
    ["DATABASE_URL", "postgres://u@h/db", { DATABASE_URL: "postgres://u@h/db" }],
    ["APP_BASE_URL", "https://login.example.com", { APP_BASE_URL: "https://login.example.com" }],
    ["COOKIE_SAME_SITE", "strict", { COOKIE_SAME_SITE: "strict" }],
    ["SESSION_COOKIE_NAME", "my.sid-1_x", { SESSION_COOKIE_NAME: "my.sid-1_x" }],
    ["TRUST_PROXY_HOPS", "2", { TRUST_PROXY_HOPS: 2 }],
    ["LOG_LEVEL", "silent", { LOG_LEVEL: "silent" }],
    ["HYDRA_TIMEOUT_MS", "250", { HYDRA_TIMEOUT_MS: 250 }],
    ["SHUTDOWN_TIMEOUT_MS", "25000", { SHUTDOWN_TIMEOUT_MS: 25000 }],
    ["SHUTDOWN_TIMEOUT_MS", "0", { SHUTDOWN_TIMEOUT_MS: 0 }],
    ["SESSION_TTL_SECONDS", "60", { SESSION_TTL_SECONDS: 60 }],
  ])("%s=%p is parsed", (name, value, expected) => {
    expect(loadEnv({ ...MINIMAL, [name]: value })).toMatchObject(expected);
  });

  test.each([
    ["http://hydra.local:4445/", "http://hydra.local:4445"],
    ["http://hydra.local:4445///", "http://hydra.local:4445"],
    ["https://hydra.local/admin/", "https://hydra.local/admin"],
    ["https://hydra.local/admin", "https://hydra.local/admin"],
  ])("strips trailing slashes from HYDRA_ADMIN_URL %p", (value, expected) => {
    expect(loadEnv({ ...MINIMAL, HYDRA_ADMIN_URL: value }).HYDRA_ADMIN_URL).toBe(expected);
  });

  test("strips the trailing slash from APP_BASE_URL too", () => {
    expect(loadEnv({ ...MINIMAL, APP_BASE_URL: "https://login.example.com/" }).APP_BASE_URL).toBe("https://login.example.com");
  });

  test.each([
    [`${SECRET}`, [SECRET]],
    [`${"a".repeat(32)},${"b".repeat(40)}`, ["a".repeat(32), "b".repeat(40)]],
    [` ${"a".repeat(32)} , ${"b".repeat(32)} ,`, ["a".repeat(32), "b".repeat(32)]],
  ])("SESSION_SECRETS %p is split, trimmed and filtered", (value, expected) => {
    expect(loadEnv({ ...MINIMAL, SESSION_SECRETS: value }).SESSION_SECRETS).toEqual(expected);
  });
});

describe("COOKIE_SECURE", () => {
  test.each<[string | undefined, string | undefined, boolean]>([
    ["production", undefined, true],
    ["development", undefined, false],
    ["test", undefined, false],
    [undefined, undefined, false],
    ["production", "", true],
    ["production", "false", false],
    ["production", "0", false],
    ["development", "true", true],
    ["development", "1", true],
    ["test", "false", false],
  ])("NODE_ENV=%p COOKIE_SECURE=%p → %p", (nodeEnv, cookieSecure, expected) => {
    const env = loadEnv({ ...MINIMAL, NODE_ENV: nodeEnv, COOKIE_SECURE: cookieSecure });
    expect(env.COOKIE_SECURE).toBe(expected);
  });
});

describe("loadEnv with a bad value", () => {
  test.each<[string, NodeJS.ProcessEnv, string[]]>([
    ["HYDRA_ADMIN_URL that is not a URL", { HYDRA_ADMIN_URL: "not a url" }, ["HYDRA_ADMIN_URL must be an absolute URL"]],
    ["HYDRA_ADMIN_URL with a non-http scheme", { HYDRA_ADMIN_URL: "ftp://hydra.local/" }, ["HYDRA_ADMIN_URL must be an http(s) URL"]],
    ["APP_BASE_URL that is not a URL", { APP_BASE_URL: "login.example.com" }, ["APP_BASE_URL must be an absolute URL"]],
    ["mysql:// DATABASE_URL", { DATABASE_URL: "mysql://u:p@h/db" }, ["DATABASE_URL must be a postgresql:// URL"]],
    ["missing DATABASE_URL", { DATABASE_URL: undefined }, ["DATABASE_URL is required"]],
    ["missing HYDRA_ADMIN_URL", { HYDRA_ADMIN_URL: undefined }, ["HYDRA_ADMIN_URL is required"]],
    ["missing SESSION_SECRETS", { SESSION_SECRETS: undefined }, ["SESSION_SECRETS is required"]],
    [
      "short SESSION_SECRETS",
      { SESSION_SECRETS: "too-short" },
      ["SESSION_SECRETS must be one or more comma-separated secrets of at least 32 characters"],
    ],
    [
      "one short secret among good ones",
      { SESSION_SECRETS: `${SECRET},short` },
      ["SESSION_SECRETS must be one or more comma-separated secrets of at least 32 characters"],
    ],
    [
      "SESSION_SECRETS of only separators",
      { SESSION_SECRETS: " , ," },
      ["SESSION_SECRETS must be one or more comma-separated secrets of at least 32 characters"],
    ],
    ["PORT=abc", { PORT: "abc" }, ["PORT must be a whole number"]],
    ["PORT in hex", { PORT: "0x50" }, ["PORT must be a whole number"]],
    ["PORT=3.5", { PORT: "3.5" }, ["PORT must be a whole number"]],
    ["PORT too large", { PORT: "70000" }, ["PORT must be at most 65535"]],
    ["LOGIN_MAX_FAILURES_PER_IP=0", { LOGIN_MAX_FAILURES_PER_IP: "0" }, ["LOGIN_MAX_FAILURES_PER_IP must be at least 1"]],
    ["COOKIE_SECURE=maybe", { COOKIE_SECURE: "maybe" }, ["COOKIE_SECURE must be true or false"]],
    ["COOKIE_SECURE=yes", { COOKIE_SECURE: "yes" }, ["COOKIE_SECURE must be true or false"]],
    ["SESSION_COOKIE_NAME with a space", { SESSION_COOKIE_NAME: "my sid" }, ["SESSION_COOKIE_NAME must be a cookie name"]],
  ])("%s", (_label, override, expected) => {
    const problems = problemsOf({ ...MINIMAL, ...override });
    for (const line of expected) expect(problems).toContain(line);
  });

  test.each<[string, NodeJS.ProcessEnv]>([
    ["PORT", { PORT: "65536" }],
    ["PORT", { PORT: "-1" }],
    ["PORT", { PORT: "80.5" }],
    ["NODE_ENV", { NODE_ENV: "staging" }],
    ["COOKIE_SAME_SITE", { COOKIE_SAME_SITE: "none" }],
    ["LOG_LEVEL", { LOG_LEVEL: "verbose" }],
    ["SESSION_TTL_SECONDS", { SESSION_TTL_SECONDS: "0" }],
    ["HYDRA_TIMEOUT_MS", { HYDRA_TIMEOUT_MS: "-5" }],
    ["SHUTDOWN_TIMEOUT_MS", { SHUTDOWN_TIMEOUT_MS: "10s" }],
    ["TRUST_PROXY_HOPS", { TRUST_PROXY_HOPS: "-1" }],
    ["LOGIN_MAX_FAILURES_PER_ACCOUNT", { LOGIN_MAX_FAILURES_PER_ACCOUNT: "ten" }],
  ])("%s is named when %p is out of range", (name, override) => {
    const problems = problemsOf({ ...MINIMAL, ...override });
    expect(problems).toHaveLength(1);
    expect(problems[0]!.startsWith(`${name} `)).toBe(true);
  });

  test("a non-URL HYDRA_ADMIN_URL reports both the URL and the scheme rule", () => {
    expect(problemsOf({ ...MINIMAL, HYDRA_ADMIN_URL: "not a url" })).toEqual([
      "HYDRA_ADMIN_URL must be an absolute URL",
      "HYDRA_ADMIN_URL must be an http(s) URL",
    ]);
  });

  test("reports every problem at once", () => {
    const problems = problemsOf({
      HYDRA_ADMIN_URL: "ftp://hydra.local",
      SESSION_SECRETS: "short",
      PORT: "abc",
      COOKIE_SECURE: "maybe",
    });
    expect(problems).toHaveLength(5);
    expect(problems).toEqual(
      expect.arrayContaining([
        "DATABASE_URL is required",
        "HYDRA_ADMIN_URL must be an http(s) URL",
        "SESSION_SECRETS must be one or more comma-separated secrets of at least 32 characters",
        "PORT must be a whole number",
        "COOKIE_SECURE must be true or false",
      ]),
    );
  });

  test("the error message lists each problem on its own line", () => {
    let thrown: unknown;
    try {
      loadEnv({ ...MINIMAL, DATABASE_URL: undefined, PORT: "abc" });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    const err = thrown as ConfigError;
    expect(err.name).toBe("ConfigError");
    expect(err.message.split("\n")[0]).toBe("Invalid configuration:");
    expect(err.message).toContain("\n  - DATABASE_URL is required");
    expect(err.message).toContain("\n  - PORT must be a whole number");
  });

  test("an empty environment names each required variable", () => {
    expect(problemsOf({})).toEqual(["DATABASE_URL is required", "HYDRA_ADMIN_URL is required", "SESSION_SECRETS is required"]);
  });
});

describe("empty strings count as unset", () => {
  test.each(["DATABASE_URL", "HYDRA_ADMIN_URL", "SESSION_SECRETS"])("required %s='' is reported as required", (name) => {
    expect(problemsOf({ ...MINIMAL, [name]: "" })).toEqual([`${name} is required`]);
  });

  test.each<[string, unknown]>([
    ["PORT", 3000],
    ["HOST", "127.0.0.1"],
    ["NODE_ENV", "development"],
    ["APP_BASE_URL", "http://127.0.0.1:3000"],
    ["COOKIE_SAME_SITE", "lax"],
    ["LOG_LEVEL", "info"],
    ["HYDRA_TIMEOUT_MS", 2000],
  ])("optional %s='' takes its default %p", (name, expected) => {
    expect(loadEnv({ ...MINIMAL, [name]: "" })).toHaveProperty(name, expected);
  });
});

describe("loadEnv trims values", () => {
  test("a blank PORT counts as unset (default), not as port 0", () => {
    expect(loadEnv({ ...MINIMAL, PORT: "   " }).PORT).toBe(3000);
  });
  test("surrounding spaces are ignored", () => {
    expect(loadEnv({ ...MINIMAL, PORT: " 8080 ", COOKIE_SECURE: " true " })).toMatchObject({ PORT: 8080, COOKIE_SECURE: true });
  });
});

describe("FACTOR_ENCRYPTION_KEYS", () => {
  const base = { DATABASE_URL: "postgresql://localhost/app", HYDRA_ADMIN_URL: "http://127.0.0.1:4445", SESSION_SECRETS: "s".repeat(32) };
  test("a list of 32-byte base64 keys", () => {
    const a = Buffer.alloc(32, 1).toString("base64");
    const b = Buffer.alloc(32, 2).toString("base64");
    expect(loadEnv({ ...base, FACTOR_ENCRYPTION_KEYS: `${a}, ${b}` }).FACTOR_ENCRYPTION_KEYS).toEqual([a, b]);
  });
  test.each(["short", Buffer.alloc(16).toString("base64"), `${Buffer.alloc(32).toString("base64")},x`])("%j is refused", (v) => {
    expect(() => loadEnv({ ...base, FACTOR_ENCRYPTION_KEYS: v })).toThrow(/FACTOR_ENCRYPTION_KEYS must be one or more comma-separated keys of 32 bytes/);
  });
});
