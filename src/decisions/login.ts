// Pure decisions of the login step (no I/O).
import type { AcceptOAuth2LoginRequest } from "@ory/hydra-client";

export type LoginStart = { kind: "accept"; subject: string } | { kind: "form" };

/** Hydra already knows the user (remembered session) → accept at once; otherwise ask for credentials. */
export function decideLoginStart(req: { skip?: boolean; subject?: string }): LoginStart {
  if (req.skip && req.subject) return { kind: "accept", subject: req.subject };
  return { kind: "form" };
}

/** What the login step accepts at Hydra: the stable user id as subject, never the email. */
export function loginAcceptance(opts: {
  userId: string;
  remember: boolean;
  rememberForSeconds: number;
  audienceId: string | null;
}): AcceptOAuth2LoginRequest {
  return {
    subject: opts.userId,
    remember: opts.remember,
    remember_for: opts.remember ? opts.rememberForSeconds : 0,
    context: { audience: opts.audienceId },
  };
}

/** Whether the login step must wait until the user's address is verified (audience require-verified-email). */
export function mustVerifyFirst(audience: { requireVerifiedEmail: boolean } | null, user: { emailVerified: boolean; pendingSince: Date | null }): boolean {
  // A self sign-up nobody confirmed may be someone else's claim on the address: it signs in nowhere.
  if (user.pendingSince !== null && !user.emailVerified) return true;
  return Boolean(audience?.requireVerifiedEmail) && !user.emailVerified;
}
