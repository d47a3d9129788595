// Builds the Express app from its dependencies. No I/O happens here; server.ts starts it.
import path from "node:path";
import express, { type ErrorRequestHandler, type Request, type RequestHandler } from "express";
import session from "express-session";
import { csrfSync } from "csrf-sync";
import type { Env } from "./config/env";
import type { Hydra } from "./services/hydra";
import type { Store } from "./services/store";
import type { Deps } from "./routes/deps";
import cookieParser from "cookie-parser";
import { ROOT_DIR } from "./paths";
import { pageLocals } from "./middleware/page-locals";
import { assetRoutes } from "./routes/assets";
import { errorHandler, notFoundHandler } from "./middleware/errors";
import { sameOriginPosts } from "./middleware/same-origin";
import { SECURITY_HEADERS, securityHeaders } from "./middleware/security-headers";
import type { Limits } from "./services/limits";
import { createFactors } from "./services/factors";
import { createPasskeys } from "./services/passkeys";
import { createSecretBox, keyRing } from "./services/secret-box";
import type { PgSessionStore } from "./services/sessions";
import type { Mailer } from "./services/mail";
import type { Metrics } from "./services/metrics";
import { verificationRoutes } from "./routes/verification";
import { recoveryRoutes } from "./routes/recovery";
import { NEW_SESSION_SETTING } from "./routes/browser";
import { hydraErrorRoutes } from "./routes/hydra-error";
import { browserCookies } from "./middleware/browser-cookies";
import type { Logger as PinoLogger } from "./logger";
import { requestLog } from "./middleware/request-log";
import { loginSecondFactorRoutes } from "./routes/login-second-factor";
import { accountFactorRoutes } from "./routes/account-factors";
import { accountPasskeyRoutes } from "./routes/account-passkeys";
import { accountPlaceRoutes } from "./routes/account-places";
import { loginRoutes } from "./routes/login";
import { consentRoutes } from "./routes/consent";
import { logoutRoutes } from "./routes/logout";
import { healthRoutes } from "./routes/health";
import { homeRoutes } from "./routes/home";
import { accountRoutes } from "./routes/account";
import { accountSettingsRoutes } from "./routes/account-settings";
import { registrationRoutes } from "./routes/registration";
import { routeBySegment } from "./middleware/dispatch";

export { ROOT_DIR };

export interface AppDeps {
  env: Env;
  hydra: Hydra;
  store: Store;
  logger: PinoLogger;
  /** The persistent session store (table "session", created by the migrations; src/services/sessions.ts). */
  sessionStore: PgSessionStore;
  /** Attempt counters shared by every replica (table rate_limits). */
  limits: Limits;
  mailer: Mailer;
  metrics: Metrics;
}

