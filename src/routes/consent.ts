// /consent — Hydra's consent step, per audience: the user's consent for the client's audience
// (in the app's store) decides whether to ask; approvals merge into it.
import { Router, type Request, type Response } from "express";
import { z } from "zod";
import type { Deps } from "./deps";
import { afterCheck, challenge, checkedForm } from "./deps";
import { parseInput } from "../middleware/validate";
import { claimPlan, decideConsent, grantedAudiences, includeGrantedScopes, promptValues, scopesToGrant, type AudienceInfo, type ConsentStep } from "../decisions/consent";
import { guardConsent } from "../decisions/flow-binding";
import { releasedClaims } from "../decisions/claims";
import { describeScope, OFFLINE_SCOPES } from "../decisions/scopes";
import { isSameOriginImage } from "../decisions/brand";
import { restartWithFreshSignIn } from "../decisions/consent";
import { msg, say } from "../i18n";
import { lngOf, tOf, useAudienceBrand, useUiLocales } from "../middleware/page-locals";
import { answerClaimed, answerOnce, withRestartLink } from "../flows/challenges";
import { FlowAlreadyHandledError, type OAuth2Client, type OAuth2ConsentRequest } from "../services/hydra";
import type { User } from "../services/store";
import type { Queryable } from "../services/db";
import { AppError } from "../errors";
import { startBrowserSignOut } from "../flows/sign-out";
import { consentTicketSubset, issueTicket, readConsentTicket, ticketKey, type TicketedConsentRequest } from "../decisions/request-ticket";

const ConsentQuery = z.object({ consent_challenge: challenge });
const SwitchAccountForm = z.object({ consent_challenge: challenge });
const ConsentForm = z.object({
  consent_challenge: challenge,
  decision: z.enum(["allow", "deny"], { message: "must be allow or deny" }),
  /** The page's description of the consent request (decisions/request-ticket.ts); optional. */
  consent_ticket: z.string().max(16_384, "is too long").optional(),
});

interface Context {
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
  /** The clients that used that consent so far. */
  consentClients: string[];
  /** This request claimed the challenge already (GET /consent): the answer must not claim it again. */
  claimed: boolean;
  step: ConsentStep;
}

