// A challenge is not a bearer token. /account signs in through its own OAuth 2.0
// authorization-code + PKCE flow at Hydra; a skipped login creates no app session; the consent step
// only proceeds in the browser that answered the flow's login step, and never for another signed-in
// user; challenges, codes and state never reach the logs; every page sends no-referrer.
import { Browser, type Page } from "../support/browser";
import { startStack, type Stack } from "../support/stack";
import { CALLBACK, appSessionUser, createUser, demoConfig, type TestUser } from "../support/fixtures";
import { authorizationUrl, callbackParams, startAuthorization } from "../support/oauth";
import { countRows, deleteRows, findRow, findRows, getRow, updateRows } from "../support/db";

jest.setTimeout(90_000);

let stack: Stack;
const logLines: string[] = [];

beforeAll(async () => {
  stack = await startStack({
    config: demoConfig({ scopes: ["openid", "profile", "email"] }),
    logDestination: { write: (line: string) => void logLines.push(line) },
  });
});
afterAll(async () => stack?.stop());

const web = (scope = "openid profile") => ({ clientId: "demo-web", redirectUri: CALLBACK, scope });

/** Signs in through demo-web with "remember me" and allows; Hydra now remembers this browser. */
async function rememberedBrowser(user: TestUser): Promise<Browser> {
  const browser = new Browser();
  const start = await startAuthorization(browser, stack, web());
  const consent = await browser.submit(start.page, "#login-form", { email: user.email, password: user.password, remember: "on" });
  const done = await browser.submit(consent, "#consent-form", {}, { button: ["decision", "allow"], stopAt: [CALLBACK] });
  callbackParams(done, CALLBACK, start.state);
  return browser;
}

/** Starts an authorization in the browser and stops at the app's login or consent URL (what a stolen link would be). */
async function linkTo(browser: Browser, path: "/login" | "/consent", scope = "openid profile"): Promise<string> {
  const url = authorizationUrl(stack, { ...web(scope), state: "s".repeat(16), nonce: "n".repeat(16) });
  const page = await browser.get(url, { stopAt: [`${stack.appUrl}${path}`, CALLBACK] });
  if (!page.url.startsWith(`${stack.appUrl}${path}`)) throw new Error(`expected a redirect to ${path}, got ${page.url}`);
  return page.url;
}

test("/account signs in through its own OAuth flow at Hydra; a remembered browser gets there without a password", async () => {
  const user = await createUser(stack.db);
  const browser = await rememberedBrowser(user);
  await deleteRows(stack.db, "session"); // the app session is gone (expired); Hydra still remembers the browser

  const account = await browser.get(`${stack.appUrl}/account`);
  const paths = account.chain.map((u) => new URL(u));
  expect(paths.map((u) => `${u.origin === stack.appUrl ? "app" : "hydra"}${u.pathname}`)).toEqual([
    "app/account",
    "app/account/login",
    "hydra/oauth2/auth",
    "app/login", // Hydra: skip (remembered)
    "hydra/oauth2/auth",
    "app/consent", // first-party client: accepted without a page
    "hydra/oauth2/auth",
    "app/account/callback",
    "app/account",
  ]);
  const auth = paths.find((u) => u.pathname === "/oauth2/auth")!;
  expect(auth.searchParams.get("client_id")).toBe("account");
  expect(auth.searchParams.get("code_challenge_method")).toBe("S256");
  expect(account.status).toBe(200);
  expect(account.text("main")).toContain(user.email);
  expect(await appSessionUser(stack, browser)).toBe(user.id);
  // Nothing was stored as a consent for the account client.
  expect(await countRows(stack.db, "consents", { userId: user.id })).toBe(1);
});

test("/account with no Hydra session shows the sign-in form; prompt=login asks a remembered browser for the password", async () => {
  const stranger = new Browser();
  const page = await stranger.get(`${stack.appUrl}/account`);
  expect(new URL(page.url).pathname).toBe("/login");
  expect(page.$("#login-form").length).toBe(1);

  const user = await createUser(stack.db);
  const browser = await rememberedBrowser(user);
  const fresh = await browser.get(`${stack.appUrl}/account/login?prompt=login`);
  expect(new URL(fresh.url).pathname).toBe("/login");
  expect(fresh.$("#login-form").length).toBe(1);
  const signedIn = await browser.submit(fresh, "#login-form", { email: user.email, password: user.password });
  expect(new URL(signedIn.url).pathname).toBe("/account");
  expect(signedIn.text("main")).toContain(user.email);
});