export function createApp({ env, hydra, store, logger, sessionStore, limits, mailer, metrics }: AppDeps): express.Express {
  const app = express();
  app.disable("x-powered-by");
  // No ETag on generated answers: every page is made for one browser at one moment (below).
  app.set("etag", false);
  app.set("trust proxy", env.TRUST_PROXY_HOPS);
  app.set("view engine", "ejs");
  app.set("views", path.join(ROOT_DIR, "views"));

  // Latency per route: the matched route's pattern (never the URL's values), "unmatched" otherwise.
  app.use((req, res, next) => {
    const end = metrics.httpDuration.startTimer();
    res.once("finish", () => {
      const route = req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : "unmatched";
      end({ method: req.method, route, status: String(res.statusCode) });
    });
    next();
  });
  app.use(requestLog(logger));
  app.use(securityHeaders(SECURITY_HEADERS));
  app.use(cookieParser());
  // Before anything can fail: every page, error pages included, is in the person's language and brand.
  app.use(pageLocals(env));
  app.use(assetRoutes({ env } as Deps));
  // Everything after the static assets is made for one browser at one moment (forms with their CSRF
  // token and ticket, account pages, redirects carrying challenges): never kept by a browser's cache
  // or a proxy (OWASP ASVS V14.3: sensitive data not cached).
  app.use((_req, res, next) => {
    res.setHeader("Cache-Control", "no-store");
    next();
  });
  app.use(sameOriginPosts(env, logger));
  app.use(express.urlencoded({ extended: false, limit: "16kb", parameterLimit: 50 }));

  const sessions = session({
    name: env.SESSION_COOKIE_NAME,
    secret: env.SESSION_SECRETS,
    store: sessionStore,
    resave: false,
    saveUninitialized: false,
    rolling: false,
    cookie: {
      httpOnly: true,
      secure: env.COOKIE_SECURE,
      sameSite: env.COOKIE_SAME_SITE,
      maxAge: env.SESSION_TTL_SECONDS * 1000,
    },
  });
  // The two steps every authorization passes read the session themselves (deps.loadSession): GET
  // /consent while Hydra answers its first call (one round trip less to wait for), GET /login only
  // when it shows a page (a sign-in Hydra skipped needs no session: one query less).
  // Their form posts (POST /login, POST /consent) load it while their first other work runs, and
  // check the CSRF token before anything depends on it (deps.csrf.check).
  const deferred = (req: Request) => (req.method === "GET" || req.method === "POST") && (req.path === "/login" || req.path === "/consent");
  app.use((req, res, next) => (deferred(req) ? next() : sessions(req, res, next)));
  const loadSession = (req: Request, res: express.Response): Promise<void> =>
    req.session ? Promise.resolve() : new Promise((resolve, reject) => sessions(req, res, (err?: unknown) => (err ? reject(err) : resolve())));
  // The session read by another statement of the step (Deps.loadSessionWith): express-session asks
  // the store for the cookie's session id at once, and the primed store answers with that statement.
  const loadSessionWith: Deps["loadSessionWith"] = (req, res, read) => {
    let result: ReturnType<typeof read> | undefined;
    sessionStore.prime((sid) => {
      result = read(sid);
      return result.then((r) => r.session);
    });
    const loaded = loadSession(req, res);
    sessionStore.unprime();
    // No session to read (none in the cookie, a bad signature, or loaded before): the statement alone.
    result ??= read(null);
    loaded.catch(() => undefined); // the caller awaits `loaded`; its failure is `result`'s too
    return { loaded, result };
  };

  const submittedToken = (req: Request): string | undefined => (typeof req.body?._csrf === "string" ? (req.body._csrf as string) : undefined);
  const { csrfSynchronisedProtection, generateToken, isRequestValid, invalidCsrfTokenError } = csrfSync({ getTokenFromRequest: submittedToken });
  const checkCsrf = async (req: Request, res: express.Response, loaded?: Promise<void>): Promise<void> => {
    await (loaded ?? loadSession(req, res));
    if (!isRequestValid(req)) throw invalidCsrfTokenError;
  };
  app.set(NEW_SESSION_SETTING, (req: Request) => void generateToken(req, true));
  const deps: Deps = {
    env,
    hydra,
    store,
    logger,
    csrf: { token: (req) => generateToken(req), protect: csrfSynchronisedProtection as RequestHandler, check: checkCsrf, submitted: (req) => submittedToken(req) ?? null },
    limits,
    browser: browserCookies(env),
    loadSession,
    loadSessionWith,
    mailer,
    metrics,
    factors: createFactors(createSecretBox(keyRing(env))),
    passkeys: createPasskeys({ appBaseUrl: env.APP_BASE_URL, rpName: env.BRAND_PRODUCT_NAME, secrets: env.SESSION_SECRETS }),
  };

  app.use(
    routeBySegment([
      healthRoutes(deps),
      homeRoutes(deps),
      loginRoutes(deps),
      loginSecondFactorRoutes(deps),
      registrationRoutes(deps),
      verificationRoutes(deps),
      recoveryRoutes(deps),
      hydraErrorRoutes(deps),
      consentRoutes(deps),
      logoutRoutes(deps),
      accountRoutes(deps),
      accountSettingsRoutes(deps),
      accountFactorRoutes(deps),
      accountPasskeyRoutes(deps),
      accountPlaceRoutes(deps),
    ]),
  );

  app.use(notFoundHandler);
  app.use(errorHandler(logger) as ErrorRequestHandler);
  return app;
}
