// What every answer of the consent step starts from: Hydra's description of the request (or the
// form's ticket), the client's audience, the user's consent for it, the account, and the decision.
// The browser must be the one that answered this flow's login step, signed in as nobody else.
import type { Env } from "../config/env";
import { claimPlan, decideConsent, promptValues, type AudienceInfo, type ConsentStep } from "../decisions/consent";
import { guardConsent } from "../decisions/flow-binding";
import { readConsentTicket, type TicketedConsentRequest } from "../decisions/request-ticket";
import { AppError } from "../errors";
import { msg } from "../i18n";
import type { Logger } from "../logger";
import { FlowAlreadyHandledError, type Hydra, type OAuth2ConsentRequest } from "../services/hydra";
import type { Store, User } from "../services/store";
import { afterCheck } from "./checked";

export interface ConsentContextDeps {
  env: Pick<Env, "ACCOUNT_CLIENT_ID">;
  store: Pick<Store, "getClientMembership" | "getScopeOwners" | "getOptionalScopes" | "consentContext">;
  hydra: Pick<Hydra, "getConsentRequest">;
  logger: Pick<Logger, "warn">;
  /** The keys of the consent form's tickets (decisions/request-ticket.ts), the newest first. */
  ticketKeys: readonly Buffer[];
}

/** The browser's session as a statement reads it alongside its own work. */
type SessionRow = Awaited<ReturnType<Store["consentContext"]>>["session"];

/**
 * The browser as the consent step sees it (built by the route): its session, which GET /consent
 * and the form's post load only when, and as soon as, they need it, and the flow's mark.
 */
export interface ConsentBrowser {
  /** The session is loaded. */
  hasSession(): boolean;
  /** The signed-in user of the loaded session. */
  userId(): string | undefined;
  /** This browser answered the login step of Hydra's login session `loginSessionId`. */
  answeredLogin(loginSessionId: string | undefined): boolean;
  loadSession(): Promise<void>;
  /** loadSession, with the session read by `read` (one statement of the step; routes/deps.ts loadSessionWith). */
  loadSessionWith<R extends { session: SessionRow }>(read: (sessionId: string | null) => Promise<R>): { loaded: Promise<void>; result: Promise<R> };
}

export interface ConsentContext {
  challenge: string;
  request: OAuth2ConsentRequest | TicketedConsentRequest;
  clientId: string;
  clientName: string;
  subject: string;
  audience: AudienceInfo | null;
  /** The audience's own name and logo for the page, when it has them. */
  audienceBrand: { brandName: string | null; brandLogo: string | null } | null;
  requestedScopes: string[];
  /** The subject's account (null: deleted meanwhile). */
  user: User | null;
  /** The user's consent for the audience before this step. */
  grantedScopes: string[];
  /** Optional scopes the user declined with "don't ask again". */
  declinedScopes: string[];
  /** The consent is older than the audience's consent-ttl. */
  expired: boolean;
  /** When the user last approved the consent (null: none, or not read). */
  confirmedAt: Date | null;
  /** The scopes of the request the user may untick. */
  optionalScopes: ReadonlySet<string>;
  /** The clients that used that consent so far. */
  consentClients: string[];
  /** This request claimed the challenge already (GET /consent): the answer must not claim it again. */
  claimed: boolean;
  step: ConsentStep;
}

type Membership = Awaited<ReturnType<Store["getClientMembership"]>>;

/** Refuses (403) a browser signed in as someone else than `subject`, or that did not answer this flow's login step. */
export function refuseOtherBrowsers(deps: Pick<ConsentContextDeps, "logger">, browser: Pick<ConsentBrowser, "userId">, subject: string, answeredLogin: boolean, clientId: string): void {
  const guard = guardConsent({ sessionUserId: browser.userId(), subject, answeredLogin });
  if (guard.kind === "refuse") {
    deps.logger.warn({ event: "consent_refused", reason: guard.reason, client: clientId }, "consent step refused for this browser");
    throw new AppError(403, `consent_${guard.reason}`, msg(guard.message), { title: msg("consent:refused.title") });
  }
}

/** The step's context from Hydra's description, the client's audience and what the store said. */
export function contextOf(
  challenge: string,
  request: ConsentContext["request"],
  membership: Membership,
  requestedScopes: string[],
  step: ConsentStep,
  stored: Pick<ConsentContext, "user" | "grantedScopes" | "consentClients" | "claimed" | "optionalScopes"> & Partial<Pick<ConsentContext, "declinedScopes" | "expired" | "confirmedAt">>,
): ConsentContext {
  const clientId = request.client?.client_id ?? "";
  return {
    challenge,
    request,
    clientId,
    clientName: request.client?.client_name || clientId,
    subject: request.subject ?? "",
    audience: membership?.audience ?? null,
    audienceBrand: membership?.audience ?? null,
    requestedScopes,
    step,
    declinedScopes: [],
    expired: false,
    confirmedAt: null,
    ...stored,
  };
}