export function consentRoutes(deps: Deps): Router {
  const { hydra, store } = deps;
  const router = Router();
  const ticketKeys = deps.env.SESSION_SECRETS.map((secret) => ticketKey(secret, "consent"));

  /** Refuses (403) a browser signed in as someone else than `subject`, or that did not answer this flow's login step. */
  function refuseOtherBrowsers(req: Request, subject: string, answeredLogin: boolean, clientId: string): void {
    const guard = guardConsent({ sessionUserId: req.session.userId, subject, answeredLogin });
    if (guard.kind === "refuse") {
      deps.logger.warn({ event: "consent_refused", reason: guard.reason, client: clientId }, "consent step refused for this browser");
      throw new AppError(403, `consent_${guard.reason}`, msg(guard.message), { title: msg("consent:refused.title") });
    }
  }

  /** The step's context from Hydra's description, the client's audience and what the store said. */
  function contextOf(
    challenge: string,
    request: Context["request"],
    membership: Awaited<ReturnType<typeof store.getClientMembership>>,
    requestedScopes: string[],
    step: ConsentStep,
    stored: Pick<Context, "user" | "grantedScopes" | "consentClients" | "claimed">,
  ): Context {
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
      ...stored,
    };
  }

  /** What decideConsent needs of the request and the configuration (the stored consent aside). */
  async function decisionInput(request: OAuth2ConsentRequest | TicketedConsentRequest, clientId: string) {
    const requestedScopes = [...new Set(request.requested_scope ?? [])];
    const membership = clientId ? await store.getClientMembership(clientId) : null;
    const audience = membership?.audience ?? null;
    const declaredScopes = await store.getScopeOwners(requestedScopes);
    const prompt = promptValues(request.request_url);
    const input = {
      clientId,
      audience,
      requestedScopes,
      requestedAudiences: request.requested_access_token_audience ?? [],
      declaredScopes,
      forcePrompt: prompt.includes("consent"),
      promptNone: prompt.includes("none"),
      firstParty: clientId === deps.env.ACCOUNT_CLIENT_ID,
    };
    return { requestedScopes, membership, audience, input };
  }

  /**
   * Loads everything the decision needs and decides. Refuses (403, nothing stored, nothing sent to
   * Hydra) a browser that is signed in as someone else or did not answer this flow's login step.
   * With `claim`, the challenge is claimed in the same statement that reads the account and the
   * consent when the step will be answered without a page (then it costs one query); a replay gets the 410 page.
   */
  async function load(req: Request, res: Response, consentChallenge: string, opts: { claim: boolean; stored?: boolean; session?: Promise<void>; ticket?: string }): Promise<Context> {
    // A form's post loads the session with its CSRF check (opts.session). GET /consent reads it in the
    // statement that reads the consent (below), unless the browser is refused anyway.
    const session = opts.session ?? (req.session ? Promise.resolve() : null);
    // A refused CSRF token (opts.session) is the answer even when Hydra refuses the challenge too.
    // The form's ticket, when it holds one for this challenge, stands in for Hydra's description.
    const ticketed = readConsentTicket(opts.ticket, consentChallenge, ticketKeys, Date.now());
    const described = ticketed ? Promise.resolve(ticketed) : hydra.getConsentRequest(consentChallenge);
    const request = session ? (await Promise.all([afterCheck(described, session), session]))[0] : await described;
    const clientId = request.client?.client_id ?? "";
    const subject = request.subject ?? "";
    const answeredLogin = deps.browser.answeredLogin(req, request.login_session_id);
    const guardBrowser = () => refuseOtherBrowsers(req, subject, answeredLogin, clientId);
    if (session || !answeredLogin) {
      if (!session) await deps.loadSession(req, res);
      guardBrowser();
    }
    const { requestedScopes, membership, audience, input } = await decisionInput(request, clientId);
    // GET claims the challenge in the same statement when the step will be answered without a page.
    // The form's answer (POST, `stored: false`) reads nothing here: an approval's one statement
    // does (approve()); only prompt=none, which never asks, depends on the stored consent.
    // Read with the browser's session when it is not loaded yet: the statement claims nothing for a
    // browser signed in as someone else (its own guard), and guardBrowser refuses it then.
    const plan = opts.claim ? claimPlan(input) : null;
    let found: Awaited<ReturnType<typeof store.consentContext>> | { user: null; grantedScopes: string[]; clientIds: string[]; handled: false; claimed: false };
    if (opts.stored === false && !input.promptNone) {
      if (!req.session) {
        await deps.loadSession(req, res);
        guardBrowser();
      }
      found = { user: null, grantedScopes: [], clientIds: [], handled: false, claimed: false };
    } else if (req.session) {
      found = await store.consentContext(subject, audience?.id ?? null, consentChallenge, plan);
    } else {
      const { loaded, result } = deps.loadSessionWith(req, res, (sid) => store.consentContext(subject, audience?.id ?? null, consentChallenge, plan, sid));
      [found] = await Promise.all([result, loaded]);
      guardBrowser();
    }
    if (found.handled) throw new FlowAlreadyHandledError(request.request_url || undefined);
    const step = decideConsent({ ...input, grantedScopes: audience ? found.grantedScopes : [] });
    return contextOf(consentChallenge, request, membership, requestedScopes, step, {
      user: found.user,
      grantedScopes: audience ? found.grantedScopes : [],
      consentClients: audience ? found.clientIds : [],
      claimed: found.claimed,
    });
  }

  /** Answers Hydra once: with the challenge claimed already, or claimed now (with `alongside` in the claim's transaction). */
  function answer<T>(ctx: Context, call: () => Promise<T>, alongside?: (q: Queryable) => Promise<void>): Promise<T> {
    return ctx.claimed ? answerClaimed(store, "consent", ctx.challenge, call) : answerOnce(store, "consent", ctx.challenge, call, alongside);
  }

  /** Rejects at Hydra. A client without audience gets a page here; anything else returns to the client. */
  async function reject(res: Response, ctx: Context, error: string, description: string) {
    const redirectTo = await answer(ctx, () => hydra.rejectConsent(ctx.challenge, error, description));
    if (error === "invalid_client") {
      deps.logger.warn({ client: ctx.clientId }, "consent for a client without audience refused");
      const t = tOf(res);
      return res.status(403).render("error", {
        title: t("consent:notSetUp.title"),
        message: t("consent:notSetUp.message", { client: ctx.clientName, description }),
        status: 403,
        continueTo: redirectTo,
      });
    }
    res.redirect(303, redirectTo);
  }

  /**
   * The user approved the page: the approval is recorded and the challenge claimed in one statement
   * that also reads the account (gone or disabled: refused, nothing written), then Hydra is answered.
   */
  async function approve(res: Response, ctx: Context & { audience: AudienceInfo }) {
    const recorded = await store.recordConsent(ctx.subject, ctx.audience.id, ctx.clientId, ctx.requestedScopes, { claimChallenge: ctx.challenge });
    if (recorded.outcome !== "recorded") {
      if (recorded.outcome === "handled") throw new FlowAlreadyHandledError(ctx.request.request_url || undefined);
      return reject(res, ctx, "access_denied", recorded.outcome === "disabled" ? "The user account is disabled." : "The user account no longer exists.");
    }
    deps.metrics.consentDecisions.inc({ decision: "approved" });
    await acceptAtHydra(res, { ...ctx, user: recorded.user, claimed: true }, recorded.scopes);
  }

  /**
   * The consent page's approval in one statement (a round trip less per sign-in). When the form's ticket describes the
   * request, the browser holds the flow's mark and the step is an approval, the browser's session is
   * read by the statement that records the approval (store.recordConsentInSession), which writes only
   * for a session holding the form's CSRF token and nobody's or the subject's; the token and the
   * browser are then checked here with that session, exactly as on the usual path. False: the usual
   * path answers (no usable ticket, another step, or a refusal it puts into words).
   */
  async function approveInOneStatement(req: Request, res: Response, challenge: string, ticket: string | undefined): Promise<boolean> {
    const request = readConsentTicket(ticket, challenge, ticketKeys, Date.now());
    if (!request) return false;
    const clientId = request.client?.client_id ?? "";
    const subject = request.subject ?? "";
    const answeredLogin = deps.browser.answeredLogin(req, request.login_session_id);
    if (!answeredLogin || req.session) return false;
    const { requestedScopes, membership, audience, input } = await decisionInput(request, clientId);
    if (!audience || input.promptNone) return false;
    const step = decideConsent({ ...input, grantedScopes: [] });
    if (step.kind === "first_party" || step.kind === "reject") return false;
    const csrf = deps.csrf.submitted(req);
    const { loaded, result } = deps.loadSessionWith(req, res, (sid) => store.recordConsentInSession(sid, csrf, subject, audience.id, clientId, requestedScopes, challenge));
    result.catch(() => undefined); // awaited after the checks
    await deps.csrf.check(req, res, loaded);
    refuseOtherBrowsers(req, subject, answeredLogin, clientId);
    const recorded = await result;
    // The statement refused although the checks passed (no session was read with it): the usual path.
    if (recorded.outcome === "refused") return false;
    if (recorded.outcome === "handled") throw new FlowAlreadyHandledError(request.request_url || undefined);
    const ctx = contextOf(challenge, request, membership, requestedScopes, step, { user: recorded.user, grantedScopes: [], consentClients: [], claimed: false });
    if (recorded.outcome !== "recorded") {
      // Nothing was written (the account is gone or disabled): refused at Hydra, as approve() does.
      await reject(res, ctx, "access_denied", recorded.outcome === "disabled" ? "The user account is disabled." : "The user account no longer exists.");
      return true;
    }
    deps.metrics.consentDecisions.inc({ decision: "approved" });
    await acceptAtHydra(res, { ...ctx, audience, user: recorded.user, claimed: true }, recorded.scopes);
    return true;
  }

  /** A silent pass (the stored consent covers the request): the first use by this client is noted. */
  async function accept(res: Response, ctx: Context & { audience: AudienceInfo }) {
    const user = ctx.user;
    if (!user) return reject(res, ctx, "access_denied", "The user account no longer exists.");
    if (user.disabledAt) return reject(res, ctx, "access_denied", "The user account is disabled.");
    let alongside: ((q: Queryable) => Promise<void>) | undefined;
    if (!ctx.consentClients.includes(ctx.clientId)) {
      // The first silent pass of this client: noted once.
      if (ctx.claimed) await store.noteConsentUse(user.id, ctx.audience.id, ctx.clientId);
      else alongside = (q) => store.noteConsentUse(user.id, ctx.audience.id, ctx.clientId, q);
    }
    await acceptAtHydra(res, { ...ctx, user }, ctx.grantedScopes, alongside);
  }

  /** Accepts at Hydra with the scopes to grant and the released claims (claiming the challenge unless done). */
  async function acceptAtHydra(res: Response, ctx: Context & { audience: AudienceInfo; user: User }, audienceConsent: string[], alongside?: (q: Queryable) => Promise<void>) {
    const { request, user } = ctx;
    const redirectTo = await answer(
      ctx,
      async () => {
        const grantScope = scopesToGrant({
          requested: ctx.requestedScopes,
          audienceConsent,
          clientScopes: (request.client?.scope ?? "").split(" ").filter(Boolean),
          includeGranted: includeGrantedScopes(request.request_url),
        });
        const claims = releasedClaims(user, grantScope, ctx.audience.id, await store.getClaimDefs(ctx.audience.id));
        return hydra.acceptConsent(ctx.challenge, {
          grant_scope: grantScope,
          grant_access_token_audience: grantedAudiences(ctx.audience, request.requested_access_token_audience ?? []),
          // The app's store decides about consent (shared per audience). Hydra also remembers it per
          // client only so that prompt=none (silent renewal) can reach this app at all; /account's
          // revocation clears Hydra's memory together with the store's.
          remember: true,
          remember_for: 0,
          session: { id_token: claims, access_token: {} },
        });
      },
      alongside,
    );
    res.redirect(303, redirectTo);
  }

  /** The account page's own sign-in: accepted without a page, nothing stored, nothing remembered. */
  async function acceptFirstParty(res: Response, ctx: Context, grantScope: string[]) {
    const redirectTo = await answer(ctx, () =>
      hydra.acceptConsent(ctx.challenge, { grant_scope: grantScope, grant_access_token_audience: [], remember: false, remember_for: 0, session: { id_token: {}, access_token: {} } }),
    );
    res.redirect(303, redirectTo);
  }

  /** The decision, counted for /metrics: silent, page, invalid_scope, invalid_client, consent_required, first_party. */
  function countStep(step: ConsentStep): void {
    deps.metrics.consentDecisions.inc({ decision: step.kind === "accept" ? "silent" : step.kind === "show" ? "page" : step.kind === "reject" ? step.error : "first_party" });
  }

  router.get("/consent", async (req: Request, res: Response) => {
    const { consent_challenge } = parseInput(ConsentQuery, req.query, "consent link");
    // The challenge is claimed while the account and consent are read (one query) when the step is
    // answered without a page; a page leaves it to its form.
    const ctx = await load(req, res, consent_challenge, { claim: true });
    const { step } = ctx;
    countStep(step);
    const restart = withRestartLink(ctx.request.request_url);
    if (step.kind === "first_party") return acceptFirstParty(res, ctx, step.grantScope).catch(restart);
    if (step.kind === "reject") return reject(res, ctx, step.error, step.description).catch(restart);
    if (step.kind === "accept") return accept(res, { ...ctx, audience: ctx.audience! }).catch(restart);
    useUiLocales(req, res, ctx.request.oidc_context?.ui_locales, deps.env);
    useAudienceBrand(res, ctx.audienceBrand);
    const descriptions = await store.getScopeDescriptions(ctx.requestedScopes);
    const t = tOf(res);
    const describe = (s: string) => ({ name: s, description: say(t, describeScope(s, descriptions.get(s), lngOf(res))) });
    // GET /consent asked Hydra (a ticket stands in only for a form's post): the client's whole record.
    const client: Partial<OAuth2Client> | undefined = ctx.request.client;
    const webLink = (u: string | undefined) => (u && /^https?:\/\//i.test(u) ? u : null);
    res.render("consent", {
      title: t("consent:title"),
      csrfToken: deps.csrf.token(req),
      challenge: consent_challenge,
      consentTicket: issueTicket(ticketKeys[0]!, consentTicketSubset(ctx.request), Date.now()),
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
      newScopes: step.newScopes.map(describe),
      offline: ctx.requestedScopes.some((s) => OFFLINE_SCOPES.has(s)),
    });
  });

  router.post("/consent", async (req: Request, res: Response) => {
    // An approval whose form's ticket describes the request: one statement (approveInOneStatement).
    const approval = ConsentForm.safeParse(req.body);
    if (approval.success && approval.data.decision === "allow" && (await approveInOneStatement(req, res, approval.data.consent_challenge, approval.data.consent_ticket))) return;
    // The session loads and the CSRF token is checked while Hydra describes the request (unless the
    // form's ticket does: decisions/request-ticket.ts).
    const { form, checked } = await checkedForm(deps, req, res, ConsentForm, "consent form");
    // What the form answers does not depend on the stored consent: it approves or denies the
    // requested scopes (load() still reads it for a prompt=none request, which never asks).
    const ctx = await load(req, res, form.consent_challenge, { claim: false, stored: false, session: checked, ticket: form.consent_ticket });
    const restart = withRestartLink(ctx.request.request_url);
    const { step } = ctx;
    if (step.kind === "first_party") return acceptFirstParty(res, ctx, step.grantScope).catch(restart);
    if (step.kind === "reject") return reject(res, ctx, step.error, step.description).catch(restart);
    if (!ctx.audience) throw new AppError(500, "no_audience", msg("errors:serverError"));
    if (form.decision === "deny") {
      // The stored consent is left exactly as it was. Counted once answered (a replay is not).
      await reject(res, ctx, "access_denied", "The user denied the request.").catch(restart);
      deps.metrics.consentDecisions.inc({ decision: "denied" });
      return;
    }
    await approve(res, { ...ctx, audience: ctx.audience });
  });

  router.post("/consent/switch-account", deps.csrf.protect, async (req: Request, res: Response) => {
    const form = parseInput(SwitchAccountForm, req.body, "consent form");
    const ctx = await load(req, res, form.consent_challenge, { claim: false });
    const restart = restartWithFreshSignIn(ctx.request.request_url);
    await answerOnce(store, "consent", ctx.challenge, () => hydra.rejectConsent(ctx.challenge, "access_denied", "The user chose to sign in with another account."));
    deps.logger.info({ event: "consent_switch_account", client: ctx.clientId }, "consent step left to sign in with another account");
    // The app session ends here (Hydra calls /logout only when it remembers this browser).
    await new Promise<void>((resolve, reject) => req.session.destroy((err) => (err ? reject(err) : resolve())));
    res.clearCookie(deps.env.SESSION_COOKIE_NAME);
    startBrowserSignOut(res, deps.env, restart);
  });

  return router;
}
