// Express middleware for resource servers (app teams' APIs): introspects the bearer token at
// Hydra's admin API and requires (1) active, (2) the service's audience in `aud`, (3) the required
// scopes. Otherwise 401/403 with a WWW-Authenticate header (RFC 6750); Hydra unreachable → 503.
//
//   import { requireToken } from "hydra-audience-login";   // or "./src/resource-server/require-token"
//   app.use("/api", requireToken({ hydraAdminUrl: "http://127.0.0.1:4445", audience: "org.example.registration", scopes: ["registration.read"] }));
//   app.get("/api/me", (req, res) => res.json(res.locals.auth));
import { createHash } from "node:crypto";
import type { Request, RequestHandler } from "express";
import { createHydra, type Hydra } from "../services/hydra";
import { judgeToken, wwwAuthenticate, type Introspection } from "./judge";

export interface RequireTokenOptions {
  /** Hydra's admin API base URL (or pass `hydra`). */
  hydraAdminUrl?: string;
  hydra?: Pick<Hydra, "introspect">;
  /** This service's audience identifier: it must appear in the token's `aud`. */
  audience: string;
  /** Scopes the token must carry (all of them). */
  scopes?: string[];
  /** realm in WWW-Authenticate; defaults to the audience. */
  realm?: string;
  timeoutMs?: number;
  /**
   * Optional cache of positive introspection results. An entry lives at most `ttlSeconds` and never
   * beyond the token's own expiry; a token revoked meanwhile is accepted until its entry expires,
   * so keep the TTL short. `maxEntries` bounds memory (oldest evicted first).
   */
  cache?: { ttlSeconds: number; maxEntries?: number };
  /** Clock (seconds), for tests. */
  now?: () => number;
}

/** What the middleware puts into res.locals.auth for the route handlers. */
export interface TokenAuth {
  subject: string | undefined;
  clientId: string | undefined;
  scopes: string[];
  audience: string[];
  expiresAt: number | undefined;
}

class IntrospectionCache {
  private readonly entries = new Map<string, { info: Introspection; until: number }>();
  constructor(private readonly ttlSeconds: number, private readonly maxEntries: number) {}
  private key(token: string) {
    return createHash("sha256").update(token).digest("base64url");
  }
  get(token: string, now: number): Introspection | undefined {
    const k = this.key(token);
    const e = this.entries.get(k);
    if (!e) return undefined;
    if (e.until <= now) {
      this.entries.delete(k);
      return undefined;
    }
    return e.info;
  }
  set(token: string, info: Introspection, now: number): void {
    if (!info.active) return;
    const until = Math.min(now + this.ttlSeconds, info.exp ?? Number.POSITIVE_INFINITY);
    if (until <= now) return;
    const k = this.key(token);
    this.entries.delete(k);
    this.entries.set(k, { info, until });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }
}

function bearerToken(req: Request): string | null | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const m = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
  return m ? m[1]! : null;
}

export function requireToken(options: RequireTokenOptions): RequestHandler {
  if (!options.audience) throw new Error("requireToken: audience is required");
  const hydra = options.hydra ?? (options.hydraAdminUrl ? createHydra({ adminUrl: options.hydraAdminUrl, timeoutMs: options.timeoutMs ?? 5000 }) : undefined);
  if (!hydra) throw new Error("requireToken: pass hydraAdminUrl or hydra");
  const scopes = options.scopes ?? [];
  const realm = options.realm ?? options.audience;
  const now = options.now ?? (() => Date.now() / 1000);
  const cache = options.cache ? new IntrospectionCache(options.cache.ttlSeconds, options.cache.maxEntries ?? 10_000) : undefined;

  return async (req, res, next) => {
    const token = bearerToken(req);
    if (token === undefined) {
      res.set("WWW-Authenticate", wwwAuthenticate(realm));
      return void res.status(401).json({ error: "invalid_token", error_description: "A bearer access token is required." });
    }
    if (token === null) {
      res.set("WWW-Authenticate", wwwAuthenticate(realm, { error: "invalid_request", description: "Malformed Authorization header." }));
      return void res.status(400).json({ error: "invalid_request", error_description: "Malformed Authorization header." });
    }
    let info: Introspection | undefined = cache?.get(token, now());
    if (!info) {
      try {
        info = (await hydra.introspect(token)) as Introspection;
      } catch {
        res.set("Retry-After", "5");
        return void res.status(503).json({ error: "temporarily_unavailable", error_description: "The token could not be checked right now." });
      }
      cache?.set(token, info, now());
    }
    const verdict = judgeToken(info, { audience: options.audience, scopes, nowSeconds: now() });
    if (!verdict.ok) {
      res.set("WWW-Authenticate", wwwAuthenticate(realm, verdict, scopes));
      return void res.status(verdict.status).json({ error: verdict.error, error_description: verdict.description });
    }
    const auth: TokenAuth = { subject: info.sub, clientId: info.client_id, scopes: verdict.scopes, audience: info.aud ?? [], expiresAt: info.exp };
    res.locals.auth = auth;
    next();
  };
}
