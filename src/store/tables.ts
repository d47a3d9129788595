// Every table's columns, declared once: the field name the app reads a column as, the column's name,
// its type (PostgreSQL's udt_name) and whether it may be NULL. The store's row types (User, Audience,
// Consent, Invitation, …) are derived from these declarations, and test/integration/tables.test.ts
// compares them with information_schema.columns of a migrated database, so a migration that adds,
// drops, renames or retypes a column fails that test until the declaration here follows it.
// (The schema itself is prisma/schema.prisma and its migrations; this file describes it to TypeScript.)
import type { JsonValue } from "./sql";

/** A column: its name `C`, PostgreSQL type (udt_name: "text", "uuid", "int4", "_text" for text[], an enum's name…) and nullability. `T` is its value read by pg. */
export interface Column<T = unknown, C extends string = string> {
  readonly column: C;
  readonly type: string;
  readonly nullable: boolean;
  /** An enum column's values (in the enum's order). */
  readonly labels?: readonly string[];
  /** Never set: carries the value's type. */
  readonly value?: T;
}

function col<T, C extends string = string>(column: C, type: string): Column<T, C> {
  return { column, type, nullable: false };
}
const text = <C extends string>(column: C) => col<string, C>(column, "text");
const uuid = <C extends string>(column: C) => col<string, C>(column, "uuid");
const bool = <C extends string>(column: C) => col<boolean, C>(column, "bool");
const int = <C extends string>(column: C) => col<number, C>(column, "int4");
/** bigint: pg reads int8 as text (its range exceeds a JS number's). */
const bigint = <C extends string>(column: C) => col<string, C>(column, "int8");
const timestamp = <C extends string>(column: C) => col<Date, C>(column, "timestamptz");
const jsonb = <C extends string>(column: C) => col<JsonValue, C>(column, "jsonb");
/**
 * text[]: Prisma makes a scalar list's column nullable (schema.prisma cannot say NOT NULL for one),
 * but every write of the app gives an array ('{}' when empty): the column is declared nullable, as
 * it is, and read as string[].
 */
const texts = <C extends string>(column: C): Column<string[], C> => ({ column, type: "_text", nullable: true });
/** An enum column: `type` is the enum's name, `labels` its values. */
const oneOf = <const L extends readonly string[], C extends string>(column: C, type: string, labels: L): Column<L[number], C> => ({ column, type, nullable: false, labels });
function nullable<T, C extends string>(c: Column<T, C>): Column<T | null, C> {
  return { ...c, nullable: true } as Column<T | null, C>;
}

export interface Table<C extends Record<string, Column> = Record<string, Column>, N extends string = string> {
  readonly name: N;
  readonly columns: C;
}
const table = <N extends string, C extends Record<string, Column>>(name: N, columns: C): Table<C, N> => ({ name, columns });

/** A row of `T` as the app reads it (field names, not column names). */
export type Row<T extends Table> = { -readonly [K in keyof T["columns"]]: T["columns"][K] extends Column<infer V> ? V : never };

/** A row of `T` as a statement returns it (column names: SELECT t.* or the columns one by one). */
export type ColumnRow<T extends Table> = {
  -readonly [K in keyof T["columns"] as T["columns"][K]["column"]]: T["columns"][K] extends Column<infer V> ? V : never;
};

const stamps = { createdAt: timestamp("created_at"), updatedAt: timestamp("updated_at") };

export const AUDIENCES = table("audiences", {
  id: text("id"),
  displayName: text("display_name"),
  tokenAudience: text("token_audience"),
  signUpEnabled: bool("sign_up_enabled"),
  invitationEnabled: bool("invitation_enabled"),
  requireVerifiedEmail: bool("require_verified_email"),
  mfa: oneOf("mfa", "MfaPolicy", ["off", "optional", "required"]),
  startUrl: nullable(text("start_url")),
  brandName: nullable(text("brand_name")),
  brandLogo: nullable(text("brand_logo")),
  consentTtlSeconds: nullable(int("consent_ttl_seconds")),
  ...stamps,
});

