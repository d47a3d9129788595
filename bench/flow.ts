// One full OAuth 2.0 authorization-code flow with PKCE, the way a browser and a web client drive it:
// Hydra's /oauth2/auth, the redirects, the login and consent pages with their forms (CSRF fields
// included), the callback, and the client's token exchange. Every request is timed and labelled.
import { createHash, randomBytes } from "node:crypto";
import type http from "node:http";
import { findForm, httpRequest, type HttpResponse, type Jar } from "./http";

export type Scenario = "first-time" | "returning" | "remembered";
export const SCENARIOS: Scenario[] = ["first-time", "returning", "remembered"];

/** The four steps a person waits for (see bench/README.md for what each one contains). */
export type Step = "login" | "loginPost" | "consent" | "token";
export const STEPS: Step[] = ["login", "loginPost", "consent", "token"];
export const STEP_TITLES: Record<Step, string> = {
  login: "authorize→login page",
  loginPost: "login POST",
  consent: "consent",
  token: "callback+token",
};

/** Labels of single requests. */
export type RequestLabel =
  | "hydra /oauth2/auth"
  | "app GET /login"
  | "app POST /login"
  | "hydra login_verifier"
  | "app GET /consent"
  | "app POST /consent"
  | "hydra consent_verifier"
  | "hydra /oauth2/token"
  | "other";

export interface Target {
  appUrl: string;
  hydraPublicUrl: string;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  scope: string;
}

export interface FlowInput {
  target: Target;
  jar: Jar;
  agent: http.Agent;
  email: string;
  password: string;
  remember: boolean;
  /** Called around every request (the query capture attributes the app's queries to requests). */
  onRequest?: (label: RequestLabel, start: number, end: number) => void;
}

export interface FlowResult {
  /** Milliseconds per request, in order. */
  requests: [RequestLabel, number][];
  steps: Partial<Record<Step, number>>;
  loginForm: boolean;
  consentPage: boolean;
  total: number;
}

const now = () => performance.now();

function label(url: URL, target: Target, method: string): RequestLabel {
  if (url.origin === new URL(target.appUrl).origin) {
    if (url.pathname === "/login") return method === "POST" ? "app POST /login" : "app GET /login";
    if (url.pathname === "/consent") return method === "POST" ? "app POST /consent" : "app GET /consent";
    return "other";
  }
  if (url.pathname === "/oauth2/auth") {
    if (url.searchParams.has("login_verifier")) return "hydra login_verifier";
    if (url.searchParams.has("consent_verifier")) return "hydra consent_verifier";
    return "hydra /oauth2/auth";
  }
  if (url.pathname === "/oauth2/token") return "hydra /oauth2/token";
  return "other";
}

function excerpt(res: HttpResponse): string {
  const title = /<title>([^<]*)<\/title>/i.exec(res.body)?.[1];
  const err = /class="error"[^>]*>([^<]*)</i.exec(res.body)?.[1];
  return [title, err].filter(Boolean).join(" — ") || res.body.slice(0, 300).replace(/\s+/g, " ");
}

