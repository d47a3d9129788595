// POST /consent — the consent page's answer: an approval merges the requested scopes into the
// user's consent for the audience (never dropping one) and accepts at Hydra; a denial rejects and
// leaves the stored consent as it was. "Not you?" rejects and signs this browser out.
import { approvalOf, decideConsent, restartWithFreshSignIn, type AudienceInfo } from "../decisions/consent";
import { readConsentTicket } from "../decisions/request-ticket";
import { AppError } from "../errors";
import { msg } from "../i18n";
import type { Logger } from "../logger";
import { FlowAlreadyHandledError } from "../services/hydra";
import type { Store } from "../services/store";
import { answerOnce, withRestartLink } from "./challenges";
import { acceptAtHydra, acceptFirstParty, reject, rejectForAccount, type ConsentAnswerDeps } from "./consent-answer";
import { contextOf, decisionInput, loadConsent, refuseOtherBrowsers, type ConsentBrowser, type ConsentContext, type ConsentContextDeps } from "./consent-context";
import type { EndingSession } from "./sign-out";
import type { Outcome } from "./outcome";

export type ConsentDecisionDeps = ConsentContextDeps & ConsentAnswerDeps & { store: Pick<Store, "recordConsent" | "recordConsentInSession"> };

/** What the page's boxes said: the optional scopes it offered, those left ticked, and "don't ask again". */
export interface ConsentChoices {
  offered: string[];
  ticked: string[];
  dontAskAgain: boolean;
}

/** The form's browser: the consent step's, and the CSRF token the form submitted. */
export interface FormBrowser extends ConsentBrowser {
  submittedCsrf(): string | null;
  /** Checks the form's CSRF token once the session `loaded` (a 403 when refused). */
  checkCsrf(loaded: Promise<void>): Promise<void>;
}

/**
 * The consent page's approval in one statement (a round trip less per sign-in). When the form's ticket describes the
 * request, the browser holds the flow's mark and the step is an approval, the browser's session is
 * read by the statement that records the approval (store.recordConsentInSession), which writes only
 * for a session holding the form's CSRF token and nobody's or the subject's; the token and the
 * browser are then checked here with that session, exactly as on the usual path. null: the usual
 * path answers (consentDecision: no usable ticket, another step, or a refusal it puts into words).
 */
export async function approveInOneStatement(
  deps: ConsentDecisionDeps,
  input: { challenge: string; ticket: string | undefined; browser: FormBrowser; choices: ConsentChoices },
): Promise<Outcome | null> {
  const { challenge, browser } = input;
  const request = readConsentTicket(input.ticket, challenge, deps.ticketKeys, Date.now());
  if (!request) return null;
  const clientId = request.client?.client_id ?? "";
  const subject = request.subject ?? "";
  const answeredLogin = browser.answeredLogin(request.login_session_id);
  if (!answeredLogin || browser.hasSession()) return null;
  const { requestedScopes, membership, audience, input: decision } = await decisionInput(deps, request, clientId);
  if (!audience || decision.promptNone) return null;
  const step = decideConsent({ ...decision, grantedScopes: [] });
  if (step.kind === "first_party" || step.kind === "reject") return null;
  const csrf = browser.submittedCsrf();
  const { approved, declined } = approvalOf({ requested: requestedScopes, optionalScopes: decision.optionalScopes, ...input.choices });
  const { loaded, result } = browser.loadSessionWith((sid) =>
    deps.store.recordConsentInSession(sid, csrf, subject, audience.id, clientId, approved, challenge, { declined, ttlSeconds: audience.consentTtlSeconds }),
  );
  result.catch(() => undefined); // awaited after the checks
  await browser.checkCsrf(loaded);
  refuseOtherBrowsers(deps, browser, subject, answeredLogin, clientId);
  const recorded = await result;
  // The statement refused although the checks passed (no session was read with it): the usual path.
  if (recorded.outcome === "refused") return null;
  if (recorded.outcome === "handled") throw new FlowAlreadyHandledError(request.request_url || undefined);
  const ctx = contextOf(challenge, request, membership, requestedScopes, step, { user: recorded.user, grantedScopes: [], consentClients: [], claimed: false, optionalScopes: decision.optionalScopes });
  // Nothing was written (the account is gone or disabled): refused at Hydra, as approve() does.
  if (recorded.outcome !== "recorded") return rejectForAccount(deps, ctx, recorded.outcome);
  deps.metrics.consentDecisions.inc({ decision: "approved" });
  return acceptAtHydra(deps, { ...ctx, audience, user: recorded.user, claimed: true }, recorded.scopes, new Date());
}

