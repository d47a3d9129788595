// The one module that talks to Ory Hydra's admin API. Everything else calls these functions.
// Hydra's errors become AppErrors: unknown/expired challenge → 404, already handled → 410
// (with Hydra's redirect_to), Hydra unreachable or failing → 503.
import axios, { AxiosError } from "axios";
import {
  Configuration,
  OAuth2Api,
  MetadataApi,
  type AcceptOAuth2ConsentRequest,
  type AcceptOAuth2LoginRequest,
  type OAuth2Client,
  type OAuth2ConsentRequest,
  type OAuth2LoginRequest,
  type OAuth2LogoutRequest,
  type IntrospectedOAuth2Token,
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

export function createHydra(opts: { adminUrl: string; timeoutMs: number; publicUrl?: string }): Hydra {
  const http = axios.create({ timeout: opts.timeoutMs });
  const config = new Configuration({ basePath: opts.adminUrl });
  const api = new OAuth2Api(config, opts.adminUrl, http);
  const metadata = new MetadataApi(config, opts.adminUrl, http);

  async function call<T>(flow: FlowKind | "admin", fn: () => Promise<{ data: T }>): Promise<T> {
    try {
      return (await fn()).data;
    } catch (err) {
      throw translate(err, flow);
    }
  }

  return {
    getLoginRequest: (challenge) => call("login", () => api.getOAuth2LoginRequest({ loginChallenge: challenge })),
    acceptLogin: async (challenge, body) =>
      (await call("login", () => api.acceptOAuth2LoginRequest({ loginChallenge: challenge, acceptOAuth2LoginRequest: body }))).redirect_to,
    getConsentRequest: (challenge) => call("consent", () => api.getOAuth2ConsentRequest({ consentChallenge: challenge })),
    acceptConsent: async (challenge, body) =>
      (await call("consent", () => api.acceptOAuth2ConsentRequest({ consentChallenge: challenge, acceptOAuth2ConsentRequest: body }))).redirect_to,
    rejectConsent: async (challenge, error, description) =>
      (await call("consent", () =>
        api.rejectOAuth2ConsentRequest({ consentChallenge: challenge, rejectOAuth2Request: { error, error_description: description } }),
      )).redirect_to,
    getLogoutRequest: (challenge) => call("logout", () => api.getOAuth2LogoutRequest({ logoutChallenge: challenge })),
    acceptLogout: async (challenge) =>
      (await call("logout", () => api.acceptOAuth2LogoutRequest({ logoutChallenge: challenge }))).redirect_to,
    rejectLogout: async (challenge) => {
      await call("logout", () => api.rejectOAuth2LogoutRequest({ logoutChallenge: challenge }));
    },
    getClient: async (id) => {
      try {
        return (await api.getOAuth2Client({ id })).data;
      } catch (err) {
        if (err instanceof AxiosError && err.response?.status === 404) return undefined;
        throw translate(err, "admin");
      }
    },
    createClient: (client) => call("admin", () => api.createOAuth2Client({ oAuth2Client: client })),
    setClient: (id, client) => call("admin", () => api.setOAuth2Client({ id, oAuth2Client: client })),
    listClients: async () => {
      const all: OAuth2Client[] = [];
      let pageToken: string | undefined;
      for (;;) {
        let res;
        try {
          res = await api.listOAuth2Clients({ pageSize: 500, pageToken });
        } catch (err) {
          throw translate(err, "admin");
        }
        all.push(...res.data);
        const next = /<[^>]*[?&]page_token=([^&>]+)[^>]*>;\s*rel="next"/.exec(String(res.headers?.link ?? ""));
        if (!next || res.data.length === 0) return all;
        pageToken = decodeURIComponent(next[1]!);
      }
    },
    deleteClient: async (id) => {
      await call("admin", () => api.deleteOAuth2Client({ id }));
    },
    introspect: (token, scope) => call("admin", () => api.introspectOAuth2Token({ token, scope })),
    revokeConsentSessions: async (subject, clientId) => {
      await call("admin", () =>
        api.revokeOAuth2ConsentSessions(clientId ? { subject, client: clientId } : { subject, all: true }),
      );
    },
    revokeLoginSessions: async (subject) => {
      await call("admin", () => api.revokeOAuth2LoginSessions({ subject }));
    },
    revokeLoginSession: async (sid) => {
      await call("admin", () => api.revokeOAuth2LoginSessions({ sid }));
    },
    exchangeCode: async ({ clientId, code, redirectUri, codeVerifier }) => {
      if (!opts.publicUrl) throw new Error("createHydra: publicUrl is needed to exchange codes");
      try {
        const res = await http.post<TokenResponse>(
          `${opts.publicUrl}/oauth2/token`,
          new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: redirectUri, client_id: clientId, code_verifier: codeVerifier }),
          { headers: { accept: "application/json" } },
        );
        return res.data;
      } catch (err) {
        if (err instanceof AxiosError && err.response && err.response.status < 500) {
          const body = err.response.data as { error?: unknown; error_description?: unknown } | undefined;
          throw new AppError(400, "code_exchange_failed", msg("errors:codeExchangeFailed"), { cause: new Error(`token endpoint: ${String(body?.error)} ${String(body?.error_description ?? "")}`) });
        }
        throw translate(err, "admin");
      }
    },
    isReady: async () => {
      try {
        await metadata.isReady();
        return true;
      } catch {
        return false;
      }
    },
  };
}


function translate(err: unknown, flow: FlowKind | "admin"): Error {
  if (!(err instanceof AxiosError)) return err instanceof Error ? err : new Error(String(err));
  const status = err.response?.status;
  if (status === undefined || status >= 500) return new UnavailableError("hydra", err);
  if (flow !== "admin") {
    if (status === 410) {
      const redirectTo = (err.response?.data as { redirect_to?: unknown } | undefined)?.redirect_to;
      return new FlowAlreadyHandledError(typeof redirectTo === "string" ? redirectTo : undefined);
    }
    if (status === 404 || status === 400) {
      return new AppError(404, "challenge_not_found", msg(`errors:challengeNotFound.${flow}`), { title: msg("errors:challengeNotFound.title"), cause: err });
    }
  }
  const body = err.response?.data as { error_description?: unknown; error?: unknown } | undefined;
  const detail = typeof body?.error_description === "string" ? body.error_description : typeof body?.error === "string" ? body.error : err.message;
  return new AppError(status, "hydra_error", msg("errors:hydraRefused", { detail }), { cause: err });
}
