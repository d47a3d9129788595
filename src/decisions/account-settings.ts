// Pure decisions of the self-service account page (/account): what a name is made of, what a
// request to change the email address leads to, whether a password change or a deletion may go
// ahead, what a change-email link is worth in this browser, and the plain words that confirm each
// action on the next page (as messages: translation keys with values, put into words when shown).
import { msg, type Msg } from "../i18n";

/** "Ada King Lovelace" → name "Ada King Lovelace", given "Ada", family "King Lovelace" (as user:create does). */
export function splitName(name: string): { name: string | null; givenName: string | null; familyName: string | null } {
  const trimmed = name.trim().replace(/\s+/g, " ");
  const [given, ...rest] = trimmed.split(" ");
  return { name: trimmed || null, givenName: given || null, familyName: rest.join(" ") || null };
}

export type EmailChangeDecision =
  /** The address is already the account's (compared case-insensitively): nothing to do, say so. */
  | { kind: "unchanged" }
  /** Send the new address a link; the address changes only when the link is confirmed. */
  | { kind: "send-link" }
  /**
   * Another account has the address: the new address gets a mail saying someone tried to use it,
   * and the page says exactly what it says for a free address (nothing reveals the other account).
   */
  | { kind: "notify-owner" };

/** `current` and `requested` are normalized (lower-case); `takenByAnother`: another user has `requested`. */
export function decideEmailChange(input: { current: string; requested: string; takenByAnother: boolean }): EmailChangeDecision {
  if (input.requested === input.current) return { kind: "unchanged" };
  return input.takenByAnother ? { kind: "notify-owner" } : { kind: "send-link" };
}

export type CredentialCheck = "right" | "wrong" | { throttledForSeconds: number };

export type PasswordChangeDecision =
  | { kind: "change" }
  | { kind: "refuse"; status: 400 | 429; field: "current_password" | "new_password"; message: Msg };

/**
 * A password change: the current password must be right (checked first, counted like a sign-in),
 * the new one must obey the sign-up rules (`strengthProblem` from passwordProblem) and differ.
 */
export function decidePasswordChange(input: { current: CredentialCheck; strengthProblem: Msg | string | null; sameAsCurrent: boolean }): PasswordChangeDecision {
  const refused = credentialRefusal(input.current);
  if (refused) return { kind: "refuse", field: "current_password", ...refused };
  if (input.strengthProblem) return { kind: "refuse", status: 400, field: "new_password", message: msg("account:refused.weakPassword", { problem: input.strengthProblem }) };
  if (input.sameAsCurrent) return { kind: "refuse", status: 400, field: "new_password", message: msg("account:refused.samePassword") };
  return { kind: "change" };
}

/**
 * The message for a current password that is wrong or was tried too often; null when it is right.
 * `nothingChanged` says what did not happen (account:notChanged.*).
 */
export function credentialRefusal(check: CredentialCheck, nothingChanged: Msg = msg("account:notChanged.nothing")): { status: 400 | 429; message: Msg } | null {
  if (check === "right") return null;
  if (check === "wrong") return { status: 400, message: msg("account:refused.wrongPassword", { then: nothingChanged }) };
  const minutes = Math.max(1, Math.ceil(check.throttledForSeconds / 60));
  return { status: 429, message: msg("account:refused.throttled", { count: minutes, then: nothingChanged }) };
}

export type LinkStatus = "valid" | "unknown" | "used" | "expired";

export type ChangeEmailLinkVerdict = { kind: "ok" } | { kind: "refuse"; status: 403 | 404 | 410; code: string; message: Msg };

/**
 * What a change-email link is worth here. It proves access to the new mailbox, so it works in any
 * browser, except one signed in to this app as another account (that would be a confusing mix-up).
 */
export function judgeChangeEmailLink(status: LinkStatus, tokenUserId: string | null, sessionUserId: string | undefined): ChangeEmailLinkVerdict {
  switch (status) {
    case "unknown":
      return { kind: "refuse", status: 404, code: "change_email_unknown", message: msg("account:changeEmail.unknown") };
    case "used":
      return { kind: "refuse", status: 410, code: "change_email_used", message: msg("account:changeEmail.used") };
    case "expired":
      return { kind: "refuse", status: 410, code: "change_email_expired", message: msg("account:changeEmail.expired") };
  }
  if (sessionUserId && tokenUserId && sessionUserId !== tokenUserId) {
    return { kind: "refuse", status: 403, code: "change_email_other_account", message: msg("account:changeEmail.otherAccount") };
  }
  return { kind: "ok" };
}

/** What /account?done=<key> says: fixed words chosen by the key (account:notice.<key>), never text from the URL. */
const NOTICES = ["name", "email-sent", "email-unchanged", "email-changed", "password", "password-partly", "factor-added", "factor-added-partly", "factor-removed", "factor-removed-partly", "factor-none", "passkey-added", "passkey-added-partly", "passkey-removed", "passkey-removed-partly", "passkey-renamed", "passkey-gone", "permission-removed", "ask-again", "session-ended"] as const;

export type AccountNoticeKey = (typeof NOTICES)[number];

export function accountNotice(key: string | undefined): Msg | null {
  return key && (NOTICES as readonly string[]).includes(key) ? msg(`account:notice.${key}`) : null;
}
