// /login — Hydra's login step: skip when Hydra knows the user, else email + password.
import { Router, type Request, type Response } from "express";
import { z } from "zod";
import type { Deps } from "./deps";
import { afterCheck, challenge, checkbox } from "./deps";
import { parseInput } from "../middleware/validate";
import { decideLoginStart } from "../decisions/login";
import { challengeDigest, checkInboxPage, finishSignIn, holdsForVerification } from "../flows/sign-in-step";
import { saveSession, signInBrowser } from "./browser";
import { respond } from "./respond";
import { saveSessionWith } from "../services/sessions";
import { AppError } from "../errors";
import { verifyPassword } from "../services/passwords";
import { ensureNotHandled, withRestartLink } from "../flows/challenges";
import { FlowAlreadyHandledError } from "../services/hydra";
import { offersSignUp, registrationMode } from "../decisions/registration";
import { normalizeEmail, unansweredChallengeGate } from "../services/store";
import { msg, say, type Msg } from "../i18n";
import { lngOf, tOf, useAudienceBrand, useUiLocales } from "../middleware/page-locals";
import { issueTicket, loginTicketSubset, readLoginTicket, ticketKey, type TicketedLoginRequest } from "../decisions/request-ticket";

/** "30 days", "12 hours", "45 minutes": how long "stay signed in" lasts, in words (i18next plurals). */
export function rememberPeriod(seconds: number): Msg {
  if (seconds >= 2 * 86400) return msg("login:period.day", { count: Math.round(seconds / 86400) });
  if (seconds >= 2 * 3600) return msg("login:period.hour", { count: Math.round(seconds / 3600) });
  return msg("login:period.minute", { count: Math.max(1, Math.round(seconds / 60)) });
}

function tooManySignIns(retryAfterSeconds: number): Msg {
  return msg("login:error.tooMany", { count: Math.max(1, Math.ceil(retryAfterSeconds / 60)) });
}

/**
 * The application's ui_locales for this login step: Hydra's oidc_context.ui_locales (a list), else
 * the ui_locales parameter of the original authorization request.
 */
export function uiLocalesOf(loginRequest: { oidc_context?: { ui_locales?: string[] }; request_url: string }): string[] | string | undefined {
  const fromHydra = loginRequest.oidc_context?.ui_locales;
  if (fromHydra?.length) return fromHydra;
  try {
    return new URL(loginRequest.request_url).searchParams.get("ui_locales") ?? undefined;
  } catch {
    return undefined;
  }
}

const LoginQuery = z.object({ login_challenge: challenge });
const LoginForm = z.object({
  login_challenge: challenge,
  email: z.string().trim().max(320, "is too long").default(""),
  password: z.string().max(1024, "is too long").default(""),
  remember: checkbox,
  /** The page's description of the login request (decisions/request-ticket.ts); optional. */
  login_ticket: z.string().max(8192, "is too long").optional(),
});

