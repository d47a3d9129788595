// The browser's session and cookies as the flows change them (flows/session.ts, flows/sign-in-step.ts),
// built from the request and the response.
import type { Request, Response } from "express";
import type { SessionData } from "express-session";
import type { SignInBrowser } from "../flows/sign-in-step";
import type { SessionPort } from "../flows/session";
import type { PageLook } from "../flows/page";
import type { PasswordBrowser } from "../flows/sign-in-password";
import type { AccountActor, AccountBrowser } from "../flows/account-settings";
import { lngOf, useAudienceBrand, useUiLocales } from "../middleware/page-locals";
import { saveSessionWith } from "../services/sessions";
import type { Along } from "../services/db";
import type { Deps } from "./deps";

/**
 * What every new session gets before it is first saved: the app's own (app.ts sets it on the
 * Express app, so two apps in one process keep theirs: the CSRF token). express-session saves a
 * regenerated session a second time after the response headers are out; a browser following the
 * redirect at once may save newer data (a first CSRF token) that this late write would undo. With
 * the token in the session from the start, the late write carries it too.
 */
export const NEW_SESSION_SETTING = "initialize new session";
const initializeSession = (req: Request): void => (req.app.get(NEW_SESSION_SETTING) as ((r: Request) => void) | undefined)?.(req);

export function saveSession(req: Request): Promise<void> {
  return saveSessionWith(req);
}

/**
 * A fresh session id carrying only `data` (and the account page's sign-in in progress). The new
 * row replaces the old one in one statement, with `alongside`'s writes. `untilBrowserCloses`: the
 * cookie gets no expiry (true) or the session lifetime (false); unset, it stays as the old one's.
 */
export function regenerateSession(req: Request, data: Partial<SessionData>, alongside?: Along, untilBrowserCloses?: boolean): Promise<void> {
  // The account page's sign-in in progress (state, nonce, PKCE verifier) belongs to this browser and
  // survives the new session id; nothing else of the old session does.
  const accountAuth = req.session.accountAuth;
  const previous = req.session;
  const previousId = req.sessionID;
  const browserOnly = untilBrowserCloses ?? previous.cookie.expires == null;
  return new Promise((resolve, reject) => {
    req.session.regenerate((err) => {
      if (err) return reject(err);
      // A cookie without Expires ends with the browser; the row still expires after the session lifetime.
      if (browserOnly) req.session.cookie.expires = null;
      if (accountAuth) req.session.accountAuth = accountAuth;
      Object.assign(req.session, data);
      initializeSession(req);
      saveSessionWith(req, alongside).then(resolve, (e: unknown) => {
        // Nothing was written (a replayed step, the database): the browser keeps its session as it was.
        req.session = previous;
        req.sessionID = previousId;
        reject(e);
      });
    });
  });
}

/** The browser's session (loaded or not: GET /login loads it only when it needs it). */
export function sessionPort(deps: Pick<Deps, "env">, req: Request, res: Response): SessionPort {
  return {
    get session() {
      return req.session as SessionData | undefined;
    },
    save: () => saveSession(req),
    regenerate: (data, alongside, untilBrowserCloses) => regenerateSession(req, data, alongside, untilBrowserCloses),
    destroy: () =>
      new Promise<void>((resolve, reject) => req.session.destroy((err) => (err ? reject(err) : resolve()))).then(() => {
        res.clearCookie(deps.env.SESSION_COOKIE_NAME);
      }),
  };
}

/** The browser as the sign-in step sees it: its session and the flow mark's cookie. */
export function signInBrowser(deps: Pick<Deps, "env" | "browser">, req: Request, res: Response): SignInBrowser {
  const port = sessionPort(deps, req, res);
  return {
    get session() {
      return port.session;
    },
    save: port.save,
    regenerate: port.regenerate,
    markLoginAnswered: (loginSessionId) => deps.browser.markLoginAnswered(req, res, loginSessionId),
    markStrongSession: (loginSessionId, strong) => deps.browser.markStrongSession(req, res, loginSessionId, strong),
    strongSession: (loginSessionId) => deps.browser.strongSession(req, loginSessionId),
    place: { userAgent: req.get("user-agent") ?? "", ip: req.ip ?? "" },
  };
}

/** The browser of a password sign-in: also its device cookie. */
export function passwordBrowser(deps: Pick<Deps, "env" | "browser">, req: Request, res: Response): PasswordBrowser {
  const browser = signInBrowser(deps, req, res);
  return Object.assign(browser, {
    trustedDevice: (emailNormalized: string) => deps.browser.trustedDevice(req, emailNormalized),
    rememberDevice: (emailNormalized: string, existing: string | null) => deps.browser.rememberDevice(req, res, emailNormalized, existing),
  });
}

/** The page's language and brand as a flow sets them (middleware/page-locals.ts). */
export function pageLook(deps: Pick<Deps, "env">, req: Request, res: Response): PageLook {
  return {
    followUiLocales: (uiLocales) => useUiLocales(req, res, uiLocales, deps.env),
    useBrand: (audience) => useAudienceBrand(res, audience),
    language: () => lngOf(res),
  };
}

/** Who acts on an /account form (a route behind requireAccountSession), from where, in which language. */
export function accountActor(req: Request, res: Response): AccountActor {
  return { userId: req.session.userId!, ip: req.ip ?? "unknown", lng: lngOf(res), sessionId: req.sessionID };
}

/** The browser of an /account form: its device cookie (which counters a password check counts against). */
export function accountBrowser(deps: Pick<Deps, "browser">, req: Request): AccountBrowser {
  return { trustedDevice: (emailNormalized) => deps.browser.trustedDevice(req, emailNormalized) };
}
