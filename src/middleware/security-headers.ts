// The security headers of every response (CSP, frame, referrer, HSTS, nosniff…), as helmet makes
// them. Our helmet configuration depends on nothing of the request (no nonces, no per-request
// directives), so helmet runs once, at start-up, against a response that records what it sets and
// removes, and every response then gets exactly those headers in one step (helmet's twelve
// middlewares per request cost more than setting twelve headers). helmet stays the source of the
// values; a configuration whose headers would depend on the request is refused at start-up.
import type { RequestHandler } from "express";
import helmet, { type HelmetOptions } from "helmet";

export interface RecordedHeaders {
  set: [name: string, value: string][];
  removed: string[];
}

/** What helmet(options) does to a response: the headers it sets and those it removes. */
export function recordHelmet(options: Readonly<HelmetOptions>): RecordedHeaders {
  const middleware = helmet(options);
  const recorded: RecordedHeaders = { set: [], removed: [] };
  const res = {
    setHeader(name: string, value: unknown) {
      recorded.set.push([name, String(value)]);
    },
    removeHeader(name: string) {
      recorded.removed.push(name);
    },
  };
  // A request helmet must not need: any read of it means the headers depend on the request.
  const req = new Proxy({}, { get: (_t, p) => { throw new Error(`securityHeaders: helmet read req.${String(p)}: its headers depend on the request`); } });
  let error: unknown;
  let called = false;
  middleware(req as never, res as never, (err?: unknown) => {
    called = true;
    error = err;
  });
  if (!called) throw new Error("securityHeaders: helmet did not finish synchronously");
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return recorded;
}

export function securityHeaders(options: Readonly<HelmetOptions>): RequestHandler {
  const { set, removed } = recordHelmet(options);
  return (_req, res, next) => {
    for (const name of removed) res.removeHeader(name);
    for (const [name, value] of set) res.setHeader(name, value);
    next();
  };
}

/** The app's helmet configuration. */
export const SECURITY_HEADERS: Readonly<HelmetOptions> = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      // Everything from this origin only: no inline script or style, images also as data: URIs.
      "default-src": ["'self'"],
      "script-src": ["'self'"],
      "script-src-attr": ["'none'"],
      "style-src": ["'self'"],
      "img-src": ["'self'", "data:"],
      "font-src": ["'self'"],
      "connect-src": ["'self'"],
      "object-src": ["'none'"],
      "base-uri": ["'none'"],
      "frame-ancestors": ["'none'"],
      // No form-action: after a form post the browser follows Hydra's redirects to the client's
      // redirect URI, and Chrome applies form-action to that whole chain.
    },
  },
  // No page of this app tells another site its URL (which may carry a challenge).
  referrerPolicy: { policy: "no-referrer" },
};