export function loginRoutes(deps: Deps): Router {
  const { hydra, store, env } = deps;
  const router = Router();
  const ticketKeys = env.SESSION_SECRETS.map((secret) => ticketKey(secret, "login"));

  /**
   * Hydra's description of the login request: from the form's ticket when it holds one for this
   * challenge (one call to Hydra fewer), else from Hydra.
   */
  function describe(challenge: string, ticket: string | undefined): { request: Promise<TicketedLoginRequest>; ticket?: string } {
    const ticketed = readLoginTicket(ticket, challenge, ticketKeys, Date.now());
    if (ticketed) return { request: Promise.resolve(ticketed), ticket };
    const request = hydra.getLoginRequest(challenge);
    request.catch(() => undefined); // awaited by the caller, after the CSRF check
    return { request };
  }

  async function renderForm(
    req: Request,
    res: Response,
    loginRequest: TicketedLoginRequest,
    extra: { status?: number; error?: Msg; email?: string; remember?: boolean; ticket?: string } = {},
  ) {
    const clientId = loginRequest.client.client_id ?? "";
    const membership = clientId ? await store.getClientMembership(clientId) : null;
    // The audience's own name and logo (audience config `brand: { name, logo }`), when it has them.
    useAudienceBrand(res, membership?.audience);
    const t = tOf(res);
    res.status(extra.status ?? 200).render("login", {
      title: t("login:title"),
      csrfToken: deps.csrf.token(req),
      challenge: loginRequest.challenge,
      // A ticket read from the form is passed on as it is: its age still counts from Hydra's answer.
      loginTicket: extra.ticket ?? issueTicket(ticketKeys[0]!, loginTicketSubset(loginRequest), Date.now()),
      clientName: loginRequest.client.client_name || clientId,
      audienceName: membership?.audience.displayName ?? null,
      signUpUrl: membership && offersSignUp(registrationMode(membership.audience)) ? `/registration?login_challenge=${encodeURIComponent(loginRequest.challenge)}` : null,
      invitationPending: Boolean(req.session.invitationCode),
      email: extra.email ?? loginRequest.oidc_context?.login_hint ?? "",
      remember: extra.remember ?? false,
      rememberFor: say(t, rememberPeriod(env.LOGIN_REMEMBER_FOR_SECONDS)),
      error: extra.error ? say(t, extra.error) : null,
    });
  }

  router.get("/login", async (req, res) => {
    const { login_challenge } = parseInput(LoginQuery, req.query, "login link");
    const loginRequest = await hydra.getLoginRequest(login_challenge);
    // The application asked for a language (OIDC ui_locales): the pages of this step follow it,
    // unless the person chose one on the switcher.
    useUiLocales(req, res, uiLocalesOf(loginRequest), env);
    const step = decideLoginStart(loginRequest);
    // A replayed challenge: the skipped sign-in below is refused when it is answered (its claim);
    // a page is not shown for one. Only a page needs this browser's session (its CSRF token).
    if (step.kind !== "accept") {
      const replayed = () => new FlowAlreadyHandledError(loginRequest.request_url || undefined);
      // The replay check reads the browser's session in the same statement. A browser without a
      // session to read (a new one) has the check made with its new session's save instead (below).
      let readsSession = true;
      const { loaded, result } = deps.loadSessionWith(req, res, (sid) => {
        if (sid !== null) return store.isChallengeHandledWithSession("login", login_challenge, sid);
        readsSession = false;
        return Promise.resolve({ handled: false, session: null });
      });
      await loaded;
      // A browser without a form token yet gets it now, and its session is saved while the check
      // runs rather than after the page is rendered (one round trip less to wait for).
      const hadToken = Boolean((req.session as { csrfToken?: string }).csrfToken);
      deps.csrf.token(req);
      if (!readsSession && !hadToken) {
        // A new browser: the check is the gate of its new session's save, one statement for both
        // (when the challenge was answered, nothing is written here and the replay is refused).
        await saveSessionWith(req, { gate: { sql: unansweredChallengeGate("login", login_challenge), refused: replayed } });
      } else {
        const handled = readsSession ? result.then((r) => r.handled) : store.isChallengeHandled("login", login_challenge);
        const [answered] = await Promise.all([handled, hadToken ? undefined : saveSession(req)]);
        if (answered) throw replayed();
      }
    }
    if (step.kind === "accept") {
      const membership = await store.getClientMembership(loginRequest.client.client_id ?? "");
      const audience = membership?.audience ?? null;
      // Only an audience that requires a verified address needs the user's row here (a pending account
      // never completed a sign-in, so Hydra remembers no browser of one).
      const user = (audience?.requireVerifiedEmail ? await store.getUser(step.subject) : null) ?? { id: step.subject, email: "", emailVerified: true, pendingSince: null };
      // Held until the address is verified: the step waits in this browser's session.
      if (holdsForVerification({ audience, user })) await deps.loadSession(req, res);
      // Hydra vouches for this browser (its own session cookie): the flow continues. The app's own
      // session is NOT created here: a login challenge in a URL is no proof of who the browser is.
      const done = await finishSignIn(deps, signInBrowser(deps, req, res), {
        loginChallenge: login_challenge,
        loginSessionId: loginRequest.session_id,
        user,
        audience,
        remember: false,
        startSession: false,
        skipped: true,
      }).catch(withRestartLink(loginRequest.request_url));
      return respond(deps, req, res, done);
    }
    await renderForm(req, res, loginRequest);
  });

  router.post("/login", async (req, res) => {
    // The form is read first: the statement that counts the attempt (below) reads the session too,
    // and the CSRF token is checked then. A bad form is answered only after the CSRF check. The
    // password is checked, and anything answered, only after it (a form refused for its token still
    // counts as an attempt, like any other refused sign-in).
    let form: z.infer<typeof LoginForm>;
    try {
      form = parseInput(LoginForm, req.body, "sign-in form");
    } catch (err) {
      await deps.csrf.check(req, res);
      throw err;
    }
    const described = describe(form.login_challenge, form.login_ticket);
    const again = { email: form.email, remember: form.remember, ticket: described.ticket };
    if (!form.email || !form.password) {
      await deps.csrf.check(req, res);
      const loginRequest = await described.request;
      useUiLocales(req, res, uiLocalesOf(loginRequest), env);
      await ensureNotHandled(store, "login", form.login_challenge, { requestUrl: loginRequest.request_url });
      return renderForm(req, res, loginRequest, { status: 400, error: msg("login:error.missing"), ...again });
    }
    const emailNormalized = normalizeEmail(form.email);

    // Count the attempt before checking the password (atomic in the shared store: parallel guesses
    // cannot overshoot the limit) and read the account, in one statement; a right password takes
    // the attempt back; the same statement reads the browser's session. Meanwhile Hydra describes
    // the login request (unless the form's ticket does: decisions/request-ticket.ts). A replayed step
    // is refused when it is answered (one query fewer per sign-in).
    const device = deps.browser.trustedDevice(req, emailNormalized);
    const signIn = { ip: req.ip ?? "unknown", emailNormalized, device };
    const counters = deps.limits.signInCounters(signIn);
    const { loaded, result } = deps.loadSessionWith(req, res, (sid) => store.attemptSignIn(form.email, counters, sid));
    const checked = deps.csrf.check(req, res, loaded);
    checked.catch(() => undefined); // awaited below
    const attempt = (async () => {
      const { counted, user } = await result;
      await checked;
      const count = await deps.limits.judgeSignIn(signIn, counters, counted);
      return { count, user, ok: count.allowed ? await verifyPassword(user?.passwordHash, form.password) : false };
    })();
    // A refused CSRF token is the answer even when Hydra refuses the challenge too.
    const [loginRequest, { count, user, ok }] = await Promise.all([afterCheck(described.request, checked), attempt]);
    useUiLocales(req, res, uiLocalesOf(loginRequest), env);
    if (!count.allowed) {
      deps.logger.warn({ event: "login_throttled", limit: count.refusedBy, client: loginRequest.client.client_id }, "sign-in throttled");
      res.setHeader("Retry-After", String(count.retryAfterSeconds));
      deps.metrics.signIns.inc({ outcome: "rate_limited" });
      return renderForm(req, res, loginRequest, { status: 429, error: tooManySignIns(count.retryAfterSeconds), ...again });
    }
    if (!user || !ok) {
      deps.logger.info({ event: "login_failed", client: loginRequest.client.client_id, knownDevice: Boolean(device) }, "sign-in refused");
      deps.metrics.signIns.inc({ outcome: "incorrect" });
      return renderForm(req, res, loginRequest, { status: 401, error: msg("login:error.incorrect"), ...again });
    }
    if (user.disabledAt) {
      // Said only to someone who knows the password.
      await deps.limits.settleSignIn(count.counted);
      deps.logger.info({ event: "login_disabled", subject: user.id }, "sign-in refused: account disabled");
      deps.metrics.signIns.inc({ outcome: "disabled" });
      return renderForm(req, res, loginRequest, { status: 403, error: msg("login:error.disabled"), ...again });
    }

    const membership = await store.getClientMembership(loginRequest.client.client_id ?? "");
    deps.browser.rememberDevice(req, res, emailNormalized, device);
    const done = await finishSignIn(deps, signInBrowser(deps, req, res), {
      loginChallenge: form.login_challenge,
      loginSessionId: loginRequest.session_id,
      user,
      audience: membership?.audience ?? null,
      remember: form.remember,
      startSession: true,
      // The attempt is taken back in the statement that claims the challenge and saves the session.
      sessionWithClaim: { writes: deps.limits.settleWrites(count.counted) },
      mailWhenHeld: { lng: lngOf(res) },
    }).catch(withRestartLink(loginRequest.request_url));
    respond(deps, req, res, done);
    deps.logger.info({ event: "login", subject: user.id, client: loginRequest.client.client_id }, "signed in");
    deps.metrics.signIns.inc({ outcome: "success" });
  });

  /** The "check your inbox" page's Continue: the address was verified meanwhile (link on another device). */
  router.post("/login/continue", async (req, res) => {
    const { login_challenge } = parseInput(LoginQuery, req.body, "sign-in form");
    // A sign-in that went on in another tab (its mail link confirmed in this browser) renewed the
    // session, so this tab's form token is stale: the step being answered already is the news then.
    await ensureNotHandled(deps.store, "login", login_challenge, deps.hydra);
    await deps.csrf.check(req, res);
    await resumePendingLogin(deps, req, res, login_challenge);
  });

  return router;
}

