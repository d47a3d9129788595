// src/services/hydra.ts on undici, against a tiny local HTTP server (not Hydra; the flows against the
// real Hydra are in test/e2e): the requests it sends are the ones @ory/hydra-client's generated
// OAuth2Api sends, and transport failures, timeouts and statuses become the same AppErrors.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Configuration, MetadataApi, OAuth2Api } from "@ory/hydra-client";
import { createHydra, FlowAlreadyHandledError, type Hydra } from "../../src/services/hydra";
import { AppError, UnavailableError } from "../../src/errors";

jest.setTimeout(20_000);

interface Seen {
  method: string;
  url: string;
  contentType: string | undefined;
  body: string;
}
type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;

let server: http.Server;
let base: string;
let seen: Seen[] = [];
let handler: Handler;
const sockets = new Set<import("node:net").Socket>();

const json = (res: http.ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}) =>
  res.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify(value));

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (body += c));
    req.on("end", () => {
      seen.push({ method: req.method!, url: req.url!, contentType: req.headers["content-type"], body });
      handler(req, res, body);
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
beforeEach(() => {
  seen = [];
  handler = (_req, res) => json(res, 200, { redirect_to: "http://next" });
});

const CLIENT = { client_id: "c/1 x", client_name: "Client", redirect_uris: ["http://127.0.0.1:9/cb"], scope: "openid" };

/** Each operation, once through the new module and once through the generated client. */
const operations: [string, (h: Hydra) => Promise<unknown>, (api: OAuth2Api, meta: MetadataApi) => Promise<unknown>][] = [
  ["getLoginRequest", (h) => h.getLoginRequest("ch+a/b="), (a) => a.getOAuth2LoginRequest({ loginChallenge: "ch+a/b=" })],
  ["acceptLogin", (h) => h.acceptLogin("ch1", { subject: "u1", remember: true, remember_for: 3600, context: { a: 1 } }), (a) => a.acceptOAuth2LoginRequest({ loginChallenge: "ch1", acceptOAuth2LoginRequest: { subject: "u1", remember: true, remember_for: 3600, context: { a: 1 } } })],
  ["getConsentRequest", (h) => h.getConsentRequest("ch2"), (a) => a.getOAuth2ConsentRequest({ consentChallenge: "ch2" })],
  [
    "acceptConsent",
    (h) => h.acceptConsent("ch2", { grant_scope: ["openid"], grant_access_token_audience: ["x"], session: { id_token: { email: "a@b" } } }),
    (a) => a.acceptOAuth2ConsentRequest({ consentChallenge: "ch2", acceptOAuth2ConsentRequest: { grant_scope: ["openid"], grant_access_token_audience: ["x"], session: { id_token: { email: "a@b" } } } }),
  ],
  ["rejectConsent", (h) => h.rejectConsent("ch2", "access_denied", "no"), (a) => a.rejectOAuth2ConsentRequest({ consentChallenge: "ch2", rejectOAuth2Request: { error: "access_denied", error_description: "no" } })],
  ["getLogoutRequest", (h) => h.getLogoutRequest("ch3"), (a) => a.getOAuth2LogoutRequest({ logoutChallenge: "ch3" })],
  ["acceptLogout", (h) => h.acceptLogout("ch3"), (a) => a.acceptOAuth2LogoutRequest({ logoutChallenge: "ch3" })],
  ["rejectLogout", (h) => h.rejectLogout("ch3"), (a) => a.rejectOAuth2LogoutRequest({ logoutChallenge: "ch3" })],
  ["getClient", (h) => h.getClient("c/1 x"), (a) => a.getOAuth2Client({ id: "c/1 x" })],
  ["createClient", (h) => h.createClient(CLIENT), (a) => a.createOAuth2Client({ oAuth2Client: CLIENT })],
  ["setClient", (h) => h.setClient("c/1 x", CLIENT), (a) => a.setOAuth2Client({ id: "c/1 x", oAuth2Client: CLIENT })],
  ["deleteClient", (h) => h.deleteClient("c/1 x"), (a) => a.deleteOAuth2Client({ id: "c/1 x" })],
  ["introspect", (h) => h.introspect("tok en", "a b"), (a) => a.introspectOAuth2Token({ token: "tok en", scope: "a b" })],
  ["introspect without scope", (h) => h.introspect("tok"), (a) => a.introspectOAuth2Token({ token: "tok" })],
  ["revokeConsentSessions (all)", (h) => h.revokeConsentSessions("u 1"), (a) => a.revokeOAuth2ConsentSessions({ subject: "u 1", all: true })],
  ["revokeConsentSessions (client)", (h) => h.revokeConsentSessions("u1", "c1"), (a) => a.revokeOAuth2ConsentSessions({ subject: "u1", client: "c1" })],
  ["revokeLoginSessions", (h) => h.revokeLoginSessions("u1"), (a) => a.revokeOAuth2LoginSessions({ subject: "u1" })],
  ["revokeLoginSession", (h) => h.revokeLoginSession("sid-1"), (a) => a.revokeOAuth2LoginSessions({ sid: "sid-1" })],
  ["isReady", (h) => h.isReady(), (_a, m) => m.isReady()],
];

/** JSON bodies compared as values; without a body the content type is not compared (axios sends a form type for an empty PUT). */
const comparable = (s: Seen) =>
  s.body === "" ? { method: s.method, url: s.url } : { ...s, body: s.contentType === "application/json" ? JSON.parse(s.body) : s.body };

describe("the requests are the generated client's", () => {
  test.each(operations)("%s", async (_name, ours, generated) => {
    const config = new Configuration({ basePath: base });
    await generated(new OAuth2Api(config, base), new MetadataApi(config, base));
    const expected = seen.map(comparable);
    seen = [];
    await ours(createHydra({ adminUrl: base, timeoutMs: 2000 }));
    const actual = seen.map(comparable);
    expect(actual).toEqual(expected);
    expect(actual).toHaveLength(1);
  });

  test("listClients follows the Link header's next page like the generated client's page_token", async () => {
    handler = (req, res) => {
      const token = new URL(req.url!, base).searchParams.get("page_token");
      if (!token) return json(res, 200, [{ client_id: "a" }], { link: '</admin/clients?page_size=500&page_token=p%2B2>; rel="next"' });
      if (token === "p+2") return json(res, 200, [{ client_id: "b" }], { link: '</admin/clients?page_size=500&page_token=p3>; rel="next", </admin/clients?page_size=500>; rel="first"' });
      return json(res, 200, [{ client_id: "c" }], { link: '</admin/clients?page_size=500>; rel="first"' });
    };
    const clients = await createHydra({ adminUrl: base, timeoutMs: 2000 }).listClients();
    expect(clients.map((c) => c.client_id)).toEqual(["a", "b", "c"]);
    expect(seen.map((s) => s.url)).toEqual(["/admin/clients?page_size=500", "/admin/clients?page_size=500&page_token=p%2B2", "/admin/clients?page_size=500&page_token=p3"]);
  });

  test("a path prefix of the admin URL is kept", async () => {
    await createHydra({ adminUrl: `${base}/hydra/`, timeoutMs: 2000 }).getLoginRequest("x");
    expect(seen[0]!.url).toBe("/hydra/admin/oauth2/auth/requests/login?login_challenge=x");
  });

  test("exchangeCode posts the form to the public token endpoint", async () => {
    handler = (_req, res) => json(res, 200, { access_token: "at", token_type: "bearer", expires_in: 3600 });
    const tokens = await createHydra({ adminUrl: `${base}/admin-unused`, publicUrl: base, timeoutMs: 2000 }).exchangeCode({ clientId: "c1", code: "co de", redirectUri: "http://x/cb?a=1", codeVerifier: "v" });
    expect(tokens).toEqual({ access_token: "at", token_type: "bearer", expires_in: 3600 });
    expect(seen).toEqual([
      {
        method: "POST",
        url: "/oauth2/token",
        contentType: "application/x-www-form-urlencoded",
        body: new URLSearchParams({ grant_type: "authorization_code", code: "co de", redirect_uri: "http://x/cb?a=1", client_id: "c1", code_verifier: "v" }).toString(),
      },
    ]);
  });
});

describe("Hydra's answers become AppErrors", () => {
  const hydra = () => createHydra({ adminUrl: base, publicUrl: base, timeoutMs: 500 });
  const answer = (status: number, body: unknown) => (handler = (_req, res) => json(res, status, body));

  test.each([404, 400])("%i for a challenge → 404 challenge_not_found", async (status) => {
    answer(status, { error: "Not Found", error_description: "Unable to locate the resource" });
    for (const call of [(h: Hydra) => h.getLoginRequest("x"), (h: Hydra) => h.acceptConsent("x", {}), (h: Hydra) => h.getLogoutRequest("x")]) {
      const err = await call(hydra()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AppError);
      expect(err).toMatchObject({ status: 404, code: "challenge_not_found" });
    }
  });

  test("410 → FlowAlreadyHandledError with Hydra's redirect_to", async () => {
    answer(410, { redirect_to: "http://hydra/oauth2/auth?login_verifier=v" });
    const err = await hydra().acceptLogin("x", { subject: "s" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FlowAlreadyHandledError);
    expect(err).toMatchObject({ status: 410, code: "challenge_used", redirectTo: "http://hydra/oauth2/auth?login_verifier=v" });
  });

  test("another 4xx → AppError(status, hydra_error) naming Hydra's error; an admin 404 is not a challenge", async () => {
    answer(409, { error: "conflict", error_description: "Unable to insert or update resource because a resource with that value exists already" });
    await expect(hydra().createClient(CLIENT)).rejects.toMatchObject({ status: 409, code: "hydra_error", message: expect.stringContaining("exists already") });
    answer(404, { error: "Not Found" });
    await expect(hydra().deleteClient("x")).rejects.toMatchObject({ status: 404, code: "hydra_error" });
  });

  test("getClient: 404 → undefined, 5xx → 503", async () => {
    answer(404, { error: "Not Found" });
    expect(await hydra().getClient("nope")).toBeUndefined();
    answer(500, { error: "boom" });
    await expect(hydra().getClient("x")).rejects.toBeInstanceOf(UnavailableError);
  });

  test.each([500, 502, 503])("%i → UnavailableError(hydra)", async (status) => {
    handler = (_req, res) => res.writeHead(status, { "content-type": "text/plain" }).end("injected failure");
    await expect(hydra().getLoginRequest("x")).rejects.toBeInstanceOf(UnavailableError);
    await expect(hydra().introspect("t")).rejects.toMatchObject({ status: 503, code: "service_unavailable" });
  });

  test("a 2xx that is not JSON → 503", async () => {
    handler = (_req, res) => res.writeHead(200, { "content-type": "text/html" }).end("<html>proxy</html>");
    await expect(hydra().getConsentRequest("x")).rejects.toBeInstanceOf(UnavailableError);
  });

  test("no answer within timeoutMs → 503 soon after the timeout", async () => {
    handler = () => undefined; // never answers
    const started = Date.now();
    await expect(hydra().getLoginRequest("x")).rejects.toBeInstanceOf(UnavailableError);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(450);
    expect(elapsed).toBeLessThan(1500);
  });

  test("an answer whose body stalls beyond timeoutMs → 503", async () => {
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "application/json", "content-length": "100" });
      res.write('{"challenge":');
    };
    const started = Date.now();
    await expect(hydra().getLoginRequest("x")).rejects.toBeInstanceOf(UnavailableError);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  test("a connection cut mid-answer → 503", async () => {
    handler = (req, res) => {
      res.writeHead(200, { "content-type": "application/json", "content-length": "100" });
      res.write("{");
      setTimeout(() => req.socket.destroy(), 10);
    };
    await expect(hydra().getLoginRequest("x")).rejects.toBeInstanceOf(UnavailableError);
  });

  test("Hydra unreachable → 503; isReady false", async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const gone = createHydra({ adminUrl: `http://127.0.0.1:${port}`, timeoutMs: 500 });
    await expect(gone.getLoginRequest("x")).rejects.toBeInstanceOf(UnavailableError);
    await expect(gone.listClients()).rejects.toBeInstanceOf(UnavailableError);
    expect(await gone.isReady()).toBe(false);
  });

  test("isReady: 200 → true, 503 → false", async () => {
    answer(200, { status: "ok" });
    expect(await hydra().isReady()).toBe(true);
    answer(503, { errors: { database: "down" } });
    expect(await hydra().isReady()).toBe(false);
  });

  test("exchangeCode: a 4xx from the token endpoint → 400 code_exchange_failed; a 5xx → 503", async () => {
    const p = { clientId: "c", code: "x", redirectUri: "http://x/cb", codeVerifier: "v" };
    answer(400, { error: "invalid_grant", error_description: "The code was already used" });
    const err = (await hydra().exchangeCode(p).catch((e: unknown) => e)) as AppError;
    expect(err).toMatchObject({ status: 400, code: "code_exchange_failed" });
    expect(String((err.cause as Error).message)).toContain("invalid_grant");
    answer(502, {});
    await expect(hydra().exchangeCode(p)).rejects.toBeInstanceOf(UnavailableError);
    await expect(createHydra({ adminUrl: base, timeoutMs: 500 }).exchangeCode(p)).rejects.toThrow(/publicUrl/);
  });

  test("messages name the path, never the challenge", async () => {
    answer(409, {});
    const err = (await hydra().acceptLogin("secret-challenge", { subject: "s" }).catch((e: unknown) => e)) as AppError;
    expect(String((err.cause as Error).message)).toBe("Hydra answered 409 to PUT /admin/oauth2/auth/requests/login/accept");
  });
});
