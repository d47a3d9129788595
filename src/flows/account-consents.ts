// The consents on /account: one per audience, each scope in plain words with when it expires; and
// taking one back after a confirmation page, the whole audience's or one permission of it, or
// forgetting a "don't ask again".
import { consentExpiry } from "../decisions/consent";
import { describeScope } from "../decisions/scopes";
import { AppError } from "../errors";
import { fixedT, msg, say, type Language } from "../i18n";
import type { Logger } from "../logger";
import type { Hydra } from "../services/hydra";
import type { Audience, ConsentView, Store } from "../services/store";
import { page, type Outcome } from "./outcome";

export interface AccountConsentDeps {
  store: Pick<Store, "listConsents" | "getScopeDescriptions" | "getAudience" | "listAudienceClientIds" | "revokeConsent" | "revokeConsentScope" | "forgetDeclinedScope">;
  hydra: Pick<Hydra, "revokeConsentSessions">;
  logger: Pick<Logger, "info">;
}

type Described = { id: string; description: string };

/** One audience's consent as the pages show it: names, plain-word scope descriptions, the dates. */
export interface ConsentItem {
  audience: { id: string; name: string };
  clients: string[];
  scopes: Described[];
  /** Declined with "don't ask again". */
  declined: Described[];
  createdAt: Date;
  updatedAt: Date;
  /** When it must be approved again (null: it lasts until revoked). */
  expiresAt: Date | null;
}

/** Names instead of ids: the audience's and the clients' display names, each scope in plain words (in the page's language). */
export async function describeConsents(deps: Pick<AccountConsentDeps, "store">, consents: ConsentView[], lng: Language): Promise<ConsentItem[]> {
  const descriptions = await deps.store.getScopeDescriptions([...new Set(consents.flatMap((c) => [...c.scopes, ...c.declinedScopes]))]);
  const t = fixedT(lng);
  const describe = (s: string) => ({ id: s, description: say(t, describeScope(s, descriptions.get(s), lng)) });
  const now = Date.now();
  return consents.map((c) => ({
    audience: { id: c.audience.id, name: c.audience.displayName },
    clients: c.clients.map((x) => x.name),
    scopes: c.scopes.map(describe),
    declined: c.declinedScopes.map(describe),
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
    expiresAt: consentExpiry(c.audience.consentTtlSeconds, c.confirmedAt, now).expiresAt,
  }));
}

/** The audience a link or form names, or 404. */
async function audienceOf(deps: Pick<AccountConsentDeps, "store">, audienceId: string): Promise<Audience> {
  const audience = await deps.store.getAudience(audienceId);
  if (!audience) throw new AppError(404, "unknown_audience", msg("account:revoke.unknownAudience"));
  return audience;
}

/** The confirmation page of a revocation: what is revoked (the whole consent, or one `scope` of it), for which applications, what it means. */
async function confirmPage(deps: Pick<AccountConsentDeps, "store">, userId: string, audience: Audience, scope: string | undefined, lng: Language): Promise<Outcome> {
  const mine = (await deps.store.listConsents(userId)).filter((c) => c.audience.id === audience.id);
  const [consent] = await describeConsents(deps, mine, lng);
  const one = scope === undefined ? null : consent?.scopes.find((s) => s.id === scope);
  if (scope !== undefined && !one) throw new AppError(404, "unknown_permission", msg("account:revoke.unknownPermission"));
  return page(
    "revoke-confirm",
    msg(one ? "account:revoke.scopeTitle" : "account:revoke.title"),
    // Not "scope": EJS reads that name as one of its own options.
    { audience: { id: audience.id, name: audience.displayName }, clients: consent?.clients ?? [], scopes: one ? [one] : (consent?.scopes ?? []), oneScope: one?.id ?? null },
    { form: true },
  );
}

/** The confirmation page a revocation asks for first. */
export async function revokeConfirmPage(deps: Pick<AccountConsentDeps, "store">, input: { userId: string; audienceId: string; scope?: string; lng: Language }): Promise<Outcome> {
  return confirmPage(deps, input.userId, await audienceOf(deps, input.audienceId), input.scope, input.lng);
}

/**
 * Revokes the user's consent for an audience, or one `scope` of it, only from the confirmation
 * page's own form (`confirmed`); any other form gets the confirmation page. Hydra's consent sessions
 * of the audience's clients end either way (their tokens stop working): the next request asks for
 * what is missing.
 */
export async function revokeConsent(deps: AccountConsentDeps, input: { userId: string; audienceId: string; scope?: string; confirmed: boolean; lng: Language }): Promise<Outcome> {
  const { userId, scope } = input;
  const audience = await audienceOf(deps, input.audienceId);
  if (!input.confirmed) return confirmPage(deps, userId, audience, scope, input.lng);
  if (scope !== undefined) {
    const held = (await deps.store.listConsents(userId)).some((c) => c.audience.id === audience.id && c.scopes.includes(scope));
    if (!held) throw new AppError(404, "unknown_permission", msg("account:revoke.unknownPermission"));
  }
  // Hydra first: if it fails, nothing is changed here and the user can simply retry.
  for (const clientId of await deps.store.listAudienceClientIds(audience.id)) {
    await deps.hydra.revokeConsentSessions(userId, clientId);
  }
  if (scope === undefined) {
    await deps.store.revokeConsent(userId, audience.id);
    deps.logger.info({ event: "consent_revoked", subject: userId, audience: audience.id }, "consent revoked");
    return { kind: "redirect", to: `/account?revoked=${encodeURIComponent(audience.id)}` };
  }
  await deps.store.revokeConsentScope(userId, audience.id, scope);
  deps.logger.info({ event: "consent_scope_revoked", subject: userId, audience: audience.id, scope }, "one permission of a consent revoked");
  return { kind: "redirect", to: "/account?done=permission-removed#consents" };
}

/** Forgets a "don't ask again" for one scope: the audience's applications may ask for it again. */
export async function askAgain(deps: AccountConsentDeps, input: { userId: string; audienceId: string; scope: string }): Promise<Outcome> {
  const audience = await audienceOf(deps, input.audienceId);
  await deps.store.forgetDeclinedScope(input.userId, audience.id, input.scope);
  deps.logger.info({ event: "consent_decline_forgotten", subject: input.userId, audience: audience.id, scope: input.scope }, "a declined permission may be asked again");
  return { kind: "redirect", to: "/account?done=ask-again#consents" };
}