/** Runs one flow; throws with a short reason when it does not end with tokens. */
export async function runFlow(input: FlowInput): Promise<FlowResult> {
  const { target, jar, agent } = input;
  const requests: [RequestLabel, number][] = [];
  const verifier = randomBytes(32).toString("base64url");
  const state = randomBytes(12).toString("hex");
  const auth = new URL(`${target.hydraPublicUrl}/oauth2/auth`);
  auth.search = new URLSearchParams({
    client_id: target.clientId,
    response_type: "code",
    redirect_uri: target.redirectUri,
    scope: target.scope,
    state,
    nonce: randomBytes(12).toString("hex"),
    code_challenge: createHash("sha256").update(verifier).digest("base64url"),
    code_challenge_method: "S256",
  }).toString();

  async function send(method: "GET" | "POST", url: URL, body?: string, extraHeaders: Record<string, string> = {}): Promise<HttpResponse> {
    const headers: Record<string, string> = { accept: "text/html", "user-agent": "bench", ...extraHeaders };
    const cookie = jar.header(url);
    if (cookie) headers.cookie = cookie;
    if (body !== undefined && !headers["content-type"]) headers["content-type"] = "application/x-www-form-urlencoded";
    const l = label(url, target, method);
    const t0 = now();
    const res = await httpRequest(agent, method, url, headers, body);
    const t1 = now();
    requests.push([l, t1 - t0]);
    input.onRequest?.(l, t0, t1);
    const sc = res.headers["set-cookie"];
    jar.store(url, Array.isArray(sc) ? sc : sc ? [sc] : undefined);
    return res;
  }

  const t0 = now();
  let url = auth;
  let res = await send("GET", url);
  let loginForm = false;
  let consentPage = false;
  let callback: URL | undefined;
  for (let hops = 0; ; hops++) {
    if (hops > 30) throw new Error("too many redirects");
    if (res.status >= 300 && res.status < 400 && res.headers.location) {
      const next = new URL(res.headers.location, url);
      if (next.href.startsWith(target.redirectUri)) {
        callback = next;
        break;
      }
      url = next;
      res = await send("GET", url);
      continue;
    }
    if (res.status !== 200) throw new Error(`${res.status} at ${url.pathname}: ${excerpt(res)}`);
    const login = url.pathname === "/login" ? findForm(res.body, "login-form") : undefined;
    const consent = !login && url.pathname === "/consent" ? findForm(res.body, "consent-form") : undefined;
    const form = login ?? consent;
    if (!form) throw new Error(`unexpected page at ${url.pathname}: ${excerpt(res)}`);
    const body = new URLSearchParams(form.fields.filter(([k]) => k !== "email" && k !== "password" && k !== "remember"));
    if (login) {
      if (loginForm) throw new Error(`login form shown twice: ${excerpt(res)}`);
      loginForm = true;
      body.set("email", input.email);
      body.set("password", input.password);
      if (input.remember) body.set("remember", "on");
    } else {
      if (consentPage) throw new Error(`consent page shown twice: ${excerpt(res)}`);
      consentPage = true;
      body.set("decision", "allow");
    }
    const action = new URL(form.action || url.pathname, url);
    url = action;
    res = await send("POST", action, body.toString(), { origin: action.origin, referer: action.href });
  }

  const params = callback.searchParams;
  if (params.get("error")) throw new Error(`callback error: ${params.get("error")} ${params.get("error_description") ?? ""}`);
  if (params.get("state") !== state) throw new Error("state mismatch");
  const code = params.get("code");
  if (!code) throw new Error("no code in the callback");
  const tokenUrl = new URL(`${target.hydraPublicUrl}/oauth2/token`);
  const token = await send(
    "POST",
    tokenUrl,
    new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: target.redirectUri, code_verifier: verifier }).toString(),
    {
      accept: "application/json",
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(target.clientId)}:${encodeURIComponent(target.clientSecret)}`).toString("base64")}`,
    },
  );
  if (token.status !== 200 || !/"access_token"/.test(token.body)) throw new Error(`token endpoint answered ${token.status}: ${token.body.slice(0, 200)}`);
  const total = now() - t0;

  // Steps: what a person waits for after each action.
  const steps: Partial<Record<Step, number>> = {};
  const add = (s: Step, ms: number) => (steps[s] = (steps[s] ?? 0) + ms);
  const posted = requests.some(([l]) => l === "app POST /login");
  for (const [l, ms] of requests) {
    switch (l) {
      case "hydra /oauth2/auth":
      case "app GET /login":
        add("login", ms);
        break;
      case "app POST /login":
        add("loginPost", ms);
        break;
      case "hydra login_verifier":
        add(posted ? "loginPost" : "login", ms);
        break;
      case "app GET /consent":
      case "app POST /consent":
        add("consent", ms);
        break;
      case "hydra consent_verifier":
      case "hydra /oauth2/token":
        add("token", ms);
        break;
      default:
        break;
    }
  }
  return { requests, steps, loginForm, consentPage, total };
}

/** What each app shows in each scenario: the no-op shows no page at all. */
export function expectedPages(app: "app" | "noop" | "argon2", scenario: Scenario): { loginForm: boolean; consentPage: boolean } {
  if (app === "noop") return { loginForm: false, consentPage: false };
  if (scenario === "first-time") return { loginForm: true, consentPage: true };
  if (scenario === "returning") return { loginForm: true, consentPage: false };
  return { loginForm: false, consentPage: false };
}
