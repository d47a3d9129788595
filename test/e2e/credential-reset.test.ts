// An admin password reset (`npm run user:create -- … --reset-password`, the real command as a child
// process) ends the user's access: the remembered browser is asked to sign in again, its app session
// is gone, and the refresh and access tokens stop working (unless --keep-tokens).
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Browser } from "../support/browser";
import { startStack, type Stack } from "../support/stack";
import { CALLBACK, appSessionUser, createUser, demoConfig, runCommand, type TestUser } from "../support/fixtures";
import { callbackParams, exchangeCode, introspect, startAuthorization, tokenRequest, type TokenResponse } from "../support/oauth";
import { countSessionsOf, getRow } from "../support/db";

jest.setTimeout(120_000);

let stack: Stack;
let user: TestUser;

beforeAll(async () => {
  stack = await startStack({
    config: demoConfig({ "grant-types": ["authorization_code", "refresh_token"], scopes: ["openid", "profile", "offline_access"] }),
  });
});
beforeEach(async () => {
  user = await createUser(stack.db);
});
afterAll(async () => stack?.stop());

const web = { clientId: "demo-web", redirectUri: CALLBACK, scope: "openid profile offline_access" };

/** Signs the user in with "remember me" in a new browser, allows consent and returns the tokens. */
async function signInRemembered(): Promise<{ browser: Browser; tokens: TokenResponse }> {
  const browser = new Browser();
  const start = await startAuthorization(browser, stack, web);
  let page = await browser.submit(start.page, "#login-form", { email: user.email, password: user.password, remember: "on" }, { stopAt: [CALLBACK] });
  if (page.$("#consent-form").length) page = await browser.submit(page, "#consent-form", {}, { button: ["decision", "allow"], stopAt: [CALLBACK] });
  const code = callbackParams(page, CALLBACK, start.state).get("code")!;
  const tokens = await exchangeCode(stack, { clientId: "demo-web", secret: stack.secrets.DEMO_WEB_SECRET!, code, redirectUri: CALLBACK });
  expect(tokens.refresh_token).toBeTruthy();
  return { browser, tokens };
}

function refresh(token: string) {
  return tokenRequest(stack, { grant_type: "refresh_token", refresh_token: token }, { clientId: "demo-web", secret: stack.secrets.DEMO_WEB_SECRET! });
}

function resetPassword(password: string, extra: string[] = [], env: Record<string, string> = {}) {
  return runCommand("npm", ["run", "user:create", "--", "--email", user.email, "--password", password, "--reset-password", ...extra], {
    ...process.env,
    DATABASE_URL: stack.env.DATABASE_URL,
    HYDRA_ADMIN_URL: stack.hydraAdminUrl,
    ...env,
  });
}

/** Starts a new authorization in the browser: true when it shows the login form (asked to sign in). */
async function askedToSignIn(browser: Browser): Promise<boolean> {
  const { page } = await startAuthorization(browser, stack, web);
  return page.$("#login-form").length === 1;
}

test("before any reset: the remembered browser is not asked to sign in and the refresh token works", async () => {
  const { browser, tokens } = await signInRemembered();
  expect(await askedToSignIn(browser)).toBe(false);
  expect(await appSessionUser(stack, browser)).toBe(user.id);
  expect((await refresh(tokens.refresh_token!)).status).toBe(200);
});

test("reset: the browser is asked to sign in, its app session is gone, refresh and access tokens are refused; the new password works", async () => {
  const { browser, tokens } = await signInRemembered();
  const second = await signInRemembered(); // a second browser: two app sessions
  expect(await appSessionUser(stack, browser)).toBe(user.id);
  expect(await appSessionUser(stack, second.browser)).toBe(user.id);
  expect((await introspect(stack, tokens.access_token)).active).toBe(true);

  const r = await resetPassword("a brand new passphrase 42");
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  expect(r.stdout).toContain(`user ${user.email}: password reset (id ${user.id}); ended 2 app sessions, revoked Hydra login sessions and consent sessions (tokens)`);

  expect(await appSessionUser(stack, browser)).toBeUndefined();
  expect(await appSessionUser(stack, second.browser)).toBeUndefined();
  expect(await countSessionsOf(stack.db, user.id)).toBe(0);
  expect(await askedToSignIn(browser)).toBe(true);
  expect(await askedToSignIn(second.browser)).toBe(true);

  const refused = await refresh(tokens.refresh_token!);
  expect(refused.status).toBeGreaterThanOrEqual(400);
  expect(refused.json.error).toBeTruthy();
  expect((await introspect(stack, tokens.access_token)).active).toBe(false);
  expect((await introspect(stack, second.tokens.access_token)).active).toBe(false);

  // The old password is refused, the new one signs in.
  const fresh = new Browser();
  const start = await startAuthorization(fresh, stack, web);
  expect((await fresh.submit(start.page, "#login-form", { email: user.email, password: user.password })).status).toBe(401);
  const retry = await startAuthorization(fresh, stack, web);
  const after = await fresh.submit(retry.page, "#login-form", { email: user.email, password: "a brand new passphrase 42" }, { stopAt: [CALLBACK] });
  expect(after.$("#login-form").length).toBe(0);
  expect(await appSessionUser(stack, fresh)).toBe(user.id);
});