test("a stolen login_challenge opened in another browser gives no app session and no account page", async () => {
  const victim = await createUser(stack.db);
  const victimBrowser = await rememberedBrowser(victim);
  const stolen = await linkTo(victimBrowser, "/login");

  const attacker = new Browser();
  const page = await attacker.get(stolen, { stopAt: [CALLBACK] });
  // Hydra refuses to continue without the victim's own cookies; whatever it shows, no code reaches anyone.
  expect(page.url.includes("code=")).toBe(false);
  expect(await appSessionUser(stack, attacker)).toBeUndefined();
  const account = await attacker.get(`${stack.appUrl}/account`);
  expect(new URL(account.url).pathname).toBe("/login"); // asked to sign in: the victim's consents are not shown
  expect(account.html).not.toContain(victim.email);
});

test("a stolen consent_challenge is refused in another browser (403), nothing is stored, and the owner can still finish", async () => {
  const victim = await createUser(stack.db);
  const victimBrowser = await rememberedBrowser(victim);
  const before = await findRows(stack.db, "consents", { userId: victim.id });
  const stolen = await linkTo(victimBrowser, "/consent", "openid profile email"); // email is new: the page would ask

  // A browser with no session at all.
  const anonymous = new Browser();
  const seen = await anonymous.get(stolen);
  expect(seen.status).toBe(403);
  expect(seen.$("#consent-form").length).toBe(0);

  // An attacker signed in as himself, posting the victim's challenge with his own valid CSRF token.
  const mallory = await createUser(stack.db);
  const attacker = await rememberedBrowser(mallory);
  const loginPage = await attacker.get(`${stack.appUrl}/account/login?prompt=login`);
  const csrf = loginPage.$("input[name=_csrf]").attr("value")!;
  const challenge = new URL(stolen).searchParams.get("consent_challenge")!;
  for (const decision of ["allow", "deny"]) {
    const res = await attacker.fetch(`${stack.appUrl}/consent`, { method: "POST", body: new URLSearchParams({ _csrf: csrf, consent_challenge: challenge, decision }) });
    expect(res.status).toBe(403);
  }
  expect(await findRows(stack.db, "consents", { userId: victim.id })).toEqual(before);

  // The victim's own browser completes the same request.
  const page = await victimBrowser.get(stolen);
  expect(page.$("#consent-form").length).toBe(1);
  const done = await victimBrowser.submit(page, "#consent-form", {}, { button: ["decision", "allow"], stopAt: [CALLBACK] });
  expect(new URL(done.url).searchParams.get("code")).toBeTruthy();
  expect((await findRow(stack.db, "consents", { userId: victim.id }))!.scopes).toContain("email");
});

test("consent is refused (403) when this browser is signed in to the app as another user than the request's subject", async () => {
  const ada = await createUser(stack.db);
  const browser = await rememberedBrowser(ada);
  const consentUrl = await linkTo(browser, "/consent", "openid profile email");
  const page = await browser.get(consentUrl);
  const csrf = page.$("input[name=_csrf]").attr("value")!;
  // The app session now says someone else (e.g. another account signed in to /account meanwhile).
  const other = await createUser(stack.db);
  const sid = decodeURIComponent((await browser.jar.getCookies(stack.appUrl)).find((c) => c.key === stack.env.SESSION_COOKIE_NAME)!.value).replace(/^s:/, "").replace(/\.[^.]*$/, "");
  const row = await getRow(stack.db, "session", { sid });
  await updateRows(stack.db, "session", { sid }, { sess: { ...(row.sess as object), userId: other.id } });

  const res = await browser.fetch(`${stack.appUrl}/consent`, { method: "POST", body: new URLSearchParams({ _csrf: csrf, consent_challenge: new URL(consentUrl).searchParams.get("consent_challenge")!, decision: "allow" }) });
  expect(res.status).toBe(403);
  expect(await res.text()).toContain("another account");
  // The same with the page's ticket, as the page's own form posts it (the approval's one statement
  // reads the session and writes nothing for another user's).
  const ticket = page.$("input[name=consent_ticket]").attr("value")!;
  expect(ticket).toBeTruthy();
  const withTicket = await browser.fetch(`${stack.appUrl}/consent`, {
    method: "POST",
    body: new URLSearchParams({ _csrf: csrf, consent_challenge: new URL(consentUrl).searchParams.get("consent_challenge")!, consent_ticket: ticket, decision: "allow" }),
  });
  expect(withTicket.status).toBe(403);
  expect(await withTicket.text()).toContain("another account");
  expect((await findRow(stack.db, "consents", { userId: ada.id }))!.scopes).not.toContain("email");
});

