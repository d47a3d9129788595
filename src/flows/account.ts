// The signed-in user's account page: profile, email, password, sign-out, deletion (their forms are
// account-settings.ts), the consents per audience, and revoking one after a confirmation page.
import { AUDIENCE_ID_PATTERN } from "../config/audiences";
import { accountNotice } from "../decisions/account-settings";
import { describeScope } from "../decisions/scopes";
import { AppError } from "../errors";
import { fixedT, msg, say, type Language, type Msg } from "../i18n";
import type { Logger } from "../logger";
import type { Hydra } from "../services/hydra";
import { PASSWORD_MIN_LENGTH } from "../services/passwords";
import type { Audience, ConsentView, Store } from "../services/store";
import { page, type Outcome } from "./outcome";
import type { Passkeys } from "../services/passkeys";
import { placesAndActivity } from "./account-places";

export interface AccountDeps {
  store: Pick<Store, "getUser" | "pendingEmailChange" | "listConsents" | "getScopeDescriptions" | "getAudience" | "listAudienceClientIds" | "revokeConsent" | "secondFactors" | "listPasskeys" | "listAccountSessions" | "listActivity">;
  hydra: Pick<Hydra, "revokeConsentSessions">;
  logger: Pick<Logger, "info">;
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

/** One audience's consent as the pages show it: names, plain-word scope descriptions, the dates. */
export interface ConsentItem {
  audience: { id: string; name: string };
  clients: string[];
  scopes: { id: string; description: string }[];
  createdAt: Date;
  updatedAt: Date;
}

/** Names instead of ids: the audience's and the clients' display names, each scope in plain words (in the page's language). */
async function describeConsents(deps: Pick<AccountDeps, "store">, consents: ConsentView[], lng: Language): Promise<ConsentItem[]> {
  const descriptions = await deps.store.getScopeDescriptions([...new Set(consents.flatMap((c) => c.scopes))]);
  const t = fixedT(lng);
  return consents.map((c) => ({
    audience: { id: c.audience.id, name: c.audience.displayName },
    clients: c.clients.map((x) => x.name),
    scopes: c.scopes.map((s) => ({ id: s, description: say(t, describeScope(s, descriptions.get(s), lng)) })),
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
  }));
}

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

/** The audience a link or form names, or 404. */
async function audienceOf(deps: Pick<AccountDeps, "store">, audienceId: string): Promise<Audience> {
  const audience = await deps.store.getAudience(audienceId);
  if (!audience) throw new AppError(404, "unknown_audience", msg("account:revoke.unknownAudience"));
  return audience;
}

/** The confirmation page of a revocation: what is revoked, for which applications, what it means. */
async function confirmPage(deps: Pick<AccountDeps, "store">, userId: string, audience: Audience, lng: Language): Promise<Outcome> {
  const mine = (await deps.store.listConsents(userId)).filter((c) => c.audience.id === audience.id);
  const [consent] = await describeConsents(deps, mine, lng);
  return page(
    "revoke-confirm",
    msg("account:revoke.title"),
    { audience: { id: audience.id, name: audience.displayName }, clients: consent?.clients ?? [], scopes: consent?.scopes ?? [] },
    { form: true },
  );
}

/** The confirmation page a revocation asks for first. */
export async function revokeConfirmPage(deps: Pick<AccountDeps, "store">, input: { userId: string; audienceId: string; lng: Language }): Promise<Outcome> {
  return confirmPage(deps, input.userId, await audienceOf(deps, input.audienceId), input.lng);
}

/**
 * Revokes the user's consent for an audience, only from the confirmation page's own form
 * (`confirmed`); any other form gets the confirmation page.
 */
export async function revokeConsent(deps: AccountDeps, input: { userId: string; audienceId: string; confirmed: boolean; lng: Language }): Promise<Outcome> {
  const { userId } = input;
  const audience = await audienceOf(deps, input.audienceId);
  if (!input.confirmed) return confirmPage(deps, userId, audience, input.lng);
  // Hydra first: if it fails, nothing is deleted and the user can simply retry.
  for (const clientId of await deps.store.listAudienceClientIds(audience.id)) {
    await deps.hydra.revokeConsentSessions(userId, clientId);
  }
  await deps.store.revokeConsent(userId, audience.id);
  deps.logger.info({ event: "consent_revoked", subject: userId, audience: audience.id }, "consent revoked");
  return { kind: "redirect", to: `/account?revoked=${encodeURIComponent(audience.id)}` };
}

/** GET /account: the page, with the confirmation a redirect asked for (the audience as stored, fixed words; never the URL's text). */
export async function accountView(deps: Pick<AccountDeps, "store">, input: { userId: string; lng: Language; sessionId?: string; activityPage?: number; revoked?: string; done?: string }): Promise<Outcome> {
  const revoked = input.revoked && AUDIENCE_ID_PATTERN.test(input.revoked) ? await deps.store.getAudience(input.revoked) : null;
  return accountPage(deps, input, { revoked: revoked?.displayName ?? null, notice: accountNotice(input.done) });
}
