// /login — Hydra's login step (flows/sign-in.ts): skip when Hydra knows the user, else email +
// password (flows/sign-in-password.ts); /login/continue — a step held for verification goes on.
// GET and POST /login load the browser's session themselves, in a statement of their own work.
import { Router, type Request, type Response } from "express";
import { z } from "zod";
import type { Deps } from "./deps";
import { afterCheck, challenge, checkbox } from "./deps";
import { parseInput } from "../middleware/validate";
import { ticketKey } from "../decisions/request-ticket";
import { ensureNotHandled } from "../flows/challenges";
import { describeLogin, missingCredentials, openSignIn, resumeHeldSignIn, type OpeningBrowser, type SignInDeps } from "../flows/sign-in";
import { passwordAttempt, signInWithPassword } from "../flows/sign-in-password";
import { FlowAlreadyHandledError } from "../services/hydra";
import { saveSessionWith } from "../services/sessions";
import { unansweredChallengeGate } from "../services/store";
import { pageLook, passwordBrowser, saveSession, signInBrowser } from "./browser";
import { respond } from "./respond";

const LoginQuery = z.object({ login_challenge: challenge });
const LoginForm = z.object({
  login_challenge: challenge,
  email: z.string().trim().max(320, "is too long").default(""),
  password: z.string().max(1024, "is too long").default(""),
  remember: checkbox,
  /** The page's description of the login request (decisions/request-ticket.ts); optional. */
  login_ticket: z.string().max(8192, "is too long").optional(),
});

/** The sign-in flows' dependencies: the routes' own, and the login form ticket's keys. */
export function signInDeps(deps: Deps): SignInDeps & Deps {
  return { ...deps, ticketKeys: deps.env.SESSION_SECRETS.map((secret) => ticketKey(secret, "login")) };
}

export function loginRoutes(deps: Deps): Router {
  const { store } = deps;
  const router = Router();
  const flow = signInDeps(deps);

  /**
   * Loads the session for the form, with the replay check reading it in the same statement. A
   * browser without a session to read (a new one) has the check made with its new session's save.
   */
  async function loadRefusingReplay(req: Request, res: Response, loginChallenge: string, requestUrl: string | undefined): Promise<void> {
    const replayed = () => new FlowAlreadyHandledError(requestUrl || undefined);
    let readsSession = true;
    const { loaded, result } = deps.loadSessionWith(req, res, (sid) => {
      if (sid !== null) return store.isChallengeHandledWithSession("login", loginChallenge, sid);
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
      await saveSessionWith(req, { gate: { sql: unansweredChallengeGate("login", loginChallenge), refused: replayed } });
    } else {
      const handled = readsSession ? result.then((r) => r.handled) : store.isChallengeHandled("login", loginChallenge);
      const [answered] = await Promise.all([handled, hadToken ? undefined : saveSession(req)]);
      if (answered) throw replayed();
    }
  }

  router.get("/login", async (req, res) => {
    const { login_challenge } = parseInput(LoginQuery, req.query, "login link");
    const browser: OpeningBrowser = Object.assign(signInBrowser(deps, req, res), {
      load: () => deps.loadSession(req, res),
      loadRefusingReplay: (loginChallenge: string, requestUrl: string | undefined) => loadRefusingReplay(req, res, loginChallenge, requestUrl),
    });
    respond(deps, req, res, await openSignIn(flow, pageLook(deps, req, res), browser, login_challenge));
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
    const look = pageLook(deps, req, res);
    const browser = passwordBrowser(deps, req, res);
    const described = describeLogin(flow, form.login_challenge, form.login_ticket);
    const again = { email: form.email, remember: form.remember, ticket: described.ticket };
    if (!form.email || !form.password) {
      await deps.csrf.check(req, res);
      return respond(deps, req, res, await missingCredentials(flow, look, browser, { loginChallenge: form.login_challenge, request: described.request }, again));
    }
    // The attempt's statement reads the browser's session; meanwhile Hydra describes the login
    // request (unless the form's ticket does). A replayed step is refused when it is answered.
    const attempt = passwordAttempt(flow, browser, { email: form.email, ip: req.ip ?? "unknown" });
    const { loaded, result } = deps.loadSessionWith(req, res, attempt.read);
    const checked = deps.csrf.check(req, res, loaded);
    checked.catch(() => undefined); // awaited by the flow
    // A refused CSRF token is the answer even when Hydra refuses the challenge too.
    const request = afterCheck(described.request, checked);
    const signIn = { loginChallenge: form.login_challenge, password: form.password, remember: form.remember };
    respond(deps, req, res, await signInWithPassword(flow, look, browser, { form: signIn, attempt, counted: result, checked, request, again }));
  });

  /** The "check your inbox" page's Continue: the address was verified meanwhile (link on another device). */
  router.post("/login/continue", async (req, res) => {
    const { login_challenge } = parseInput(LoginQuery, req.body, "sign-in form");
    // A sign-in that went on in another tab (its mail link confirmed in this browser) renewed the
    // session, so this tab's form token is stale: the step being answered already is the news then.
    await ensureNotHandled(store, "login", login_challenge, deps.hydra);
    await deps.csrf.check(req, res);
    respond(deps, req, res, await resumeHeldSignIn(flow, pageLook(deps, req, res), signInBrowser(deps, req, res), login_challenge));
  });

  return router;
}
