// Pure decisions of sign-up: the audience's registration mode and whether a registration may
// proceed, given the invitation (if any) that came with it. Messages are translation keys (Msg).
import { msg, type Msg } from "../i18n";

export type RegistrationMode = "open" | "open+invitations" | "invitation-only" | "closed";

/** sign-up-enabled × invitation-enabled → the four modes. */
export function registrationMode(a: { signUpEnabled: boolean; invitationEnabled: boolean }): RegistrationMode {
  if (a.signUpEnabled) return a.invitationEnabled ? "open+invitations" : "open";
  return a.invitationEnabled ? "invitation-only" : "closed";
}

/** Whether the login page links to registration. */
export function offersSignUp(mode: RegistrationMode): boolean {
  return mode !== "closed";
}

export type InvitationCheck =
  | { status: "none" }
  | { status: "unknown" }
  | { status: "expired" }
  | { status: "used" }
  | { status: "other-audience" }
  | { status: "email-mismatch" }
  | { status: "valid"; boundEmail: string | null };

export interface InvitationFacts {
  audienceId: string;
  /** Normalized (lower-case) email the invitation is bound to, or null. */
  email: string | null;
  expiresAt: Date;
  usedAt: Date | null;
}

/**
 * What an invitation code is worth for a registration in `audienceId` by `email` (normalized;
 * null when the email is not known yet, e.g. when the link is opened). `invitation` is the stored
 * invitation the code hashes to, or null when none does.
 */
export function checkInvitation(invitation: InvitationFacts | null, ctx: { audienceId: string | null; email: string | null; now: Date }): InvitationCheck {
  if (!invitation) return { status: "unknown" };
  if (invitation.usedAt) return { status: "used" };
  if (invitation.expiresAt.getTime() <= ctx.now.getTime()) return { status: "expired" };
  if (ctx.audienceId !== null && invitation.audienceId !== ctx.audienceId) return { status: "other-audience" };
  if (invitation.email && ctx.email !== null && invitation.email !== ctx.email) return { status: "email-mismatch" };
  return { status: "valid", boundEmail: invitation.email };
}

export type RegistrationDecision =
  | { kind: "allow"; useInvitation: boolean; emailVerified: boolean }
  | { kind: "refuse"; status: 400 | 403; reason: string; message: Msg };

const PROBLEM_KEYS = {
  unknown: "unknown",
  expired: "expired",
  used: "used",
  "other-audience": "otherAudience",
  "email-mismatch": "emailMismatch",
} as const;

/** What is wrong with an invitation, for the person (registration:invitationProblem.*). */
export function invitationProblem(status: Exclude<InvitationCheck["status"], "valid" | "none">, audienceName: string): Msg {
  return msg(`registration:invitationProblem.${PROBLEM_KEYS[status]}`, status === "other-audience" ? { audience: audienceName } : undefined);
}

export function decideRegistration(mode: RegistrationMode, invitation: InvitationCheck, audienceName: string): RegistrationDecision {
  const refuse = (status: 400 | 403, reason: string, message: Msg): RegistrationDecision => ({ kind: "refuse", status, reason, message });
  const audience = { audience: audienceName };
  if (mode === "closed") return refuse(403, "closed", msg("registration:closed.message", audience));
  if (mode === "open") {
    if (invitation.status === "none") return { kind: "allow", useInvitation: false, emailVerified: false };
    return refuse(400, "invitations_not_accepted", msg("registration:refused.notAccepted", audience));
  }
  if (invitation.status === "valid") return { kind: "allow", useInvitation: true, emailVerified: invitation.boundEmail !== null };
  if (invitation.status === "none") {
    if (mode === "open+invitations") return { kind: "allow", useInvitation: false, emailVerified: false };
    return refuse(403, "invitation_required", msg("registration:refused.required", audience));
  }
  const problem = invitationProblem(invitation.status, audienceName);
  return refuse(400, `invitation_${invitation.status.replaceAll("-", "_")}`, mode === "open+invitations" ? msg("registration:refused.orWithout", { problem }) : problem);
}
