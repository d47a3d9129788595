// src/services/hydra.ts (undici) against the real Ory Hydra v2.3.0: each admin call of the login,
// consent and logout flows driven directly (the app only shows where the flow starts), Hydra's
// answers for unknown and already handled challenges, the clients' CRUD, introspection and the
// revocations, and the code exchange at the public token endpoint.
import { randomBytes } from "node:crypto";
import { Browser } from "../support/browser";
import { startStack, type Stack } from "../support/stack";
import { CALLBACK } from "../support/fixtures";
import { authorizationUrl, callbackParams, exchangeCode } from "../support/oauth";
import { createHydra, FlowAlreadyHandledError, type Hydra } from "../../src/services/hydra";
import { AppError } from "../../src/errors";
import type { ConfigFile } from "../../src/config/audiences";

jest.setTimeout(60_000);

let stack: Stack;
let hydra: Hydra;

beforeAll(async () => {
  stack = await startStack({
    config: {
      audiences: [{ id: "demo", name: "Demo App" }],
      clients: [
        { id: "demo-web", name: "Demo Web", audience: "demo", "secret-env": "DEMO_WEB_SECRET", "redirect-uris": [CALLBACK], scopes: ["openid", "profile"] },
        { id: "demo-spa", name: "Demo SPA", audience: "demo", "redirect-uris": [CALLBACK], scopes: ["openid"] },
      ],
    } as ConfigFile,
    mail: false,
  });
  hydra = createHydra({ adminUrl: stack.hydraAdminUrl, publicUrl: stack.hydraPublicUrl, timeoutMs: 5000 });
});
afterAll(async () => stack?.stop());

const caught = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e);

/** Starts an authorization at Hydra up to the app's login step (not fetched) and reads its challenge. */
async function loginChallenge(browser: Browser, clientId = "demo-web", codeVerifier?: string) {
  const start = { state: randomBytes(12).toString("hex"), nonce: randomBytes(12).toString("hex") };
  const page = await browser.get(authorizationUrl(stack, { clientId, redirectUri: CALLBACK, scope: "openid", codeVerifier, ...start }), { stopAt: [`${stack.appUrl}/login`] });
  const challenge = new URL(page.url).searchParams.get("login_challenge");
  expect(challenge).toBeTruthy();
  return { start, challenge: challenge! };
}

/** Follows Hydra's redirect_to up to the app's page for the next step (not fetched) and reads its challenge. */
async function nextChallenge(browser: Browser, redirectTo: string, step: "consent" | "logout"): Promise<string> {
  const page = await browser.get(redirectTo, { stopAt: [`${stack.appUrl}/${step}`] });
  const challenge = new URL(page.url).searchParams.get(`${step}_challenge`);
  expect(challenge).toBeTruthy();
  return challenge!;
}

// Hydra v2.3's login and consent challenges carry their flow and are not refused once used (the app
// records what it answered: src/flows/challenges.ts); its logout requests are: 410, see below.
test("login and consent: get and accept; the tokens introspected, then revoked with the consent sessions", async () => {
  const browser = new Browser();
  const subject = `subject-${randomBytes(4).toString("hex")}`;
  const { start, challenge } = await loginChallenge(browser);

  const login = await hydra.getLoginRequest(challenge);
  expect(login.challenge).toBe(challenge);
  expect(login.client.client_id).toBe("demo-web");
  expect(login.requested_scope).toEqual(["openid"]);
  expect(login.skip).toBe(false);

  const afterLogin = await hydra.acceptLogin(challenge, { subject, remember: true, remember_for: 3600 });
  expect(afterLogin.startsWith(`${stack.hydraPublicUrl}/oauth2/auth?`)).toBe(true);
  expect(new URL(afterLogin).searchParams.get("login_verifier")).toBeTruthy();

  const consentChallenge = await nextChallenge(browser, afterLogin, "consent");
  const consent = await hydra.getConsentRequest(consentChallenge);
  expect(consent.subject).toBe(subject);
  expect(consent.client?.client_id).toBe("demo-web");
  const afterConsent = await hydra.acceptConsent(consentChallenge, {
    grant_scope: ["openid"],
    grant_access_token_audience: consent.requested_access_token_audience ?? [],
    session: { id_token: { hello: "world" } },
  });
  expect(new URL(afterConsent).searchParams.get("consent_verifier")).toBeTruthy();

  const callback = await browser.get(afterConsent, { stopAt: [CALLBACK] });
  const code = callbackParams(callback, CALLBACK, start.state).get("code")!;
  const tokens = await exchangeCode(stack, { clientId: "demo-web", secret: stack.secrets.DEMO_WEB_SECRET!, code, redirectUri: CALLBACK });

  const info = await hydra.introspect(tokens.access_token);
  expect(info).toMatchObject({ active: true, sub: subject, client_id: "demo-web" });
  expect((await hydra.introspect(tokens.access_token, "profile")).active).toBe(false); // not granted
  expect((await hydra.introspect("not-a-token")).active).toBe(false);

  // Revoking the consent sessions of the subject for the client revokes its tokens.
  await hydra.revokeConsentSessions(subject, "demo-web");
  expect((await hydra.introspect(tokens.access_token)).active).toBe(false);
  await hydra.revokeConsentSessions(subject);
  await hydra.revokeLoginSessions(subject);
});

test("a rejected consent sends the browser back to the client with Hydra's error", async () => {
  const browser = new Browser();
  const { start, challenge } = await loginChallenge(browser);
  const consentChallenge = await nextChallenge(browser, await hydra.acceptLogin(challenge, { subject: "rejecting" }), "consent");
  const back = await hydra.rejectConsent(consentChallenge, "access_denied", "The user said no.");
  const callback = await browser.get(back, { stopAt: [CALLBACK] });
  const params = callbackParams(callback, CALLBACK, start.state);
  expect(params.get("error")).toBe("access_denied");
  expect(params.get("error_description")).toContain("The user said no.");
});