export const CLIENTS = table("clients", {
  id: text("id"),
  audienceId: text("audience_id"),
  displayName: nullable(text("display_name")),
  secretHash: nullable(text("secret_hash")),
  optionalScopes: texts("optional_scopes"),
  ...stamps,
});

export const SCOPES = table("scopes", {
  name: text("name"),
  description: nullable(text("description")),
  descriptions: nullable(jsonb("descriptions")),
  audienceId: nullable(text("audience_id")),
  optional: bool("optional"),
  ...stamps,
});

export const CLAIMS = table("claims", {
  name: text("name"),
  scope: text("scope"),
  source: text("source"),
  audienceId: nullable(text("audience_id")),
  ...stamps,
});

export const USERS = table("users", {
  id: uuid("id"),
  email: text("email"),
  emailNormalized: text("email_normalized"),
  emailVerified: bool("email_verified"),
  passwordHash: text("password_hash"),
  name: nullable(text("name")),
  givenName: nullable(text("given_name")),
  familyName: nullable(text("family_name")),
  attributes: jsonb("attributes"),
  disabledAt: nullable(timestamp("disabled_at")),
  /** Made by self sign-up, its address not confirmed yet: completes no sign-in (decisions/login.ts). */
  pendingSince: nullable(timestamp("pending_since")),
  ...stamps,
});

export const CONSENTS = table("consents", {
  id: uuid("id"),
  userId: uuid("user_id"),
  audienceId: text("audience_id"),
  scopes: texts("scopes"),
  clientIds: texts("client_ids"),
  declinedScopes: texts("declined_scopes"),
  confirmedAt: timestamp("confirmed_at"),
  ...stamps,
});

export const CONSENT_EVENTS = table("consent_events", {
  id: bigint("id"),
  userId: uuid("user_id"),
  audienceId: text("audience_id"),
  clientId: nullable(text("client_id")),
  action: oneOf("action", "ConsentAction", ["GRANT", "MERGE", "REVOKE", "DECLINE"]),
  scopesAdded: texts("scopes_added"),
  scopesRemoved: texts("scopes_removed"),
  createdAt: timestamp("created_at"),
});

export const INVITATIONS = table("invitations", {
  id: uuid("id"),
  audienceId: text("audience_id"),
  codeHash: text("code_hash"),
  email: nullable(text("email")),
  expiresAt: timestamp("expires_at"),
  usedAt: nullable(timestamp("used_at")),
  usedByUserId: nullable(uuid("used_by_user_id")),
  createdAt: timestamp("created_at"),
});

export const HANDLED_CHALLENGES = table("handled_challenges", {
  hash: text("hash"),
  kind: text("kind"),
  handledAt: timestamp("handled_at"),
});

export const SESSIONS = table("session", {
  sid: col<string, "sid">("sid", "varchar"),
  sess: col<JsonValue, "sess">("sess", "json"),
  expire: timestamp("expire"),
});

export const RATE_LIMITS = table("rate_limits", {
  key: col<string, "key">("key", "varchar"),
  points: int("points"),
  /** A Unix time in milliseconds. */
  expire: nullable(bigint("expire")),
});

export const ONE_TIME_TOKENS = table("one_time_tokens", {
  id: uuid("id"),
  kind: oneOf("kind", "OneTimeTokenKind", ["VERIFY_EMAIL", "RECOVERY", "CHANGE_EMAIL"]),
  tokenHash: text("token_hash"),
  codeHash: nullable(text("code_hash")),
  attempts: int("attempts"),
  userId: uuid("user_id"),
  email: text("email"),
  expiresAt: timestamp("expires_at"),
  usedAt: nullable(timestamp("used_at")),
  createdAt: timestamp("created_at"),
});

export const OUTBOX = table("outbox", {
  id: bigint("id"),
  to: text("to"),
  userId: nullable(uuid("user_id")),
  template: text("template"),
  data: jsonb("data"),
  attempts: int("attempts"),
  nextAttemptAt: timestamp("next_attempt_at"),
  sentAt: nullable(timestamp("sent_at")),
  lastError: nullable(text("last_error")),
  createdAt: timestamp("created_at"),
});

