// The admins' configuration file's shape (zod): each field's rule and its message. The rules that
// span fields (references, uniqueness, the identifier prefix) are config/audiences.ts parseAppConfig's.
import { z } from "zod";
import { isSameOriginImage } from "../decisions/brand";

/** Lowercase, dot-separated kebab-case segments: "my-app", "org.example.dealers-den". */
export const AUDIENCE_ID_PATTERN = /^[a-z0-9]+(-[a-z0-9]+)*(\.[a-z0-9]+(-[a-z0-9]+)*)*$/;
const AUDIENCE_ID_RULE =
  "must be lowercase dot-separated kebab-case segments ([a-z0-9]+(-[a-z0-9]+)*), with no leading or trailing dot or slash, e.g. org.example.dealers-den";

const audienceId = z.string({ message: "is required" }).regex(AUDIENCE_ID_PATTERN, AUDIENCE_ID_RULE);
const scopeName = z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, "must be a valid OAuth scope token (no spaces, quotes or backslashes)");
const envVarName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, "must be an environment variable name (A-Z, 0-9, _)");
const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);
/** https: anywhere; http: only for localhost / 127.0.0.1 / [::1] (development). Every other scheme is refused. */
export function isAllowedUrl(value: string): boolean {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return false;
  }
  if (u.username || u.password) return false;
  return u.protocol === "https:" || (u.protocol === "http:" && LOOPBACK_HOSTS.has(u.hostname));
}
const absoluteUrl = z
  .string()
  .url("must be an absolute URL")
  .refine(isAllowedUrl, "must be an https: URL (http: only for localhost or 127.0.0.1; no other scheme, no user:password@)");

/**
 * A native app's private-use URI scheme (RFC 8252 section 7.1): a reverse domain name with at least
 * one dot, e.g. org.example.app:/callback. Only accepted as a client redirect URI.
 */
export function isNativeAppRedirect(value: string): boolean {
  const m = /^([a-z][a-z0-9+.-]*):/i.exec(value);
  return !!m && /^[a-z0-9-]+(\.[a-z0-9-]+)+$/i.test(m[1]!) && !/^(javascript|data|vbscript|file|blob|about)$/i.test(m[1]!);
}
const redirectUri = z
  .string()
  .url("must be an absolute URL")
  .refine(
    (v) => isAllowedUrl(v) || isNativeAppRedirect(v),
    "must be an https: URL (http: only for localhost or 127.0.0.1; a native app's reverse-domain scheme such as org.example.app:/cb; no other scheme, no user:password@)",
  );

/** A logo the pages may show: a path on the app's site (e.g. /brand/acme.svg) or a data:image URI (the CSP allows no other origin). */
const sameOriginImage = z.string().refine(isSameOriginImage, "must be a path on this site such as /brand/logo.svg, or a data:image/…;base64 URI (pages load nothing from another origin)");
/** A text for people: one string, or one per language ({ en: "…", de: "…" }; en is used where the page's language is missing). */
const localizedText = z.union([
  z.string(),
  z.record(z.string().regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, "must be a language tag such as en or de"), z.string().min(1)).refine((m) => Object.keys(m).length > 0, "must name at least one language"),
]);

/** A duration: a whole number with s, m, h or d, e.g. 365d or 12h; at least a minute, at most ten years. */
export const DURATION_PATTERN = /^([1-9][0-9]{0,6})(s|m|h|d)$/;
const DURATION_UNITS = { s: 1, m: 60, h: 3600, d: 86400 } as const;
export function durationSeconds(value: string): number | null {
  const m = DURATION_PATTERN.exec(value);
  return m ? Number(m[1]) * DURATION_UNITS[m[2] as keyof typeof DURATION_UNITS] : null;
}
const consentTtl = z
  .string()
  .refine((v) => {
    const s = durationSeconds(v);
    return s !== null && s >= 60 && s <= 3650 * 86400;
  }, "must be a duration such as 365d, 12h or 90m (at least 1m, at most 3650d)");

