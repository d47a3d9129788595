// The one module that talks to Ory Hydra's admin API. Everything else calls these functions.
// Hydra's errors become AppErrors: unknown/expired challenge → 404, already handled → 410
// (with Hydra's redirect_to), Hydra unreachable or failing → 503.
//
// The calls go through undici's Pool (one keep-alive pool per Hydra origin, shared by every
// createHydra of the process) with the same methods, paths, query parameters and JSON bodies as
// @ory/hydra-client's generated OAuth2Api, whose types are kept. (The generated client on axios
// cost about 0.5 ms of CPU per call, 2–3.5 ms per authorization-code flow.)
import { Pool } from "undici";
import type {
  AcceptOAuth2ConsentRequest,
  AcceptOAuth2LoginRequest,
  OAuth2Client,
  OAuth2ConsentRequest,
  OAuth2LoginRequest,
  OAuth2LogoutRequest,
  IntrospectedOAuth2Token,
  OAuth2RedirectTo,
} from "@ory/hydra-client";
import { AppError, UnavailableError } from "../errors";
import { msg } from "../i18n";

export type { OAuth2Client, OAuth2ConsentRequest, OAuth2LoginRequest, OAuth2LogoutRequest, IntrospectedOAuth2Token };

export type FlowKind = "login" | "consent" | "logout";

/** Hydra said the request was already handled; it tells where the browser should go. */
export class FlowAlreadyHandledError extends AppError {
  constructor(public readonly redirectTo: string | undefined) {
    super(410, "challenge_used", msg("errors:challengeUsed.message"), { title: msg("errors:challengeUsed.title") });
  }
}

export interface Hydra {
  getLoginRequest(challenge: string): Promise<OAuth2LoginRequest>;
  acceptLogin(challenge: string, body: AcceptOAuth2LoginRequest): Promise<string>;
  getConsentRequest(challenge: string): Promise<OAuth2ConsentRequest>;
  acceptConsent(challenge: string, body: AcceptOAuth2ConsentRequest): Promise<string>;
  rejectConsent(challenge: string, error: string, description: string): Promise<string>;
  getLogoutRequest(challenge: string): Promise<OAuth2LogoutRequest>;
  acceptLogout(challenge: string): Promise<string>;
  rejectLogout(challenge: string): Promise<void>;
  getClient(id: string): Promise<OAuth2Client | undefined>;
  createClient(client: OAuth2Client): Promise<OAuth2Client>;
  setClient(id: string, client: OAuth2Client): Promise<OAuth2Client>;
  listClients(): Promise<OAuth2Client[]>;
  deleteClient(id: string): Promise<void>;
  introspect(token: string, scope?: string): Promise<IntrospectedOAuth2Token>;
  revokeConsentSessions(subject: string, clientId?: string): Promise<void>;
  /** Ends every Hydra login session (remembered browsers) of the subject. */
  revokeLoginSessions(subject: string): Promise<void>;
  /** Ends one login session (one browser's "remember me" at Hydra), by its session id (sid). */
  revokeLoginSession(sid: string): Promise<void>;
  isReady(): Promise<boolean>;
  /**
   * Exchanges an authorization code at Hydra's public token endpoint (the app as an OAuth client:
   * /account's own sign-in). Needs `publicUrl`. Returns the token response.
   */
  exchangeCode(p: { clientId: string; code: string; redirectUri: string; codeVerifier: string }): Promise<TokenResponse>;
}

export interface TokenResponse {
  access_token: string;
  id_token?: string;
  scope?: string;
  token_type: string;
  expires_in: number;
}

/** Hydra answered with a status outside 2xx. `body` is the parsed JSON answer (or its text). */
class HydraHttpError extends Error {
  constructor(
    public readonly status: number,
    public readonly body: unknown,
    public readonly headers: Record<string, string | string[] | undefined>,
    method: string,
    path: string,
  ) {
    // The path without its query: challenges and tokens stay out of messages (and so of logs).
    super(`Hydra answered ${status} to ${method} ${path.split("?", 1)[0]}`);
    this.name = "HydraHttpError";
  }
}

type Method = "GET" | "PUT" | "POST" | "DELETE";

interface Answer<T> {
  data: T;
  headers: Record<string, string | string[] | undefined>;
}

/** One keep-alive pool per Hydra origin (and timeout), shared by every createHydra of the process. */
const pools = new Map<string, Pool>();

