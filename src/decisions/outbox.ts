// Pure decisions of the mail outbox: when to try again, when to give up.

/** Attempts after which a mail is given up (the links in it have expired by then). */
export const OUTBOX_MAX_ATTEMPTS = 40;

/** Seconds to wait after the n-th failed attempt: 5 s, 10 s, 20 s, … capped at 10 minutes. */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(600, 5 * 2 ** Math.max(0, attempts - 1));
}

/**
 * The name a mail greets its reader with: only an account's own name sent to its confirmed address.
 * Whoever signs up or asks for a new address chooses the name, so a mail to an address nobody has
 * confirmed would carry their text to a stranger ("Hello Prize! Claim it at …"): it greets nobody.
 */
export function greetingName(user: { name: string | null; emailVerified: boolean }): string {
  return user.emailVerified ? (user.name ?? "") : "";
}