const AudienceSchema = z
  .object({
    id: audienceId,
    name: z.string().min(1, "must not be empty").optional(),
    /** What the sign-in pages show for this audience's applications instead of the product's name and logo. */
    brand: z.object({ name: z.string().min(1).max(80).optional(), logo: sameOriginImage.optional() }).strict().optional(),
    "token-audience": z.string().min(1).regex(/^\S+$/, "must not contain whitespace").optional(),
    "sign-up-enabled": z.boolean().default(true),
    "invitation-enabled": z.boolean().default(false),
    "require-verified-email": z.boolean().default(false),
    /** Second factors: off (never asked), optional (asked of users who set one up), required (set up in the sign-in if missing). */
    mfa: z.enum(["off", "optional", "required"], { message: "must be off, optional or required" }).default("optional"),
    "start-url": absoluteUrl.optional(),
    /** How long a user's consent to the audience lasts before it is asked again, e.g. 365d (absent: until revoked). */
    "consent-ttl": consentTtl.optional(),
  })
  .strict();

const ScopeSchema = z
  .object({
    name: scopeName,
    description: localizedText.optional(),
    audience: audienceId.optional(),
    /** The consent page lets the user untick it (a client may also mark scopes optional for itself: optional-scopes). */
    optional: z.boolean().default(false),
  })
  .strict();

const ClaimSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_.:-]*$/, "must be a claim name"),
    scope: scopeName,
    source: z
      .string()
      .regex(/^(email|email_verified|name|given_name|family_name|id|attributes\.[A-Za-z0-9_.-]+)$/, "must be a user field (email, email_verified, name, given_name, family_name, id) or attributes.<key>"),
    audience: audienceId.optional(),
  })
  .strict();

/** Claims Hydra or the JWT format set themselves; a configured claim may not take these names. */
export const RESERVED_CLAIMS: ReadonlySet<string> = new Set([
  "sub", "iss", "aud", "exp", "iat", "nbf", "jti", "nonce", "at_hash", "c_hash", "auth_time", "acr", "amr", "azp", "sid",
  "client_id", "scope", "ext", "__proto__", "prototype",
]);

const GRANT_TYPES = ["authorization_code", "refresh_token", "client_credentials", "implicit"] as const;

const ClientSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9._~-]{1,255}$/, "must be 1-255 characters of A-Z a-z 0-9 . _ ~ -"),
    name: z.string().min(1).optional(),
    audience: audienceId,
    /** Name of the environment variable holding the client secret; absent → public client (PKCE). */
    "secret-env": envVarName.optional(),
    "redirect-uris": z.array(redirectUri).default([]),
    "post-logout-redirect-uris": z.array(absoluteUrl).default([]),
    "grant-types": z.array(z.enum(GRANT_TYPES)).min(1).default(["authorization_code", "refresh_token"]),
    "response-types": z.array(z.enum(["code", "token", "id_token"])).min(1).default(["code"]),
    scopes: z.array(scopeName).default(["openid"]),
    /** Scopes of this client the user may untick on the consent page (besides the scopes declared optional); never openid. */
    "optional-scopes": z.array(scopeName).default([]),
    /** Extra token audiences the client may request (its own audience's token-audience is always allowed). */
    "allowed-audiences": z.array(z.string().min(1).regex(/^\S+$/, "must not contain whitespace")).default([]),
    "token-endpoint-auth-method": z.enum(["client_secret_basic", "client_secret_post", "none"]).optional(),
    /** Shown on the consent page: the application's logo (a path on this site or a data:image URI), its home page, privacy policy and terms. */
    "logo-uri": sameOriginImage.optional(),
    "client-uri": absoluteUrl.optional(),
    "policy-uri": absoluteUrl.optional(),
    "tos-uri": absoluteUrl.optional(),
  })
  .strict();

export const ConfigFileSchema = z
  .object({
    /** When set, every audience identifier must start with it, e.g. "org.example.". */
    "identifier-prefix": z
      .string()
      .regex(/^([a-z0-9]+(-[a-z0-9]+)*\.)+$/, "must be dot-terminated lowercase kebab-case segments, e.g. org.example.")
      .optional(),
    audiences: z.array(AudienceSchema).default([]),
    scopes: z.array(ScopeSchema).default([]),
    claims: z.array(ClaimSchema).default([]),
    clients: z.array(ClientSchema).default([]),
    admin: z
      .object({
        audience: audienceId,
        scopes: z.array(ScopeSchema.omit({ audience: true })).default([]),
      })
      .strict()
      .optional(),
  })
  .strict();

export type ConfigFile = z.input<typeof ConfigFileSchema>;