function poolFor(origin: string, timeoutMs: number): Pool {
  const key = `${timeoutMs} ${origin}`;
  let pool = pools.get(key);
  if (!pool) {
    // The timeout bounds connecting, waiting for the answer's headers and each wait for its body.
    // Idle sockets are unref'd by undici: an idle pool does not keep the process alive.
    pool = new Pool(origin, { connect: { timeout: timeoutMs }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    pools.set(key, pool);
  }
  return pool;
}

/** A base URL (possibly with a path prefix) as a pool and the prefix for request paths. */
function endpoint(baseUrl: string, timeoutMs: number): { pool: Pool; prefix: string } {
  const url = new URL(baseUrl);
  return { pool: poolFor(url.origin, timeoutMs), prefix: url.pathname.replace(/\/+$/, "") };
}

const JSON_HEADERS = { accept: "application/json", "content-type": "application/json" };
const ACCEPT_JSON = { accept: "application/json" };
const FORM_HEADERS = { accept: "application/json", "content-type": "application/x-www-form-urlencoded" };

function parse(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * One HTTP exchange. 2xx → the parsed answer; another status → HydraHttpError; a failure to connect,
 * a timeout or a broken answer → the transport's error (translate() makes that a 503).
 */
async function send<T>(
  pool: Pool,
  method: Method,
  path: string,
  body?: string,
  headers: Record<string, string> = body === undefined ? ACCEPT_JSON : JSON_HEADERS,
): Promise<Answer<T>> {
  const res = await pool.request({ method, path, headers, body });
  const text = await res.body.text();
  if (res.statusCode < 200 || res.statusCode > 299) throw new HydraHttpError(res.statusCode, parse(text), res.headers, method, path);
  return { data: (text === "" ? undefined : JSON.parse(text)) as T, headers: res.headers };
}

const query = (params: Record<string, string>) => new URLSearchParams(params).toString();

export function createHydra(opts: { adminUrl: string; timeoutMs: number; publicUrl?: string }): Hydra {
  const admin = endpoint(opts.adminUrl, opts.timeoutMs);
  const pub = opts.publicUrl ? endpoint(opts.publicUrl, opts.timeoutMs) : undefined;
  const req = <T>(method: Method, path: string, body?: unknown) =>
    send<T>(admin.pool, method, admin.prefix + path, body === undefined ? undefined : JSON.stringify(body));

  async function call<T>(flow: FlowKind | "admin", method: Method, path: string, body?: unknown): Promise<T> {
    try {
      return (await req<T>(method, path, body)).data;
    } catch (err) {
      throw translate(err, flow);
    }
  }
  const redirect = async (flow: FlowKind, method: Method, path: string, body?: unknown) =>
    (await call<OAuth2RedirectTo>(flow, method, path, body)).redirect_to;

  const LOGIN = "/admin/oauth2/auth/requests/login";
  const CONSENT = "/admin/oauth2/auth/requests/consent";
  const LOGOUT = "/admin/oauth2/auth/requests/logout";
  const clientPath = (id: string) => `/admin/clients/${encodeURIComponent(id)}`;

  return {
    getLoginRequest: (challenge) => call("login", "GET", `${LOGIN}?${query({ login_challenge: challenge })}`),
    acceptLogin: (challenge, body) => redirect("login", "PUT", `${LOGIN}/accept?${query({ login_challenge: challenge })}`, body),
    getConsentRequest: (challenge) => call("consent", "GET", `${CONSENT}?${query({ consent_challenge: challenge })}`),
    acceptConsent: (challenge, body) => redirect("consent", "PUT", `${CONSENT}/accept?${query({ consent_challenge: challenge })}`, body),
    rejectConsent: (challenge, error, description) =>
      redirect("consent", "PUT", `${CONSENT}/reject?${query({ consent_challenge: challenge })}`, { error, error_description: description }),
    getLogoutRequest: (challenge) => call("logout", "GET", `${LOGOUT}?${query({ logout_challenge: challenge })}`),
    acceptLogout: (challenge) => redirect("logout", "PUT", `${LOGOUT}/accept?${query({ logout_challenge: challenge })}`),
    rejectLogout: async (challenge) => {
      await call("logout", "PUT", `${LOGOUT}/reject?${query({ logout_challenge: challenge })}`);
    },
    getClient: async (id) => {
      try {
        return (await req<OAuth2Client>("GET", clientPath(id))).data;
      } catch (err) {
        if (err instanceof HydraHttpError && err.status === 404) return undefined;
        throw translate(err, "admin");
      }
    },
    createClient: (client) => call("admin", "POST", "/admin/clients", client),
    setClient: (id, client) => call("admin", "PUT", clientPath(id), client),
    listClients: async () => {
      const all: OAuth2Client[] = [];
      let pageToken: string | undefined;
      for (;;) {
        let res: Answer<OAuth2Client[]>;
        try {
          res = await req<OAuth2Client[]>("GET", `/admin/clients?${query(pageToken === undefined ? { page_size: "500" } : { page_size: "500", page_token: pageToken })}`);
        } catch (err) {
          throw translate(err, "admin");
        }
        all.push(...res.data);
        const link = res.headers.link;
        const next = /<[^>]*[?&]page_token=([^&>]+)[^>]*>;\s*rel="next"/.exec(Array.isArray(link) ? link.join(", ") : String(link ?? ""));
        if (!next || res.data.length === 0) return all;
        pageToken = decodeURIComponent(next[1]!);
      }
    },
    deleteClient: async (id) => {
      await call("admin", "DELETE", clientPath(id));
    },
    introspect: async (token, scope) => {
      // The generated client's form: scope (when given), then token.
      const form = new URLSearchParams();
      if (scope !== undefined) form.set("scope", scope);
      form.set("token", token);
      try {
        return (await send<IntrospectedOAuth2Token>(admin.pool, "POST", `${admin.prefix}/admin/oauth2/introspect`, form.toString(), FORM_HEADERS)).data;
      } catch (err) {
        throw translate(err, "admin");
      }
    },
    revokeConsentSessions: async (subject, clientId) => {
      const q = clientId ? query({ subject, client: clientId }) : query({ subject, all: "true" });
      await call("admin", "DELETE", `/admin/oauth2/auth/sessions/consent?${q}`);
    },
    revokeLoginSessions: async (subject) => {
      await call("admin", "DELETE", `/admin/oauth2/auth/sessions/login?${query({ subject })}`);
    },
    revokeLoginSession: async (sid) => {
      await call("admin", "DELETE", `/admin/oauth2/auth/sessions/login?${query({ sid })}`);
    },
    exchangeCode: async ({ clientId, code, redirectUri, codeVerifier }) => {
      if (!pub) throw new Error("createHydra: publicUrl is needed to exchange codes");
      const form = query({ grant_type: "authorization_code", code, redirect_uri: redirectUri, client_id: clientId, code_verifier: codeVerifier });
      try {
        return (await send<TokenResponse>(pub.pool, "POST", `${pub.prefix}/oauth2/token`, form, FORM_HEADERS)).data;
      } catch (err) {
        if (err instanceof HydraHttpError && err.status < 500) {
          const body = err.body as { error?: unknown; error_description?: unknown } | undefined;
          throw new AppError(400, "code_exchange_failed", msg("errors:codeExchangeFailed"), { cause: new Error(`token endpoint: ${String(body?.error)} ${String(body?.error_description ?? "")}`) });
        }
        throw translate(err, "admin");
      }
    },
    isReady: async () => {
      try {
        await req("GET", "/health/ready");
        return true;
      } catch {
        return false;
      }
    },
  };
}

function translate(err: unknown, flow: FlowKind | "admin"): Error {
  if (err instanceof AppError) return err;
  // Not an answer of Hydra: it could not be reached, timed out, or its answer broke off or was not JSON.
  if (!(err instanceof HydraHttpError)) return new UnavailableError("hydra", err);
  const status = err.status;
  // 5xx, and redirects (not followed: the admin API does not redirect, a proxy in front of it might).
  if (status >= 500 || status < 400) return new UnavailableError("hydra", err);
  if (flow !== "admin") {
    if (status === 410) {
      const redirectTo = (err.body as { redirect_to?: unknown } | undefined)?.redirect_to;
      return new FlowAlreadyHandledError(typeof redirectTo === "string" ? redirectTo : undefined);
    }
    if (status === 404 || status === 400) {
      return new AppError(404, "challenge_not_found", msg(`errors:challengeNotFound.${flow}`), { title: msg("errors:challengeNotFound.title"), cause: err });
    }
  }
  const body = err.body as { error_description?: unknown; error?: unknown } | undefined;
  const detail = typeof body?.error_description === "string" ? body.error_description : typeof body?.error === "string" ? body.error : err.message;
  return new AppError(status, "hydra_error", msg("errors:hydraRefused", { detail }), { cause: err });
}