/** What decideConsent needs of the request and the configuration (the stored consent aside). */
export async function decisionInput(deps: Pick<ConsentContextDeps, "env" | "store">, request: OAuth2ConsentRequest | TicketedConsentRequest, clientId: string) {
  const requestedScopes = [...new Set(request.requested_scope ?? [])];
  const membership = clientId ? await deps.store.getClientMembership(clientId) : null;
  const audience = membership?.audience ?? null;
  const [declaredScopes, optionalScopes] = await Promise.all([deps.store.getScopeOwners(requestedScopes), clientId ? deps.store.getOptionalScopes(clientId, requestedScopes) : new Set<string>()]);
  const prompt = promptValues(request.request_url);
  const input = {
    clientId,
    audience,
    requestedScopes,
    requestedAudiences: request.requested_access_token_audience ?? [],
    declaredScopes,
    optionalScopes,
    forcePrompt: prompt.includes("consent"),
    promptNone: prompt.includes("none"),
    firstParty: clientId === deps.env.ACCOUNT_CLIENT_ID,
  };
  return { requestedScopes, membership, audience, input };
}

export interface LoadOptions {
  /** Claim the challenge in the statement that reads the consent when the step will be answered without a page. */
  claim: boolean;
  /** false: the form's answer, which reads the stored consent only for prompt=none. */
  stored?: boolean;
  /** The form's post: the session's load and CSRF check, started by the route. */
  session?: Promise<void>;
  /** The form's description of the request (decisions/request-ticket.ts). */
  ticket?: string;
}

/**
 * Loads everything the decision needs and decides. Refuses (403, nothing stored, nothing sent to
 * Hydra) a browser that is signed in as someone else or did not answer this flow's login step.
 * With `claim`, the challenge is claimed in the same statement that reads the account and the
 * consent when the step will be answered without a page (then it costs one query); a replay gets the 410 page.
 */
export async function loadConsent(deps: ConsentContextDeps, browser: ConsentBrowser, consentChallenge: string, opts: LoadOptions): Promise<ConsentContext> {
  // A form's post loads the session with its CSRF check (opts.session). GET /consent reads it in the
  // statement that reads the consent (below), unless the browser is refused anyway.
  const session = opts.session ?? (browser.hasSession() ? Promise.resolve() : null);
  // A refused CSRF token (opts.session) is the answer even when Hydra refuses the challenge too.
  // The form's ticket, when it holds one for this challenge, stands in for Hydra's description.
  const ticketed = readConsentTicket(opts.ticket, consentChallenge, deps.ticketKeys, Date.now());
  const described = ticketed ? Promise.resolve(ticketed) : deps.hydra.getConsentRequest(consentChallenge);
  const request = session ? (await Promise.all([afterCheck(described, session), session]))[0] : await described;
  const clientId = request.client?.client_id ?? "";
  const subject = request.subject ?? "";
  const answeredLogin = browser.answeredLogin(request.login_session_id);
  const guardBrowser = () => refuseOtherBrowsers(deps, browser, subject, answeredLogin, clientId);
  if (session || !answeredLogin) {
    if (!session) await browser.loadSession();
    guardBrowser();
  }
  const { requestedScopes, membership, audience, input } = await decisionInput(deps, request, clientId);
  // GET claims the challenge in the same statement when the step will be answered without a page.
  // The form's answer (POST, `stored: false`) reads nothing here: an approval's one statement
  // does (flows/consent-decision.ts); only prompt=none, which never asks, depends on the stored consent.
  // Read with the browser's session when it is not loaded yet: the statement claims nothing for a
  // browser signed in as someone else (its own guard), and guardBrowser refuses it then.
  const plan = opts.claim ? claimPlan(input) : null;
  type Found = Pick<Awaited<ReturnType<typeof deps.store.consentContext>>, "user" | "grantedScopes" | "declinedScopes" | "expired" | "confirmedAt" | "clientIds" | "handled" | "claimed">;
  let found: Found;
  const ttl = audience?.consentTtlSeconds ?? null;
  if (opts.stored === false && !input.promptNone) {
    if (!browser.hasSession()) {
      await browser.loadSession();
      guardBrowser();
    }
    found = { user: null, grantedScopes: [], declinedScopes: [], expired: false, confirmedAt: null, clientIds: [], handled: false, claimed: false };
  } else if (browser.hasSession()) {
    found = await deps.store.consentContext(subject, audience?.id ?? null, consentChallenge, plan, null, ttl);
  } else {
    const { loaded, result } = browser.loadSessionWith((sid) => deps.store.consentContext(subject, audience?.id ?? null, consentChallenge, plan, sid, ttl));
    [found] = await Promise.all([result, loaded]);
    guardBrowser();
  }
  if (found.handled) throw new FlowAlreadyHandledError(request.request_url || undefined);
  const stored = audience ? { grantedScopes: found.grantedScopes, declinedScopes: found.declinedScopes, expired: found.expired } : { grantedScopes: [], declinedScopes: [], expired: false };
  const step = decideConsent({ ...input, ...stored });
  return contextOf(consentChallenge, request, membership, requestedScopes, step, {
    user: found.user,
    ...stored,
    optionalScopes: input.optionalScopes,
    confirmedAt: audience ? found.confirmedAt : null,
    consentClients: audience ? found.clientIds : [],
    claimed: found.claimed,
  });
}