/** Continues a login step held for verification, in the browser that holds it. */
export async function resumePendingLogin(deps: Deps, req: Request, res: Response, loginChallenge: string): Promise<void> {
  const pending = req.session.pendingLogin;
  if (!pending || pending.challenge !== challengeDigest(loginChallenge)) {
    throw new AppError(400, "no_pending_sign_in", msg("login:pending.none"), { title: msg("login:pending.title") });
  }
  await ensureNotHandled(deps.store, "login", loginChallenge, deps.hydra);
  const loginRequest = await deps.hydra.getLoginRequest(loginChallenge);
  useUiLocales(req, res, uiLocalesOf(loginRequest), deps.env);
  const membership = await deps.store.getClientMembership(loginRequest.client.client_id ?? "");
  const audience = membership?.audience ?? null;
  const user = pending.decoy ? null : await deps.store.getUser(pending.userId);
  if (!pending.decoy && !user) throw new AppError(400, "no_pending_sign_in", msg("login:pending.accountGone"), { title: msg("login:pending.title") });
  if (!user || holdsForVerification({ audience, user, requireVerified: pending.requireVerified })) {
    return respond(
      deps,
      req,
      res,
      checkInboxPage({ email: user?.email ?? pending.decoy!.email, audienceName: audience?.displayName ?? null, loginChallenge, status: 409, error: msg("login:pending.notVerified") }),
    );
  }
  const done = await finishSignIn(deps, signInBrowser(deps, req, res), { loginChallenge, loginSessionId: pending.loginSessionId, user, audience, remember: pending.remember, startSession: pending.startSession });
  respond(deps, req, res, done);
}
