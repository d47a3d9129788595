// Builds the Express app from its dependencies. No I/O happens here; server.ts starts it.
import path from "node:path";
import express, { type ErrorRequestHandler, type Request, type RequestHandler } from "express";
import session from "express-session";
import connectPgSimple from "connect-pg-simple";
import helmet from "helmet";
import { csrfSync } from "csrf-sync";
import { pinoHttp } from "pino-http";
import type { Pool } from "pg";
import type { Env } from "./config/env";
import type { Hydra } from "./services/hydra";
import type { Store } from "./services/store";
import type { Logger } from "./logger";
import type { Deps } from "./routes/deps";
import { loginLimiter, registrationLimiter } from "./middleware/rate-limit";
import { errorHandler, notFoundHandler } from "./middleware/errors";
import { loginRoutes } from "./routes/login";
import { consentRoutes } from "./routes/consent";
import { logoutRoutes } from "./routes/logout";
import { healthRoutes } from "./routes/health";
import { homeRoutes } from "./routes/home";
import { accountRoutes } from "./routes/account";
import { registrationRoutes } from "./routes/registration";

export const ROOT_DIR = path.resolve(__dirname, "..");

export interface AppDeps {
  env: Env;
  hydra: Hydra;
  store: Store;
  logger: Logger;
  /** Pool backing the persistent session store (table "session", created by the migrations). */
  sessionPool: Pool;
}

export function createApp({ env, hydra, store, logger, sessionPool }: AppDeps): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", env.TRUST_PROXY_HOPS);
  app.set("view engine", "ejs");
  app.set("views", path.join(ROOT_DIR, "views"));

  app.use(pinoHttp({ logger, autoLogging: { ignore: (req) => req.url === "/health" } }));
  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          // After a form post the browser follows Hydra's redirects to the client's redirect URI;
          // Chrome applies form-action to that whole chain, so it cannot be limited to 'self'.
          "form-action": null,
        },
      },
    }),
  );
  app.use(express.urlencoded({ extended: false, limit: "16kb", parameterLimit: 50 }));

  const PgStore = connectPgSimple(session);
  app.use(
    session({
      name: env.SESSION_COOKIE_NAME,
      secret: env.SESSION_SECRETS,
      store: new PgStore({ pool: sessionPool, tableName: "session", createTableIfMissing: false, pruneSessionInterval: 15 * 60 }),
      resave: false,
      saveUninitialized: false,
      rolling: false,
      cookie: {
        httpOnly: true,
        secure: env.COOKIE_SECURE,
        sameSite: env.COOKIE_SAME_SITE,
        maxAge: env.SESSION_TTL_SECONDS * 1000,
      },
    }),
  );

  const { csrfSynchronisedProtection, generateToken } = csrfSync({
    getTokenFromRequest: (req: Request) => (typeof req.body?._csrf === "string" ? req.body._csrf : undefined),
  });
  const deps: Deps = {
    env,
    hydra,
    store,
    logger,
    csrf: { token: (req) => generateToken(req), protect: csrfSynchronisedProtection as RequestHandler },
    loginLimiter: loginLimiter(env),
    registrationLimiter: registrationLimiter(env),
  };

  app.use(healthRoutes(deps));
  app.use(homeRoutes(deps));
  app.use(loginRoutes(deps));
  app.use(registrationRoutes(deps));
  app.use(consentRoutes(deps));
  app.use(logoutRoutes(deps));
  app.use(accountRoutes(deps));

  app.use(notFoundHandler);
  app.use(errorHandler(logger) as ErrorRequestHandler);
  return app;
}
