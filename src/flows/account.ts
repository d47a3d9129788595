// The signed-in user's account page: profile, email, password, sign-out, deletion (their forms are
// account-settings.ts), second factors and passkeys, and the consents per audience (account-consents.ts).
import { AUDIENCE_ID_PATTERN } from "../config/audiences";
import { accountNotice } from "../decisions/account-settings";
import { AppError } from "../errors";
import { msg, type Language, type Msg } from "../i18n";
import { PASSWORD_MIN_LENGTH } from "../services/passwords";
import type { Store } from "../services/store";
import { describeConsents, type AccountConsentDeps } from "./account-consents";
import { page, type Outcome } from "./outcome";
import type { Passkeys } from "../services/passkeys";
import { placesAndActivity } from "./account-places";

export type { ConsentItem } from "./account-consents";

export interface AccountDeps {
  store: Pick<Store, "getUser" | "pendingEmailChange" | "secondFactors" | "listPasskeys" | "getAudience" | "listAccountSessions" | "listActivity"> & AccountConsentDeps["store"];
  /** Whether the site offers passkeys (services/passkeys.ts); unset: it does. */
  passkeys?: Pick<Passkeys, "available">;
}

/** What the account page shows besides the user's data: a confirmation, or a form's error (by form, and the input it is about). */
export interface AccountPageExtra {
  status?: number;
  notice?: Msg | null;
  revoked?: string | null;
  error?: { form: "email" | "password" | "delete" | "factor" | "passkey" | "export"; message: Msg | string; field?: AccountErrorField };
}

/** The inputs of /account an error can be tied to (their ids). */
export type AccountErrorField = "new-email" | "email-current-password" | "current-password" | "new-password" | "delete-password" | "codes-password" | "remove-factor-password" | "passkey-password" | `remove-passkey-password-${string}` | "export-password";

/** /account for the signed-in user: profile, email, password, sign-out, deletion, consents. */
export async function accountPage(
  deps: Pick<AccountDeps, "store" | "passkeys">,
  input: { userId: string; lng: Language; sessionId?: string; activityPage?: number },
  extra: AccountPageExtra = {},
): Promise<Outcome> {
  const { userId } = input;
  const user = await deps.store.getUser(userId);
  if (!user) throw new AppError(401, "not_signed_in", msg("account:signIn.accountGone"), { title: msg("account:signIn.notSignedIn") });
  const [pending, consents, factors, passkeys, places] = await Promise.all([
    deps.store.pendingEmailChange(userId),
    deps.store.listConsents(userId),
    deps.store.secondFactors(userId),
    deps.store.listPasskeys(userId),
    placesAndActivity(deps, input),
  ]);
  const locals = {
    email: user.email,
    name: user.name ?? "",
    emailVerified: user.emailVerified,
    pendingEmail: pending ? { email: pending.email, expiresAt: pending.expiresAt } : null,
    passwordMinLength: PASSWORD_MIN_LENGTH,
    consents: await describeConsents(deps, consents, input.lng),
    factors: {
      totp: factors.totp?.confirmed ? { since: factors.totp.createdAt } : null,
      codesLeft: factors.recoveryCodesLeft,
      // The audiences this person uses that require a second factor: removing it is said to mean something there.
      requiredBy: consents.filter((c) => c.audience.mfa === "required").map((c) => c.audience.displayName),
    },
    passkeys,
    passkeysAvailable: deps.passkeys?.available ?? true,
    ...places,
    revoked: extra.revoked ?? null,
    notice: extra.notice ?? null,
    error: extra.error ?? null,
  };
  return page("account", msg("account:title"), locals, { status: extra.status, form: true });
}

/** GET /account: the page, with the confirmation a redirect asked for (the audience as stored, fixed words; never the URL's text). */
export async function accountView(deps: Pick<AccountDeps, "store">, input: { userId: string; lng: Language; sessionId?: string; activityPage?: number; revoked?: string; done?: string }): Promise<Outcome> {
  const revoked = input.revoked && AUDIENCE_ID_PATTERN.test(input.revoked) ? await deps.store.getAudience(input.revoked) : null;
  return accountPage(deps, input, { revoked: revoked?.displayName ?? null, notice: accountNotice(input.done) });
}
