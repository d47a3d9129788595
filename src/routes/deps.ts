import type { RequestHandler, Request, Response } from "express";
import type { SessionData } from "express-session";
import { parseInput } from "../middleware/validate";
import type { Env } from "../config/env";
import type { Hydra } from "../services/hydra";
import type { Store } from "../services/store";
import type { Logger } from "../logger";
import { z } from "zod";
import type { Limits } from "../services/limits";
import type { BrowserCookies } from "../middleware/browser-cookies";
import type { Mailer } from "../services/mail";
import type { Metrics } from "../services/metrics";
import type { Factors } from "../services/factors";
import type { Passkeys } from "../services/passkeys";

/** What every route module receives. */
export interface Deps {
  env: Env;
  hydra: Hydra;
  store: Store;
  logger: Logger;
  csrf: {
    token(req: Request): string;
    protect: RequestHandler;
    /**
     * For a route whose session loads later (app.ts `deferred`): loads it and checks the form's CSRF
     * token; rejects with the same 403 error as `protect`. Nothing may depend on the session or act
     * for the person before it resolved. `loaded`: the session's load started already (loadSessionWith).
     */
    check(req: Request, res: Response, loaded?: Promise<void>): Promise<void>;
    /** The token the request submitted (where `check` reads it), or null. */
    submitted(req: Request): string | null;
  };
  /** Attempt counters shared by all replicas (PostgreSQL). */
  limits: Limits;
  browser: BrowserCookies;
  /**
   * Loads the browser's session where the global middleware left it for later (GET /login, GET
   * /consent: they load it when, and as soon as, they need it). Elsewhere req.session is there already.
   */
  loadSession(req: Request, res: Response): Promise<void>;
  /**
   * loadSession, with the session read by `read`: a statement of the step that reads it alongside
   * its own work (one round trip instead of two). `read` gets the cookie's session id (null when
   * there is none to read: then it runs without) and returns the session's data with its result.
   * `loaded` resolves when req.session is there; `result` is the statement's answer.
   */
  loadSessionWith<R extends { session: SessionData | null }>(req: Request, res: Response, read: (sessionId: string | null) => Promise<R>): { loaded: Promise<void>; result: Promise<R> };
  /** Mail goes through the outbox; kick() sends what was just written. */
  mailer: Mailer;
  /** Prometheus metrics (sign-in outcomes, consent decisions, …). */
  metrics: Metrics;
  /** Second factors: authenticator set-up and codes, recovery codes. */
  factors: Factors;
  /** Passkeys (WebAuthn): options for the pages and checks of the answers. */
  passkeys: Passkeys;
}

/** A Hydra login/consent/logout challenge as it appears in a query string or form. */
export const challenge = z
  .string({ message: "is required" })
  .min(1, "is required")
  .max(4096, "is too long")
  .regex(/^[\x21-\x7e]+$/, "contains invalid characters");

/** Checkbox / submitted value → boolean. */
export const checkbox = z
  .union([z.literal("on"), z.literal("true"), z.literal("1"), z.literal("")])
  .optional()
  .transform((v) => v === "on" || v === "true" || v === "1");

/**
 * For a form post whose session loads later (Deps.csrf.check): starts the session's load and the
 * CSRF check, and parses the form meanwhile. A refused token is the answer even when the form is
 * bad too. `checked` must be awaited (or passed to afterCheck) before anything depends on the session.
 */
export async function checkedForm<S extends z.ZodType>(deps: Deps, req: Request, res: Response, schema: S, what: string): Promise<{ form: z.infer<S>; checked: Promise<void> }> {
  const checked = deps.csrf.check(req, res);
  checked.catch(() => undefined); // the caller awaits it; a refusal is the response
  try {
    return { form: parseInput(schema, req.body, what), checked };
  } catch (err) {
    await checked;
    throw err;
  }
}

export { afterCheck } from "../flows/checked";
