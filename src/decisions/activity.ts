// What happened to an account, as one event: what is kept of it (account_events), what the
// operators' log line says, and how /account tells it. Pure: no I/O.

/** Every kind of event the account's activity holds (consents come from consent_events as consent_*). */
export const ACTIVITY_KINDS = [
  "sign_in",
  "sign_in_failed",
  "session_ended",
  "signed_out_everywhere",
  "factor_added",
  "factor_removed",
  "recovery_codes_replaced",
  "recovery_code_used",
  "passkey_added",
  "passkey_renamed",
  "passkey_removed",
  "password_changed",
  "password_reset",
  "email_changed",
  "admin_disabled",
  "admin_enabled",
  "admin_password_reset",
  "admin_factors_reset",
  "consent_granted",
  "consent_merged",
  "consent_revoked",
  "consent_declined",
  "consent_ask_again",
] as const;
export type ActivityKind = (typeof ACTIVITY_KINDS)[number];

/** An event's details: names and networks only, never a secret, a code or a full address. */
export interface ActivityDetail {
  /** How the person signed in (RFC 8176 amr values). */
  methods?: string[];
  browser?: string | null;
  os?: string | null;
  /** The network of the address (decisions/sign-in-place.ts networkOf). */
  network?: string;
  /** The OAuth client the sign-in was for. */
  client?: string;
  /** A sign-in from a browser that held no sign-in of this account. */
  newBrowser?: boolean;
  /** A passkey's name. */
  passkey?: string;
  /** Recovery codes left after one was used. */
  left?: number;
  /** Consents: the audience, and the scopes added or removed. */
  audience?: string;
  scopes?: string[];
}

export interface ActivityEvent {
  userId: string;
  kind: ActivityKind;
  detail?: ActivityDetail;
}

/** The operators' structured log line of an event (pino fields): the event's name, whose, its details. */
export function activityLogLine(e: ActivityEvent): Record<string, unknown> {
  return { event: e.kind, subject: e.userId, activity: true, ...(e.detail ?? {}) };
}

/** The words of a browser ("Firefox on Linux"), as translation values: unknown parts stay out. */
export function browserWords(d: Pick<ActivityDetail, "browser" | "os">): { key: string; values: Record<string, string> } {
  if (d.browser && d.os) return { key: "account:where.browserOn", values: { browser: d.browser, os: d.os } };
  if (d.browser) return { key: "account:where.browserOnly", values: { browser: d.browser } };
  if (d.os) return { key: "account:where.osOnly", values: { os: d.os } };
  return { key: "account:where.unknownBrowser", values: {} };
}

/**
 * How a consent history entry reads as an activity event (store/account-activity.ts listActivity
 * says the same in SQL). A DECLINE entry either declines ("don't ask again") or takes that back.
 */
export function consentActivityKind(action: "GRANT" | "MERGE" | "REVOKE" | "DECLINE", scopesAdded: readonly string[] = []): ActivityKind {
  if (action === "DECLINE") return scopesAdded.length ? "consent_ask_again" : "consent_declined";
  return action === "GRANT" ? "consent_granted" : action === "MERGE" ? "consent_merged" : "consent_revoked";
}

/** One page of the activity list: page numbers from 1, `size` events each. */
export function activityPage(requested: number | undefined, size: number): { page: number; offset: number; limit: number } {
  const page = Number.isInteger(requested) && requested! >= 1 && requested! <= 1000 ? requested! : 1;
  // One more than shown: whether an older page exists.
  return { page, offset: (page - 1) * size, limit: size + 1 };
}

/** The activity list's page size. */
export const ACTIVITY_PAGE_SIZE = 20;
