// Pure decisions of the mail outbox: when to try again, when to give up.

/** Attempts after which a mail is given up (the links in it have expired by then). */
export const OUTBOX_MAX_ATTEMPTS = 40;

/** Seconds to wait after the n-th failed attempt: 5 s, 10 s, 20 s, … capped at 10 minutes. */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(600, 5 * 2 ** Math.max(0, attempts - 1));
}
