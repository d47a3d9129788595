// Pure decisions of the self-service account page (/account): what a name is made of, what a
// request to change the email address leads to, whether a password change or a deletion may go
// ahead, what a change-email link is worth in this browser, and the plain words that confirm each
// action on the next page.

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
  | { kind: "refuse"; status: 400 | 429; field: "current_password" | "new_password"; message: string };

/**
 * A password change: the current password must be right (checked first, counted like a sign-in),
 * the new one must obey the sign-up rules (`strengthProblem` from passwordProblem) and differ.
 */
export function decidePasswordChange(input: { current: CredentialCheck; strengthProblem: string | null; sameAsCurrent: boolean }): PasswordChangeDecision {
  const refused = credentialRefusal(input.current);
  if (refused) return { kind: "refuse", field: "current_password", ...refused };
  if (input.strengthProblem) return { kind: "refuse", status: 400, field: "new_password", message: `${input.strengthProblem} Your password was not changed.` };
  if (input.sameAsCurrent) return { kind: "refuse", status: 400, field: "new_password", message: "The new password is the same as the current one. Your password was not changed." };
  return { kind: "change" };
}

/** The message for a current password that is wrong or was tried too often; null when it is right. */
export function credentialRefusal(check: CredentialCheck, nothingChanged = "Nothing was changed."): { status: 400 | 429; message: string } | null {
  if (check === "right") return null;
  if (check === "wrong") return { status: 400, message: `Your current password is not right. ${nothingChanged}` };
  const minutes = Math.max(1, Math.ceil(check.throttledForSeconds / 60));
  return { status: 429, message: `Too many wrong passwords. Please try again in ${minutes} minute${minutes === 1 ? "" : "s"}. ${nothingChanged}` };
}

export type LinkStatus = "valid" | "unknown" | "used" | "expired";

export type ChangeEmailLinkVerdict = { kind: "ok" } | { kind: "refuse"; status: 403 | 404 | 410; code: string; message: string };

/**
 * What a change-email link is worth here. It proves access to the new mailbox, so it works in any
 * browser, except one signed in to this app as another account (that would be a confusing mix-up).
 */
export function judgeChangeEmailLink(status: LinkStatus, tokenUserId: string | null, sessionUserId: string | undefined): ChangeEmailLinkVerdict {
  switch (status) {
    case "unknown":
      return { kind: "refuse", status: 404, code: "change_email_unknown", message: "This link is not valid. Check that you copied the whole link, or ask for a new one on your account page." };
    case "used":
      return { kind: "refuse", status: 410, code: "change_email_used", message: "This link was already used (or a newer request replaced it). Your account page shows your current address." };
    case "expired":
      return { kind: "refuse", status: 410, code: "change_email_expired", message: "This link has expired. Ask for a new one on your account page." };
  }
  if (sessionUserId && tokenUserId && sessionUserId !== tokenUserId) {
    return {
      kind: "refuse",
      status: 403,
      code: "change_email_other_account",
      message: "This link belongs to another account than the one signed in on this browser. Open it in another browser, or sign out first.",
    };
  }
  return { kind: "ok" };
}

/** What /account?done=<key> says: fixed words chosen by the key, never text from the URL. */
const NOTICES = {
  name: "Your name was changed.",
  "email-sent":
    "We sent a link to the new address. Your address changes only when you open that link and confirm; until then you sign in with your current address. If nothing arrives, check the spelling and your spam folder.",
  "email-unchanged": "That is already your address: nothing was changed.",
  "email-changed": "Your email address was changed and confirmed. We told your previous address about it.",
  password: "Your password was changed. Every other browser and device was signed out; this one stays signed in. We sent you a mail about the change.",
  "password-partly":
    "Your password was changed, but signing out your other devices did not fully work. Please use “Sign out everywhere” below in a moment.",
} as const;

export type AccountNoticeKey = keyof typeof NOTICES;

export function accountNotice(key: string | undefined): string | null {
  return key && Object.hasOwn(NOTICES, key) ? NOTICES[key as AccountNoticeKey] : null;
}