export const TOTP_FACTORS = table("totp_factors", {
  userId: uuid("user_id"),
  /** Encrypted (services/secret-box.ts). */
  secret: text("secret"),
  confirmedAt: nullable(timestamp("confirmed_at")),
  lastStep: nullable(bigint("last_step")),
  createdAt: timestamp("created_at"),
});

export const RECOVERY_CODES = table("recovery_codes", {
  id: uuid("id"),
  userId: uuid("user_id"),
  codeHash: text("code_hash"),
  usedAt: nullable(timestamp("used_at")),
  createdAt: timestamp("created_at"),
});

export const PASSKEYS = table("passkeys", {
  id: uuid("id"),
  userId: uuid("user_id"),
  credentialId: text("credential_id"),
  publicKey: text("public_key"),
  counter: bigint("counter"),
  transports: texts("transports"),
  deviceType: text("device_type"),
  backedUp: bool("backed_up"),
  name: text("name"),
  createdAt: timestamp("created_at"),
  lastUsedAt: nullable(timestamp("last_used_at")),
});

export const LOGIN_SESSION_STRENGTH = table("login_session_strength", {
  sessionId: text("session_id"),
  userId: uuid("user_id"),
  acr: text("acr"),
  amr: texts("amr"),
  createdAt: timestamp("created_at"),
});

export const ACCOUNT_SESSIONS = table("account_sessions", {
  id: uuid("id"),
  userId: uuid("user_id"),
  loginSessionId: nullable(text("login_session_id")),
  appSessionId: nullable(col<string, "app_session_id">("app_session_id", "varchar")),
  userAgent: text("user_agent"),
  ipPrefix: text("ip_prefix"),
  rememberedUntil: nullable(timestamp("remembered_until")),
  signedInAt: timestamp("signed_in_at"),
  lastSeenAt: timestamp("last_seen_at"),
});

export const ACCOUNT_EVENTS = table("account_events", {
  id: bigint("id"),
  userId: uuid("user_id"),
  kind: text("kind"),
  detail: jsonb("detail"),
  createdAt: timestamp("created_at"),
});

export const CONFIG_VERSION = table("config_version", {
  id: col<number, "id">("id", "int2"),
  version: bigint("version"),
});

/** Every table of the app's database (Prisma's own _prisma_migrations aside). */
export const TABLES = [
  AUDIENCES,
  CLIENTS,
  SCOPES,
  CLAIMS,
  USERS,
  CONSENTS,
  CONSENT_EVENTS,
  INVITATIONS,
  HANDLED_CHALLENGES,
  SESSIONS,
  RATE_LIMITS,
  ONE_TIME_TOKENS,
  OUTBOX,
  TOTP_FACTORS,
  RECOVERY_CODES,
  PASSKEYS,
  LOGIN_SESSION_STRENGTH,
  ACCOUNT_SESSIONS,
  ACCOUNT_EVENTS,
  CONFIG_VERSION,
] as const;

/**
 * A SELECT list of all of `t`'s columns from alias `as`, each named by its field (quoted): the rows
 * come back in Row<T>'s shape.
 */
export function selectFields(t: Table, as: string): string {
  return Object.entries(t.columns)
    .map(([field, c]) => `${as}."${c.column}" AS "${field}"`)
    .join(", ");
}

const CASTS: Record<string, string> = { uuid: "uuid", jsonb: "jsonb", json: "json", _text: "text[]", int8: "bigint", int4: "int", int2: "smallint", bool: "boolean", text: "text", varchar: "varchar", timestamptz: "timestamptz" };

/** A parameter's placeholder for column `c`, cast to its type (an enum by its name). */
export function paramFor(c: Column, placeholder: string): string {
  return `${placeholder}::${CASTS[c.type] ?? `"${c.type}"`}`;
}

/** A value of column `c` as a statement parameter (JSON as text, a JS time as ISO text). */
export function valueFor(c: Column, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (c.type === "jsonb" || c.type === "json") return JSON.stringify(v);
  if (v instanceof Date) return v.toISOString();
  return v;
}
