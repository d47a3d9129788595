// GET /consent — Hydra's consent step, per audience: the user's consent for the client's audience
// (in the app's store) decides whether to ask. Answered without a page when it covers the request
// (or for a rejection, or the account page's own sign-in); otherwise the page asks.
import { isSameOriginImage } from "../decisions/brand";
import { consentTicketSubset, issueTicket } from "../decisions/request-ticket";
import { describeScope, OFFLINE_SCOPES } from "../decisions/scopes";
import { fixedT, msg, say, type Language } from "../i18n";
import type { OAuth2Client } from "../services/hydra";
import type { Store } from "../services/store";
import { withRestartLink } from "./challenges";
import { acceptFirstParty, acceptSilently, countStep, reject, type ConsentAnswerDeps } from "./consent-answer";
import { loadConsent, type ConsentBrowser, type ConsentContext, type ConsentContextDeps } from "./consent-context";
import { page, type Outcome } from "./outcome";

export type ConsentStepDeps = ConsentContextDeps & ConsentAnswerDeps & { store: Pick<Store, "getScopeDescriptions"> };

/**
 * The page's language and brand, once the application's ui_locales and the audience are known
 * (the route applies them to the page it renders); returns the page's language.
 */
export type PageSetup = (uiLocales: unknown, audienceBrand: ConsentContext["audienceBrand"]) => Language;

export async function consentStep(deps: ConsentStepDeps, input: { challenge: string; browser: ConsentBrowser; pageSetup: PageSetup }): Promise<Outcome> {
  // The challenge is claimed while the account and consent are read (one query) when the step is
  // answered without a page; a page leaves it to its form.
  const ctx = await loadConsent(deps, input.browser, input.challenge, { claim: true });
  const { step } = ctx;
  countStep(deps, step);
  const restart = withRestartLink(ctx.request.request_url);
  if (step.kind === "first_party") return acceptFirstParty(deps, ctx, step.grantScope).catch(restart);
  if (step.kind === "reject") return reject(deps, ctx, step.error, step.description).catch(restart);
  if (step.kind === "accept") return acceptSilently(deps, { ...ctx, audience: ctx.audience! }).catch(restart);
  const lng = input.pageSetup(ctx.request.oidc_context?.ui_locales, ctx.audienceBrand);
  const descriptions = await deps.store.getScopeDescriptions(ctx.requestedScopes);
  const t = fixedT(lng);
  const describe = (s: string) => ({ name: s, description: say(t, describeScope(s, descriptions.get(s), lng)) });
  // GET /consent asked Hydra (a ticket stands in only for a form's post): the client's whole record.
  const client: Partial<OAuth2Client> | undefined = ctx.request.client;
  const webLink = (u: string | undefined) => (u && /^https?:\/\//i.test(u) ? u : null);
  return page(
    "consent",
    msg("consent:title"),
    {
      challenge: input.challenge,
      consentTicket: issueTicket(deps.ticketKeys[0]!, consentTicketSubset(ctx.request), Date.now()),
      account: { email: ctx.user?.email ?? ctx.subject },
      // Not "client": EJS reads that name as one of its own options.
      rp: {
        name: ctx.clientName,
        // Only a logo this site serves (or a data: image): the CSP allows no image from another origin.
        logo: client?.logo_uri && isSameOriginImage(client.logo_uri) ? client.logo_uri : null,
        policyUri: webLink(client?.policy_uri),
        tosUri: webLink(client?.tos_uri),
      },
      audienceName: ctx.audience!.displayName,
      alreadyGranted: step.alreadyGranted.map(describe),
      // An optional scope gets a box (ticked, unless declined with "don't ask again" before).
      newScopes: step.newScopes.map((s) => ({
        ...describe(s),
        optional: step.optional.includes(s),
        ticked: !step.declinedBefore.includes(s),
        before: step.grantedBefore.includes(s),
      })),
      anyOptional: step.optional.length > 0,
      // The consent expired: when the user had approved it, shown with what it held.
      expiredSince: step.grantedBefore.length && ctx.confirmedAt ? ctx.confirmedAt : null,
      offline: ctx.requestedScopes.some((s) => OFFLINE_SCOPES.has(s)),
    },
    { form: true },
  );
}