test("logout: get, accept (and 410 afterwards), reject; one login session ended by its sid", async () => {
  const subject = `logout-${randomBytes(4).toString("hex")}`;
  const signIn = async () => {
    const browser = new Browser();
    const { challenge } = await loginChallenge(browser);
    const consentChallenge = await nextChallenge(browser, await hydra.acceptLogin(challenge, { subject, remember: true, remember_for: 3600 }), "consent");
    await browser.get(await hydra.acceptConsent(consentChallenge, { grant_scope: ["openid"] }), { stopAt: [CALLBACK] });
    return browser;
  };

  const browser = await signIn();
  const logoutChallenge = await nextChallenge(browser, `${stack.hydraPublicUrl}/oauth2/sessions/logout`, "logout");
  const logout = await hydra.getLogoutRequest(logoutChallenge);
  expect(logout.subject).toBe(subject);
  expect(logout.sid).toBeTruthy();
  const done = await hydra.acceptLogout(logoutChallenge);
  expect(done).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/oauth2\/sessions\/logout\?logout_verifier=/);
  await browser.get(done, { stopAt: [`${stack.appUrl}/`] }); // Hydra ends the session and sends the browser on
  // Handled: 410, with Hydra's redirect_to (the logout request's URL).
  const used = await caught(hydra.getLogoutRequest(logoutChallenge));
  expect(used).toBeInstanceOf(FlowAlreadyHandledError);
  expect((used as FlowAlreadyHandledError).redirectTo).toBe("/oauth2/sessions/logout");

  const other = await signIn();
  const rejected = await nextChallenge(other, `${stack.hydraPublicUrl}/oauth2/sessions/logout`, "logout");
  const sid = (await hydra.getLogoutRequest(rejected)).sid!;
  await hydra.rejectLogout(rejected);
  // The remembered session is still there: a new authorization skips the login...
  const again = await hydra.getLoginRequest((await loginChallenge(other)).challenge);
  expect(again.skip).toBe(true);
  // ...until that one session is ended by its sid.
  await hydra.revokeLoginSession(sid);
  expect((await hydra.getLoginRequest((await loginChallenge(other)).challenge)).skip).toBe(false);
});

test("unknown challenges are 404 challenge_not_found for each flow", async () => {
  const unknown = `unknown-${randomBytes(8).toString("hex")}`;
  for (const call of [
    () => hydra.getLoginRequest(unknown),
    () => hydra.acceptLogin(unknown, { subject: "x" }),
    () => hydra.getConsentRequest(unknown),
    () => hydra.acceptConsent(unknown, {}),
    () => hydra.rejectConsent(unknown, "access_denied", "no"),
    () => hydra.getLogoutRequest(unknown),
    () => hydra.acceptLogout(unknown),
  ]) {
    const err = await caught(call());
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ status: 404, code: "challenge_not_found" });
  }
});

test("clients: create, get, set, list, delete; an unknown client is undefined; a taken id is Hydra's 409", async () => {
  const id = `client-${randomBytes(4).toString("hex")}`;
  const created = await hydra.createClient({ client_id: id, client_name: "Made here", redirect_uris: [CALLBACK], scope: "openid", token_endpoint_auth_method: "none" });
  expect(created.client_id).toBe(id);
  expect((await hydra.getClient(id))?.client_name).toBe("Made here");

  const taken = await caught(hydra.createClient({ client_id: id, token_endpoint_auth_method: "none" }));
  expect(taken).toMatchObject({ status: 409, code: "hydra_error" });

  const updated = await hydra.setClient(id, { ...created, client_name: "Renamed" });
  expect(updated.client_name).toBe("Renamed");
  const all = await hydra.listClients();
  expect(all.map((c) => c.client_id)).toEqual(expect.arrayContaining(["demo-web", "demo-spa", id]));
  expect(all.find((c) => c.client_id === id)?.client_name).toBe("Renamed");

  await hydra.deleteClient(id);
  expect(await hydra.getClient(id)).toBeUndefined();
  expect(await caught(hydra.deleteClient(id))).toMatchObject({ status: 404, code: "hydra_error" });
});

test("exchangeCode at the public token endpoint: a PKCE code yields tokens; the same code again is code_exchange_failed", async () => {
  const browser = new Browser();
  const codeVerifier = randomBytes(32).toString("base64url");
  const { start, challenge } = await loginChallenge(browser, "demo-spa", codeVerifier);
  const consentChallenge = await nextChallenge(browser, await hydra.acceptLogin(challenge, { subject: "pkce-user" }), "consent");
  const callback = await browser.get(await hydra.acceptConsent(consentChallenge, { grant_scope: ["openid"] }), { stopAt: [CALLBACK] });
  const code = callbackParams(callback, CALLBACK, start.state).get("code")!;

  const tokens = await hydra.exchangeCode({ clientId: "demo-spa", code, redirectUri: CALLBACK, codeVerifier });
  expect(tokens.token_type.toLowerCase()).toBe("bearer");
  expect(tokens.id_token).toBeTruthy();
  expect((await hydra.introspect(tokens.access_token)).sub).toBe("pkce-user");

  const again = await caught(hydra.exchangeCode({ clientId: "demo-spa", code, redirectUri: CALLBACK, codeVerifier }));
  expect(again).toMatchObject({ status: 400, code: "code_exchange_failed" });
});

test("isReady is true against the running Hydra", async () => {
  expect(await hydra.isReady()).toBe(true);
});