test("reset with --keep-tokens: the refresh token still works, but the browser is asked to sign in", async () => {
  const { browser, tokens } = await signInRemembered();

  const r = await resetPassword("a brand new passphrase 43", ["--keep-tokens"]);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain("password reset");
  expect(r.stdout).toContain("ended 1 app session, revoked Hydra login sessions; tokens kept (--keep-tokens)");

  expect(await appSessionUser(stack, browser)).toBeUndefined();
  expect(await askedToSignIn(browser)).toBe(true);
  const refreshed = await refresh(tokens.refresh_token!);
  expect(refreshed.status).toBe(200);
  expect((await introspect(stack, refreshed.json.access_token)).active).toBe(true);
});

test("reset without HYDRA_ADMIN_URL, or with Hydra unreachable, is refused naming it and changes nothing", async () => {
  const { browser, tokens } = await signInRemembered();
  const before = (await getRow(stack.db, "users", { id: user.id })).passwordHash;

  const missing = await resetPassword("a brand new passphrase 44", [], { HYDRA_ADMIN_URL: "" });
  expect(missing.code).not.toBe(0);
  expect(missing.stderr).toContain("set HYDRA_ADMIN_URL");
  expect(missing.stderr).toContain("Nothing was changed");

  const unreachable = await resetPassword("a brand new passphrase 44", [], { HYDRA_ADMIN_URL: "http://127.0.0.1:9" });
  expect(unreachable.code).not.toBe(0);
  expect(unreachable.stderr).toContain("http://127.0.0.1:9 (HYDRA_ADMIN_URL) is not reachable");

  expect((await getRow(stack.db, "users", { id: user.id })).passwordHash).toBe(before);
  expect(await appSessionUser(stack, browser)).toBe(user.id);
  expect((await refresh(tokens.refresh_token!)).status).toBe(200);
});

test("Hydra failing in the middle of a reset: a loud failure and a non-zero exit; rerunning completes it", async () => {
  const { browser, tokens } = await signInRemembered();
  // The real Hydra behind a proxy that fails only the consent-session revocation.
  const target = new URL(stack.hydraAdminUrl);
  const proxy = http.createServer((req, res) => {
    if (req.method === "DELETE" && req.url?.startsWith("/admin/oauth2/auth/sessions/consent")) {
      res.writeHead(500, { "content-type": "application/json" }).end('{"error":"injected failure"}');
      return;
    }
    const upstream = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on("error", () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  try {
    const proxied = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const r = await resetPassword("a brand new passphrase 45", [], { HYDRA_ADMIN_URL: proxied });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`THE PASSWORD OF ${user.email} WAS RESET, BUT THE USER'S ACCESS WAS NOT FULLY ENDED`);
    expect(r.stderr).toContain("done: ended 1 app session, revoked Hydra login sessions");
    expect(r.stderr).toContain("not done: Hydra consent sessions (tokens) not revoked");
    expect(r.stderr).toContain("Run the same command again");
    // What could be done was done.
    expect(await appSessionUser(stack, browser)).toBeUndefined();
    expect(await askedToSignIn(browser)).toBe(true);
  } finally {
    await new Promise((resolve) => proxy.close(resolve));
  }
  const still = await refresh(tokens.refresh_token!); // not revoked yet
  expect(still.status).toBe(200);

  const rerun = await resetPassword("a brand new passphrase 45");
  expect(rerun.code).toBe(0);
  expect(rerun.stdout).toContain("revoked Hydra login sessions and consent sessions (tokens)");
  // The refresh token Hydra just issued (refresh tokens rotate) is refused now.
  expect((await refresh(still.json.refresh_token)).status).toBeGreaterThanOrEqual(400);
  expect((await introspect(stack, still.json.access_token)).active).toBe(false);
});