/**
 * The form's answer on the usual path. `checked`: the session's load and CSRF check, which run
 * while Hydra describes the request (unless the form's ticket does: decisions/request-ticket.ts).
 */
export async function consentDecision(
  deps: ConsentDecisionDeps,
  input: { challenge: string; decision: "allow" | "deny"; ticket: string | undefined; checked: Promise<void>; browser: ConsentBrowser; choices: ConsentChoices },
): Promise<Outcome> {
  // What the form answers does not depend on the stored consent: it approves or denies the
  // requested scopes (loadConsent still reads it for a prompt=none request, which never asks).
  const ctx = await loadConsent(deps, input.browser, input.challenge, { claim: false, stored: false, session: input.checked, ticket: input.ticket });
  const restart = withRestartLink(ctx.request.request_url);
  const { step } = ctx;
  if (step.kind === "first_party") return acceptFirstParty(deps, ctx, step.grantScope).catch(restart);
  if (step.kind === "reject") return reject(deps, ctx, step.error, step.description).catch(restart);
  if (!ctx.audience) throw new AppError(500, "no_audience", msg("errors:serverError"));
  if (input.decision === "deny") {
    // The stored consent is left exactly as it was. Counted once answered (a replay is not).
    const denied = await reject(deps, ctx, "access_denied", "The user denied the request.").catch(restart);
    deps.metrics.consentDecisions.inc({ decision: "denied" });
    return denied;
  }
  return approve(deps, { ...ctx, audience: ctx.audience }, input.choices);
}

/**
 * The user approved the page: the approval is recorded and the challenge claimed in one statement
 * that also reads the account (gone or disabled: refused, nothing written), then Hydra is answered.
 */
async function approve(deps: ConsentDecisionDeps, ctx: ConsentContext & { audience: AudienceInfo }, choices: ConsentChoices): Promise<Outcome> {
  const { approved, declined } = approvalOf({ requested: ctx.requestedScopes, optionalScopes: ctx.optionalScopes, ...choices });
  const recorded = await deps.store.recordConsent(ctx.subject, ctx.audience.id, ctx.clientId, approved, {
    claimChallenge: ctx.challenge,
    declined,
    ttlSeconds: ctx.audience.consentTtlSeconds ?? null,
  });
  if (recorded.outcome !== "recorded") {
    if (recorded.outcome === "handled") throw new FlowAlreadyHandledError(ctx.request.request_url || undefined);
    return rejectForAccount(deps, ctx, recorded.outcome);
  }
  deps.metrics.consentDecisions.inc({ decision: "approved" });
  return acceptAtHydra(deps, { ...ctx, user: recorded.user, claimed: true }, recorded.scopes, new Date());
}

/** Then this browser signs out at Hydra and starts `continueTo` again (flows/sign-out.ts startBrowserSignOut). */
export interface SwitchedAccount {
  kind: "sign-out";
  continueTo: string | null;
}

/** "Not you? Use another account": rejects the step, ends the app's session; the sign-out at Hydra follows. */
export async function switchAccount(
  deps: ConsentContextDeps & Pick<ConsentAnswerDeps, "store" | "hydra"> & { logger: Pick<Logger, "info"> },
  input: { challenge: string; browser: ConsentBrowser & EndingSession },
): Promise<SwitchedAccount> {
  const ctx = await loadConsent(deps, input.browser, input.challenge, { claim: false });
  const restart = restartWithFreshSignIn(ctx.request.request_url);
  await answerOnce(deps.store, "consent", ctx.challenge, () => deps.hydra.rejectConsent(ctx.challenge, "access_denied", "The user chose to sign in with another account."));
  deps.logger.info({ event: "consent_switch_account", client: ctx.clientId }, "consent step left to sign in with another account");
  // The app session ends here (Hydra calls /logout only when it remembers this browser).
  await input.browser.end();
  return { kind: "sign-out", continueTo: restart };
}