test("an approval with a wrong CSRF token is refused (403) and writes nothing; the page's own form then goes through", async () => {
  const ada = await createUser(stack.db);
  const browser = await rememberedBrowser(ada);
  const consentUrl = await linkTo(browser, "/consent", "openid profile email");
  const page = await browser.get(consentUrl);
  const challenge = new URL(consentUrl).searchParams.get("consent_challenge")!;
  const ticket = page.$("input[name=consent_ticket]").attr("value")!;
  const csrf = page.$("input[name=_csrf]").attr("value")!;
  for (const token of [`${csrf.slice(0, -1)}${csrf.endsWith("0") ? "1" : "0"}`, "", csrf.toUpperCase()]) {
    const res = await browser.fetch(`${stack.appUrl}/consent`, { method: "POST", body: new URLSearchParams({ _csrf: token, consent_challenge: challenge, consent_ticket: ticket, decision: "allow" }) });
    expect(res.status).toBe(403);
  }
  expect((await findRow(stack.db, "consents", { userId: ada.id }))!.scopes).not.toContain("email");
  const done = await browser.submit(page, "#consent-form", {}, { button: ["decision", "allow"], stopAt: [CALLBACK] });
  expect(new URL(done.url).searchParams.get("code")).toBeTruthy();
  expect((await findRow(stack.db, "consents", { userId: ada.id }))!.scopes).toContain("email");
});

test("the callback refuses an answer that this browser did not ask for (state)", async () => {
  const browser = new Browser();
  const res = await browser.fetch(`${stack.appUrl}/account/callback?code=abc&state=forged`);
  expect(res.status).toBe(400);
});

test("every page says Referrer-Policy: no-referrer", async () => {
  const browser = new Browser();
  const urls = [`${stack.appUrl}/`, `${stack.appUrl}/login?login_challenge=nope`, `${stack.appUrl}/nowhere`, `${stack.appUrl}/health`];
  const start = await startAuthorization(browser, stack, web());
  urls.push(start.page.url);
  for (const url of urls) {
    const res = await browser.fetch(url);
    expect([url, res.headers.get("referrer-policy")]).toEqual([url, "no-referrer"]);
  }
});

test("challenges, codes, state and invitation codes never appear in the logs", async () => {
  const user = await createUser(stack.db);
  const browser = new Browser();
  const start = await startAuthorization(browser, stack, web());
  const loginChallenge = new URL(start.page.url).searchParams.get("login_challenge")!;
  const consent: Page = await browser.submit(start.page, "#login-form", { email: user.email, password: user.password });
  const consentChallenge = new URL(consent.url).searchParams.get("consent_challenge")!;
  const done = await browser.submit(consent, "#consent-form", {}, { button: ["decision", "allow"], stopAt: [CALLBACK] });
  const code = new URL(done.url).searchParams.get("code")!;
  await browser.get(`${stack.appUrl}/invitation?code=Zm9vYmFyYmF6cXV4cXV1eDEyMzQ1Njc4OTA`);
  await browser.get(`${stack.appUrl}/account`); // the account flow's own code and state

  // Hydra unreachable: the 503 is logged with its cause, which must not carry the request URL.
  await stack.hydraProcess.stop();
  const unseen = "an-unseen-challenge-0123456789abcdef";
  const down = await browser.fetch(`${stack.appUrl}/login?login_challenge=${unseen}`);
  expect(down.status).toBe(503);
  await stack.hydraProcess.start();

  const logs = logLines.join("");
  expect(logs).toContain('"status":503');
  expect(logs).toContain("[redacted]");
  for (const secret of [loginChallenge, consentChallenge, code, start.state, unseen, "Zm9vYmFyYmF6cXV4cXV1eDEyMzQ1Njc4OTA"]) {
    expect(logLines.filter((line) => line.includes(secret))).toEqual([]);
  }
});

test("pages and redirects are never cached (no-store, no ETag); static assets are", async () => {
  const browser = new Browser();
  const start = await startAuthorization(browser, stack, web());
  const paths = [
    "/",
    "/login?login_challenge=nope",
    "/nowhere",
    "/account",
    "/account/login",
    "/account/callback",
    "/language?lng=de&return=%2Frecovery",
    "/language",
    "/recovery",
    "/recovery/reset?token=nope",
    "/verification",
    "/verification?token=nope",
    "/invitation?code=nope",
    "/registration?login_challenge=nope",
    "/consent?consent_challenge=nope",
    "/logout?logout_challenge=nope",
    "/signed-out",
    "/error?error=invalid_client",
    "/health",
  ];
  for (const url of [start.page.url, ...paths.map((p) => `${stack.appUrl}${p}`)]) {
    const res = await browser.fetch(url);
    expect([url, res.headers.get("cache-control"), res.headers.get("etag")]).toEqual([url, "no-store", null]);
  }
  const asset = await browser.fetch(`${stack.appUrl}/static/app.css`);
  expect(asset.status).toBe(200);
  expect(asset.headers.get("cache-control")).toMatch(/max-age=3600/);
});
