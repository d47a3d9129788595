// The mails that carry a link or a code, each written in the caller's transaction together with the
// single-use token it carries (no token without its mail, no mail without its token): address
// verification, "someone tried to sign up with your address", and password recovery. Used by the
// sign-up, sign-in, verification and recovery pages and by the admin commands. And the notices that
// a password changed and that an administrator removed the second factors, which carry none.
import type { Env } from "../config/env";
import { greetingName } from "../decisions/outbox";
import type { Language } from "../i18n";
import type { Queryable } from "../services/db";
import { enqueueMail } from "../services/mail";
import { issueOneTimeToken, type User } from "../services/store";
import { noteActivity } from "./activity";
import type { Logger } from "../logger";

/**
 * Issues a verification link and code for the user's address and writes the mail, in `tx`.
 * `lng` is the mail's language: the language of the page where the person signed up (lngOf(res)).
 */
export async function queueVerificationMail(tx: Queryable, env: Pick<Env, "APP_BASE_URL" | "EMAIL_VERIFICATION_TTL_SECONDS">, user: Pick<User, "id" | "email">, lng: Language = "en"): Promise<void> {
  const { token, code, expiresAt } = await issueOneTimeToken(tx, {
    kind: "VERIFY_EMAIL",
    userId: user.id,
    email: user.email,
    ttlSeconds: env.EMAIL_VERIFICATION_TTL_SECONDS,
    withCode: true,
  });
  // The address is not confirmed yet: the mail greets nobody (greetingName).
  await enqueueMail(tx, {
    to: user.email,
    userId: user.id,
    template: "verify-email",
    lng,
    data: { email: user.email, link: `${env.APP_BASE_URL}/verification?token=${token}`, code, expiresAt: expiresAt.toISOString() },
  });
}

/**
 * Mail to an address's owner when someone signs up with it: nothing changes, here is how to get in.
 * `lng`: the language of the sign-up page (the owner's own language is not stored).
 */
export async function queueAccountExistsMail(tx: Queryable, env: Pick<Env, "APP_BASE_URL">, owner: Pick<User, "id" | "email" | "name" | "emailVerified">, lng: Language = "en"): Promise<void> {
  await enqueueMail(tx, {
    to: owner.email,
    userId: owner.id,
    template: "account-exists",
    lng,
    data: { name: greetingName(owner), email: owner.email, recoveryLink: `${env.APP_BASE_URL}/recovery` },
  });
}

/**
 * Issues a recovery link for the user and writes the mail, in `tx` ("Forgot password?" and
 * `user:reset-password`). `lng` is the mail's language: the page's when a person asked for it.
 */
export async function queueRecoveryMail(tx: Queryable, env: Pick<Env, "APP_BASE_URL" | "RECOVERY_TTL_SECONDS">, user: Pick<User, "id" | "email" | "name" | "emailVerified">, lng: Language = "en"): Promise<void> {
  const { token, expiresAt } = await issueOneTimeToken(tx, { kind: "RECOVERY", userId: user.id, email: user.email, ttlSeconds: env.RECOVERY_TTL_SECONDS, withCode: false });
  await enqueueMail(tx, {
    to: user.email,
    userId: user.id,
    template: "recovery",
    lng,
    data: { name: greetingName(user), email: user.email, link: `${env.APP_BASE_URL}/recovery/reset?token=${token}`, expiresAt: expiresAt.toISOString() },
  });
}

/** The notice to the account's address that its password changed (`how`: on the account page or by a recovery link), in `tx`. */
export async function queuePasswordChangedMail(tx: Queryable, user: Pick<User, "id" | "email" | "name" | "emailVerified">, lng: Language, how: "account" | "recovery", logger: Pick<Logger, "info">): Promise<void> {
  // The change's event in the account's activity, in the same transaction as its notice.
  await noteActivity(tx, { userId: user.id, kind: how === "account" ? "password_changed" : "password_reset" }, logger);
  await enqueueMail(tx, {
    to: user.email,
    userId: user.id,
    template: "password-changed",
    lng,
    data: { name: greetingName(user), email: user.email, when: new Date().toISOString(), how },
  });
}

/**
 * The notice to the account's address that an administrator removed its second factors
 * (`user:mfa-reset`), in `tx`: sign-in needs only the password now; not asked for: contact support
 * (`supportUrl`, BRAND_SUPPORT_URL, when the deployment has one).
 */
export async function queueFactorsResetMail(tx: Queryable, user: Pick<User, "id" | "email" | "name" | "emailVerified">, lng: Language, supportUrl?: string): Promise<void> {
  await enqueueMail(tx, {
    to: user.email,
    userId: user.id,
    template: "factors-reset",
    lng,
    data: { name: greetingName(user), email: user.email, when: new Date().toISOString(), supportUrl: supportUrl ?? "" },
  });
}
