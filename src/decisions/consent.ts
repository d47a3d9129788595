// Error descriptions use single quotes: Hydra turns double quotes into single ones on the way to
// the client, so this way the client sees exactly what is written here.
// Pure decisions of the consent step (no I/O): which audience, whether the stored consent covers
// the request, what to show, what to grant.
import { BUILT_IN_SCOPES } from "./scopes";

export interface AudienceInfo {
  id: string;
  displayName: string;
  tokenAudience: string;
  /** How long a consent lasts, in seconds (null or absent: until revoked). */
  consentTtlSeconds?: number | null;
}

export interface ConsentInput {
  clientId: string;
  /** The client's audience, or null when the client belongs to none. */
  audience: AudienceInfo | null;
  requestedScopes: readonly string[];
  /** Access-token audiences the client asked for (Hydra has checked them against its allowed list). */
  requestedAudiences: readonly string[];
  /** Declared scopes: name → the audience it is limited to (null: every audience). */
  declaredScopes: ReadonlyMap<string, string | null>;
  /** Scopes of the user's consent for this audience (empty when none). */
  grantedScopes: readonly string[];
  /** Scopes this client's user may untick (optionalScopes); openid never is. */
  optionalScopes?: ReadonlySet<string>;
  /** Optional scopes the user declined with "don't ask again" (consents.declined_scopes). */
  declinedScopes?: readonly string[];
  /** The stored consent is older than the audience's consent-ttl: it is asked again. */
  expired?: boolean;
  /** The authorization request said prompt=consent. */
  forcePrompt: boolean;
  /** The authorization request said prompt=none: no page may be shown. */
  promptNone?: boolean;
  /** The client is this app's own first-party client (the account page's sign-in): consent is skipped. */
  firstParty?: boolean;
}

export type ConsentStep =
  | { kind: "reject"; error: "invalid_client" | "invalid_scope" | "consent_required"; description: string }
  | { kind: "accept"; grantScope: string[]; grantAudience: string[] }
  | { kind: "first_party"; grantScope: string[] }
  | {
      kind: "show";
      alreadyGranted: string[];
      newScopes: string[];
      /** Of newScopes, those the user may untick. */
      optional: string[];
      /** Of newScopes, optional ones declined with "don't ask again" before (asked again only by prompt=consent): unticked at first. */
      declinedBefore: string[];
      /** The consent expired: what it held of the request before (asked again among newScopes). */
      grantedBefore: string[];
    };

export function unique(values: Iterable<string>): string[] {
  return [...new Set(values)];
}

/** Whether a scope may be requested by / shown to clients of the audience. */
export function scopeVisibleTo(scope: string, audienceId: string, declared: ReadonlyMap<string, string | null>): boolean {
  if (BUILT_IN_SCOPES.has(scope)) return true;
  if (!declared.has(scope)) return false;
  const owner = declared.get(scope);
  return owner === null || owner === audienceId;
}

/** What the access token's aud gets: the audience's token-audience, then what the client asked for. */
export function grantedAudiences(audience: AudienceInfo, requested: readonly string[]): string[] {
  return unique([audience.tokenAudience, ...requested]);
}

export function decideConsent(input: ConsentInput): ConsentStep {
  const { audience } = input;
  // The account page signs in with openid only; nothing else is ever granted to it.
  if (input.firstParty) return { kind: "first_party", grantScope: unique(input.requestedScopes).filter((s) => s === "openid") };
  if (!audience) {
    return {
      kind: "reject",
      error: "invalid_client",
      description: `The client '${input.clientId}' does not belong to any audience; an administrator must assign it to one.`,
    };
  }
  const requested = unique(input.requestedScopes);
  const invisible = requested.filter((s) => !scopeVisibleTo(s, audience.id, input.declaredScopes));
  if (invisible.length) {
    return {
      kind: "reject",
      error: "invalid_scope",
      description: `The scope${invisible.length > 1 ? "s" : ""} ${invisible.map((s) => `'${s}'`).join(", ")} ${invisible.length > 1 ? "are" : "is"} not available to clients of the audience '${audience.id}'.`,
    };
  }
  const optional = optionalOf(requested, input.optionalScopes);
  // An expired consent counts as none; a "don't ask again" stands until prompt=consent or /account.
  const granted = new Set(input.expired ? [] : input.grantedScopes);
  const declined = new Set((input.declinedScopes ?? []).filter((s) => optional.has(s)));
  const unasked = requested.filter((s) => !granted.has(s) && !declined.has(s));
  if (unasked.length === 0 && !input.forcePrompt && !input.expired) {
    return { kind: "accept", grantScope: requested.filter((s) => granted.has(s)), grantAudience: grantedAudiences(audience, input.requestedAudiences) };
  }
  if (input.promptNone) {
    return { kind: "reject", error: "consent_required", description: "The request needs the user's consent, but prompt=none forbids asking for it." };
  }
  const newScopes = input.forcePrompt ? requested.filter((s) => !granted.has(s)) : unasked;
  const before = new Set(input.expired ? input.grantedScopes : []);
  return {
    kind: "show",
    alreadyGranted: requested.filter((s) => granted.has(s)),
    newScopes,
    optional: newScopes.filter((s) => optional.has(s)),
    declinedBefore: newScopes.filter((s) => declined.has(s)),
    grantedBefore: requested.filter((s) => before.has(s)),
  };
}

