// The consent step's answers to Hydra, each at most once per challenge (flows/challenges.ts):
// accept with the scopes to grant and the released claims, accept the account page's own sign-in,
// or reject.
import { consentRememberFor, grantedAudiences, includeGrantedScopes, scopesToGrant, type AudienceInfo, type ConsentStep } from "../decisions/consent";
import { releasedClaims } from "../decisions/claims";
import { msg } from "../i18n";
import type { Logger } from "../logger";
import type { Queryable } from "../services/db";
import type { Hydra } from "../services/hydra";
import type { Metrics } from "../services/metrics";
import type { Store, User } from "../services/store";
import { answerClaimed, answerOnce } from "./challenges";
import type { ConsentContext } from "./consent-context";
import { page, type Outcome } from "./outcome";

export interface ConsentAnswerDeps {
  store: Pick<Store, "bookkeepingTransaction" | "claimChallenge" | "releaseChallenge" | "noteConsentUse" | "getClaimDefs">;
  hydra: Pick<Hydra, "acceptConsent" | "rejectConsent">;
  logger: Pick<Logger, "warn">;
  metrics: Pick<Metrics, "consentDecisions">;
}

type Alongside = (q: Queryable) => Promise<void>;

/** Answers Hydra once: with the challenge claimed already, or claimed now (with `alongside` in the claim's transaction). */
function answer<T>(deps: Pick<ConsentAnswerDeps, "store">, ctx: ConsentContext, call: () => Promise<T>, alongside?: Alongside): Promise<T> {
  return ctx.claimed ? answerClaimed(deps.store, "consent", ctx.challenge, call) : answerOnce(deps.store, "consent", ctx.challenge, call, alongside);
}

/** Rejects at Hydra. A client without audience gets a page here; anything else returns to the client. */
export async function reject(deps: ConsentAnswerDeps, ctx: ConsentContext, error: string, description: string): Promise<Outcome> {
  const redirectTo = await answer(deps, ctx, () => deps.hydra.rejectConsent(ctx.challenge, error, description));
  if (error === "invalid_client") {
    deps.logger.warn({ client: ctx.clientId }, "consent for a client without audience refused");
    return page("error", msg("consent:notSetUp.title"), { message: msg("consent:notSetUp.message", { client: ctx.clientName, description }), status: 403, continueTo: redirectTo }, { status: 403 });
  }
  return { kind: "redirect", to: redirectTo };
}

/** Rejects an approval whose account is gone or disabled (nothing was written). */
export function rejectForAccount(deps: ConsentAnswerDeps, ctx: ConsentContext, outcome: "no_user" | "disabled"): Promise<Outcome> {
  return reject(deps, ctx, "access_denied", outcome === "disabled" ? "The user account is disabled." : "The user account no longer exists.");
}

/** A silent pass (the stored consent covers the request): the first use by this client is noted. */
export async function acceptSilently(deps: ConsentAnswerDeps, ctx: ConsentContext & { audience: AudienceInfo }): Promise<Outcome> {
  const user = ctx.user;
  if (!user) return reject(deps, ctx, "access_denied", "The user account no longer exists.");
  if (user.disabledAt) return reject(deps, ctx, "access_denied", "The user account is disabled.");
  let alongside: Alongside | undefined;
  if (!ctx.consentClients.includes(ctx.clientId)) {
    // The first silent pass of this client: noted once.
    if (ctx.claimed) await deps.store.noteConsentUse(user.id, ctx.audience.id, ctx.clientId);
    else alongside = (q) => deps.store.noteConsentUse(user.id, ctx.audience.id, ctx.clientId, q);
  }
  return acceptAtHydra(deps, { ...ctx, user }, ctx.grantedScopes, ctx.confirmedAt ?? new Date(), alongside);
}

/**
 * Accepts at Hydra with the scopes to grant and the released claims (claiming the challenge unless
 * done). Only what the audience consent holds is granted: an optional scope the user left out is
 * missing from the token, and the client reads that in the token response's scope.
 * `confirmedAt`: when the consent was last approved (Hydra remembers it no longer than it lasts).
 */
export async function acceptAtHydra(
  deps: ConsentAnswerDeps,
  ctx: ConsentContext & { audience: AudienceInfo; user: User },
  audienceConsent: string[],
  confirmedAt: Date,
  alongside?: Alongside,
): Promise<Outcome> {
  const { request, user } = ctx;
  const redirectTo = await answer(
    deps,
    ctx,
    async () => {
      const held = new Set(audienceConsent);
      const grantScope = scopesToGrant({
        requested: ctx.requestedScopes.filter((s) => held.has(s)),
        audienceConsent,
        clientScopes: (request.client?.scope ?? "").split(" ").filter(Boolean),
        includeGranted: includeGrantedScopes(request.request_url),
      });
      const claims = releasedClaims(user, grantScope, ctx.audience.id, await deps.store.getClaimDefs(ctx.audience.id));
      return deps.hydra.acceptConsent(ctx.challenge, {
        grant_scope: grantScope,
        grant_access_token_audience: grantedAudiences(ctx.audience, request.requested_access_token_audience ?? []),
        // The app's store decides about consent (shared per audience). Hydra also remembers it per
        // client only so that prompt=none (silent renewal) can reach this app at all; /account's
        // revocation clears Hydra's memory together with the store's.
        remember: true,
        remember_for: consentRememberFor(ctx.audience.consentTtlSeconds ?? null, confirmedAt, Date.now()),
        session: { id_token: claims, access_token: {} },
      });
    },
    alongside,
  );
  return { kind: "redirect", to: redirectTo };
}

/** The account page's own sign-in: accepted without a page, nothing stored, nothing remembered. */
export async function acceptFirstParty(deps: ConsentAnswerDeps, ctx: ConsentContext, grantScope: string[]): Promise<Outcome> {
  const redirectTo = await answer(deps, ctx, () =>
    deps.hydra.acceptConsent(ctx.challenge, { grant_scope: grantScope, grant_access_token_audience: [], remember: false, remember_for: 0, session: { id_token: {}, access_token: {} } }),
  );
  return { kind: "redirect", to: redirectTo };
}

/** The decision, counted for /metrics: silent, page, invalid_scope, invalid_client, consent_required, first_party. */
export function countStep(deps: Pick<ConsentAnswerDeps, "metrics">, step: ConsentStep): void {
  deps.metrics.consentDecisions.inc({ decision: step.kind === "accept" ? "silent" : step.kind === "show" ? "page" : step.kind === "reject" ? step.error : "first_party" });
}
