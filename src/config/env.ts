// Application settings from environment variables, parsed and validated once at start-up.
// A bad value stops start-up with a message naming the variable.
import { z } from "zod";
import { isSameOriginImage, primaryColorProblem } from "../decisions/brand";

const bool = z
  .enum(["true", "false", "1", "0"], { message: "must be true or false" })
  .transform((v) => v === "true" || v === "1");

const httpUrl = z
  .string()
  .url({ message: "must be an absolute URL" })
  .refine((u) => /^https?:\/\//.test(u), { message: "must be an http(s) URL" })
  .transform((u) => u.replace(/\/+$/, ""));

/** A whole number written in decimal digits (no "0x50", no blanks) within [min, max]. */
const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .regex(/^\d+$/, "must be a whole number")
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

const postgresUrl = z
  .string()
  .refine((u) => /^postgres(ql)?:\/\//.test(u), { message: "must be a postgresql:// URL" });

const EnvSchema = z
  .object({
    NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
    /** Interface and port the app listens on. */
    HOST: z.string().min(1).default("127.0.0.1"),
    PORT: int(0, 65535).default(3000),
    /** Public base URL of this app, as a browser reaches it (used in links, e.g. invitations). */
    APP_BASE_URL: httpUrl.default("http://127.0.0.1:3000"),
    DATABASE_URL: postgresUrl,
    /** Ory Hydra's admin API (login/consent/logout requests, clients, introspection). */
    HYDRA_ADMIN_URL: httpUrl,
    /** Secret(s) signing the app's session cookie: comma-separated, first is used to sign; each ≥ 32 chars. */
    SESSION_SECRETS: z
      .string()
      .transform((s) => s.split(",").map((x) => x.trim()).filter(Boolean))
      .refine((a) => a.length > 0 && a.every((x) => x.length >= 32), {
        message: "must be one or more comma-separated secrets of at least 32 characters",
      }),
    /**
     * Keys encrypting second-factor secrets at rest (AES-256-GCM): comma-separated, each 32 bytes in
     * base64 (`openssl rand -base64 32`); the first encrypts, every one decrypts (rotation). Unset:
     * keys derived from SESSION_SECRETS (services/secret-box.ts).
     */
    FACTOR_ENCRYPTION_KEYS: z
      .string()
      .transform((s) => s.split(",").map((x) => x.trim()).filter(Boolean))
      .refine((a) => a.length > 0 && a.every((x) => /^[A-Za-z0-9+/_-]{43}=?$/.test(x) && Buffer.from(x, "base64").length === 32), {
        message: "must be one or more comma-separated keys of 32 bytes in base64 (openssl rand -base64 32)",
      })
      .optional(),
    /** Wrong second-factor codes (authenticator or recovery code) allowed per account within the window. */
    SECOND_FACTOR_MAX_FAILURES: int(1).default(10),
    SECOND_FACTOR_WINDOW_SECONDS: int(1).default(15 * 60),
    SESSION_COOKIE_NAME: z.string().regex(/^[A-Za-z0-9_.-]+$/, "must be a cookie name").default("audience_login_sid"),
    /** Send cookies only over HTTPS. Defaults to true in production. */
    COOKIE_SECURE: bool.optional(),
    COOKIE_SAME_SITE: z.enum(["lax", "strict"]).default("lax"),
    /** App session lifetime (seconds). */
    SESSION_TTL_SECONDS: int(1).default(60 * 60 * 24),
    /** How long Hydra remembers a login when "remember me" is ticked (seconds). */
    LOGIN_REMEMBER_FOR_SECONDS: int(1).default(60 * 60 * 24 * 30),
    /** Failed sign-ins allowed per IP and per account within the window. */
    LOGIN_MAX_FAILURES_PER_IP: int(1).default(50),
    LOGIN_MAX_FAILURES_PER_ACCOUNT: int(1).default(10),
    /** Failed sign-ins allowed from a browser that holds the account's device cookie (it signed in before). */
    LOGIN_MAX_FAILURES_PER_DEVICE: int(1).default(10),
    LOGIN_FAILURE_WINDOW_SECONDS: int(1).default(15 * 60),
    /** The signed device cookie set after a successful sign-in (OWASP device cookies). */
    DEVICE_COOKIE_NAME: z.string().regex(/^[A-Za-z0-9_.-]+$/, "must be a cookie name").default("audience_login_device"),
    DEVICE_COOKIE_TTL_SECONDS: int(60).default(365 * 24 * 60 * 60),
    /** Registration attempts allowed per IP within the window. */
    REGISTRATION_MAX_PER_IP: int(1).default(30),
    REGISTRATION_WINDOW_SECONDS: int(1).default(60 * 60),
    /** Invitation links opened per IP within the window. */
    INVITATION_MAX_PER_IP: int(1).default(60),
    INVITATION_WINDOW_SECONDS: int(1).default(60 * 60),
    /** Default lifetime of invitations created by `npm run invitation:create` (seconds). */
    INVITATION_TTL_SECONDS: int(60).default(7 * 24 * 60 * 60),
    /** Number of reverse proxies in front of the app (Express "trust proxy"). */
    TRUST_PROXY_HOPS: int(0).default(0),
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    /** Timeout of each call to Hydra (ms): a frozen Hydra gets a 503 page after this long. */
    HYDRA_TIMEOUT_MS: int(1).default(2000),
    /** After SIGTERM/SIGINT: how long requests in flight may take to finish before their connections are cut (ms). */
    SHUTDOWN_TIMEOUT_MS: int(0).default(10_000),
    /** argon2 hashes at once; unset: one per core beyond the first, at most two (services/passwords.ts defaultHashConcurrency). */
    PASSWORD_HASH_CONCURRENCY: int(1).optional(),
    /** Hydra's public URL as browsers reach it (the account page's own sign-in goes through it). */
    HYDRA_PUBLIC_URL: httpUrl.default("http://127.0.0.1:4444"),
    /** Hydra's public URL as this app reaches it for the token exchange (default: HYDRA_PUBLIC_URL). */
    HYDRA_PUBLIC_INTERNAL_URL: httpUrl.optional(),
    /** The first-party OAuth client through which /account signs in (registered by `npm run seed`). */
    /** /account accepts a sign-in at most this old; older ones (remembered for days) ask for the password again. */
    ACCOUNT_MAX_AUTH_AGE_SECONDS: int(1).default(60 * 60),
    /** SMTP relay for the app's mail, e.g. smtp://127.0.0.1:1025 (Mailpit) or smtps://user:pass@relay:465. */
    SMTP_URL: z.string().regex(/^smtps?:\/\/[^\s]+$/, "must be an smtp:// or smtps:// URL").default("smtp://127.0.0.1:1025"),
    /** The sender of the app's mail. */
    MAIL_FROM: z.string().min(3).max(320).default("Sign-in service <no-reply@localhost>"),
    /** How long a verification link and code work (seconds). */
    EMAIL_VERIFICATION_TTL_SECONDS: int(300).default(24 * 60 * 60),
    /** Verification mails a user may ask for within VERIFICATION_MAIL_WINDOW_SECONDS. */
    VERIFICATION_MAIL_MAX: int(1).default(5),
    VERIFICATION_MAIL_WINDOW_SECONDS: int(1).default(60 * 60),
    /**
     * Verification codes that may be tried per address and per client IP within
     * VERIFICATION_CODE_WINDOW_SECONDS: counted for the address, so a new account for it starts no new budget.
     */
    VERIFICATION_CODE_MAX_PER_ADDRESS: int(1).default(10),
    VERIFICATION_CODE_MAX_PER_IP: int(1).default(50),
    VERIFICATION_CODE_WINDOW_SECONDS: int(1).default(60 * 60),
    /** A self sign-up whose address is not confirmed within this long is deleted, freeing the address (seconds). */
    PENDING_ACCOUNT_TTL_SECONDS: int(60).default(7 * 24 * 60 * 60),
    /** How long the account's activity (sign-ins, changes, admin actions) is kept, in days. */
    ACTIVITY_RETENTION_DAYS: int(1, 3650).default(90),
    /** How long a password-recovery link works (seconds). */
    RECOVERY_TTL_SECONDS: int(60).default(30 * 60),
    /** Recovery requests allowed per client IP and per address within RECOVERY_WINDOW_SECONDS. */
    RECOVERY_MAX_PER_IP: int(1).default(20),
    RECOVERY_MAX_PER_ADDRESS: int(1).default(5),
    RECOVERY_WINDOW_SECONDS: int(1).default(60 * 60),
    /** Timeout of SMTP connections and commands (ms). */
    SMTP_TIMEOUT_MS: int(100).default(5000),
    /** The product's name on every page, in page titles and mails. */
    BRAND_PRODUCT_NAME: z.string().min(1).max(80).default("Sign-in service"),
    /** The product's logo: a path on this site (e.g. /brand/logo.svg, served from BRAND_ASSETS_DIR) or a data:image URI. */
    BRAND_LOGO_URL: z.string().refine(isSameOriginImage, "must be a path on this site such as /brand/logo.svg, or a data:image/…;base64 URI (no other origin: the Content-Security-Policy allows none)").optional(),
    /** A directory whose files are served at /brand/ (logos of the product and of audiences). */
    BRAND_ASSETS_DIR: z.string().min(1).optional(),
    /** Buttons and links; must keep a contrast of 4.5:1 with white. */
    BRAND_PRIMARY_COLOR: z.string().superRefine((v, ctx) => {
      const problem = primaryColorProblem(v);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    }).default("#2a5bd7"),
    /** Where people get help (https: or mailto:), linked at the foot of every page. */
    BRAND_SUPPORT_URL: z.string().regex(/^(https:\/\/|http:\/\/(localhost|127\.0\.0\.1)[:/]|mailto:)\S+$/, "must be an https: or mailto: URL").optional(),
    /** Port of the Prometheus endpoint (/metrics), on a server of its own; unset: no metrics endpoint. */
    METRICS_PORT: int(0, 65535).optional(),
    /** Interface of the metrics server (0.0.0.0 in a pod, so that Prometheus can reach it; never publish it). */
    METRICS_HOST: z.string().min(1).default("127.0.0.1"),
    ACCOUNT_CLIENT_ID: z.string().regex(/^[A-Za-z0-9_.:-]{1,100}$/, "must be a client id").default("account"),
  })
  .transform((e) => ({
    ...e,
    COOKIE_SECURE: e.COOKIE_SECURE ?? e.NODE_ENV === "production",
    HYDRA_PUBLIC_INTERNAL_URL: e.HYDRA_PUBLIC_INTERNAL_URL ?? e.HYDRA_PUBLIC_URL,
  }));

export type Env = z.infer<typeof EnvSchema>;

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** Parses the environment; throws ConfigError naming every bad variable. Values are trimmed; empty ones count as unset. */
export function loadEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const cleaned = Object.fromEntries(
    Object.entries(source)
      .map(([k, v]) => [k, v?.trim()] as const)
      .filter(([, v]) => v !== undefined && v !== ""),
  );
  const result = EnvSchema.safeParse(cleaned);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((i) => {
        const name = i.path.join(".") || "(environment)";
        const msg = i.code === "invalid_type" && cleaned[name] === undefined ? "is required" : i.message;
        return `${name} ${msg}`;
      }),
    );
  }
  return result.data;
}