/** The requested scopes the user may untick: the optional ones, never openid (signing in itself). */
export function optionalOf(requested: readonly string[], optionalScopes: ReadonlySet<string> | undefined): Set<string> {
  return new Set(requested.filter((s) => s !== "openid" && optionalScopes?.has(s)));
}

/**
 * What an approval of the consent page grants: every requested scope but the optional ones the
 * page offered with a box and the user left unticked; with "don't ask again", those are declined
 * for good. `offered` comes from the form: only optional scopes can be left out whatever it says.
 */
export function approvalOf(input: { requested: readonly string[]; optionalScopes: ReadonlySet<string>; offered: readonly string[]; ticked: readonly string[]; dontAskAgain: boolean }): {
  approved: string[];
  declined: string[];
} {
  const optional = optionalOf(input.requested, input.optionalScopes);
  const ticked = new Set(input.ticked);
  const left = new Set(input.offered.filter((s) => optional.has(s) && !ticked.has(s)));
  const requested = unique(input.requested);
  return { approved: requested.filter((s) => !left.has(s)), declined: input.dontAskAgain ? requested.filter((s) => left.has(s)) : [] };
}

/**
 * Hydra's remember_for for an accepted consent: never longer than the audience consent lasts
 * (0 is Hydra's "for ever", so an expiring consent is remembered for at least a second).
 */
export function consentRememberFor(ttlSeconds: number | null, confirmedAt: Date, now: number): number {
  if (ttlSeconds === null) return 0;
  return Math.max(1, Math.floor((confirmedAt.getTime() + ttlSeconds * 1000 - now) / 1000));
}

/** When the consent confirmed at `confirmedAt` expires (null: never), and whether it has. */
export function consentExpiry(ttlSeconds: number | null, confirmedAt: Date, now: number): { expiresAt: Date | null; expired: boolean } {
  if (ttlSeconds === null) return { expiresAt: null, expired: false };
  const expiresAt = new Date(confirmedAt.getTime() + ttlSeconds * 1000);
  return { expiresAt, expired: expiresAt.getTime() <= now };
}

/**
 * Whether the step will be answered without a page, known before the user's consent is read: the
 * consent step claims its challenge in the statement that reads the consent, but only when it will
 * answer at once. `always`: whatever the stored consent says (a rejection, the first-party client);
 * `ifGranted`: exactly when the stored consent holds these scopes (a silent pass); neither: a page
 * whatever it says (prompt=consent).
 */
export function claimPlan(input: Omit<ConsentInput, "grantedScopes" | "declinedScopes" | "expired">): ClaimPlan {
  const withNothing = decideConsent({ ...input, grantedScopes: [] });
  if (withNothing.kind !== "show") return { always: true, ifGranted: null, optional: [] };
  const withAll = decideConsent({ ...input, grantedScopes: unique(input.requestedScopes) });
  return { always: false, ifGranted: withAll.kind === "accept" ? unique(input.requestedScopes) : null, optional: [...optionalOf(input.requestedScopes, input.optionalScopes)] };
}

/**
 * The statement's test for a silent pass: `always`, or the consent (not expired) holds `ifGranted`
 * but for the `optional` ones it declined with "don't ask again".
 */
export interface ClaimPlan {
  always: boolean;
  ifGranted: string[] | null;
  optional: string[];
}

/** The consent after an approval: old ∪ new, never dropping a scope; and which scopes were added. */
export function mergeScopes(old: readonly string[], approved: readonly string[]): { scopes: string[]; added: string[] } {
  const before = new Set(old);
  const added = unique(approved).filter((s) => !before.has(s));
  return { scopes: [...old, ...added], added };
}

/**
 * The scopes to grant at Hydra. Normally exactly the requested ones (least privilege). With the
 * incremental-authorization convention include_granted_scopes=true on the authorization request:
 * also every scope of the user's audience consent that this client may request, so that Hydra
 * remembers the whole set for this client and a later prompt=none for any subset of it succeeds.
 */
export function scopesToGrant(input: { requested: readonly string[]; audienceConsent: readonly string[]; clientScopes: readonly string[]; includeGranted: boolean }): string[] {
  const requested = unique(input.requested);
  if (!input.includeGranted) return requested;
  const mayRequest = new Set(input.clientScopes);
  return unique([...requested, ...input.audienceConsent.filter((s) => mayRequest.has(s))]);
}

/** Whether the original authorization request said include_granted_scopes=true. */
export function includeGrantedScopes(requestUrl: string | undefined): boolean {
  if (!requestUrl) return false;
  try {
    return new URL(requestUrl, "http://x").searchParams.get("include_granted_scopes") === "true";
  } catch {
    return false;
  }
}

/** The prompt values of the original authorization request (prompt is a space-separated list). */
export function promptValues(requestUrl: string | undefined): string[] {
  if (!requestUrl) return [];
  try {
    return (new URL(requestUrl, "http://x").searchParams.get("prompt") ?? "").split(" ").filter(Boolean);
  } catch {
    return [];
  }
}


/**
 * The original authorization request again, asking for a fresh sign-in (prompt=login; a
 * prompt=consent stays), for "Not you? Use another account". null without a usable request URL.
 */
export function restartWithFreshSignIn(requestUrl: string | undefined): string | null {
  if (!requestUrl) return null;
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    return null;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return null;
  const prompt = (url.searchParams.get("prompt") ?? "").split(" ").filter((p) => p === "consent");
  url.searchParams.set("prompt", ["login", ...prompt].join(" "));
  return url.toString();
}
