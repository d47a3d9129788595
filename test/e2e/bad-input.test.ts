// Bad input and unavailable dependencies: a clear 4xx/503 page or JSON error, never a 500.
import { Browser } from "../support/browser";
import { startStack, type Stack } from "../support/stack";
import { CALLBACK, createUser, demoConfig, type TestUser } from "../support/fixtures";
import { startAuthorization } from "../support/oauth";
import { countRows } from "../support/db";

jest.setTimeout(60_000);

let stack: Stack;
let user: TestUser;

beforeAll(async () => {
  stack = await startStack({ config: demoConfig(), dbProxy: true });
});
// A fresh user per test: consent is remembered per user and audience.
beforeEach(async () => {
  user = await createUser(stack.db);
});
afterAll(async () => stack?.stop());

const web = { clientId: "demo-web", redirectUri: CALLBACK, scope: "openid profile" };

async function get(path: string, accept = "text/html") {
  const res = await fetch(`${stack.appUrl}${path}`, { headers: { accept }, redirect: "manual" });
  return { status: res.status, body: await res.text(), headers: res.headers };
}

describe("challenges", () => {
  test.each(["/login", "/consent", "/logout"])("%s without a challenge is a 400 naming it", async (path) => {
    const res = await get(path);
    expect(res.status).toBe(400);
    expect(res.body).toMatch(/is incomplete or was changed/);
    expect(res.body).not.toMatch(/_challenge/); // never an internal field name
    expect(res.body).not.toMatch(/at .*\.ts:\d+/);
  });

  test.each([
    ["/login?login_challenge=garbage", /sign-in request is unknown or has expired/],
    ["/consent?consent_challenge=garbage", /consent request is unknown or has expired/],
    ["/logout?logout_challenge=garbage", /sign-out request is unknown or has expired/],
  ])("%s is a 404 with a clear message", async (path, message) => {
    const res = await get(path);
    expect(res.status).toBe(404);
    expect(res.body).toMatch(message);
  });

  test("a login link Hydra does not know leaves no session behind in a new browser (no row, no cookie)", async () => {
    const sessions = () => countRows(stack.db, "session");
    const before = await sessions();
    for (let i = 0; i < 3; i++) {
      const res = await get(`/login?login_challenge=unknown-${i}-${Date.now()}`);
      expect(res.status).toBe(404);
      expect(res.headers.get("set-cookie") ?? "").not.toContain(stack.env.SESSION_COOKIE_NAME);
    }
    expect(await sessions()).toBe(before);
  });

  test("a challenge with control characters is refused before reaching Hydra", async () => {
    const res = await get("/login?login_challenge=%00%01");
    expect(res.status).toBe(400);
    expect(res.body).toMatch(/is incomplete or was changed/);
  });

  test("JSON clients get a JSON error", async () => {
    const res = await get("/login?login_challenge=garbage", "application/json");
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body)).toEqual({ error: "challenge_not_found", error_description: expect.stringMatching(/unknown or has expired/) });
  });

  test("an already-used login challenge is refused with 410", async () => {
    const browser = new Browser();
    const start = await startAuthorization(browser, stack, web);
    const challenge = new URL(start.page.url).searchParams.get("login_challenge")!;
    await browser.submit(start.page, "#login-form", { email: user.email, password: user.password }, { stopAt: [CALLBACK] });
    const again = await browser.fetch(`${stack.appUrl}/login?login_challenge=${encodeURIComponent(challenge)}`);
    expect(again.status).toBe(410);
    const html = await again.text();
    expect(html).toMatch(/already completed/);
    // Resubmitting the old form is refused too: signing in rotated the session, so its CSRF token is stale.
    const resubmit = await browser.submit(start.page, "#login-form", { email: user.email, password: user.password }, { stopAt: [CALLBACK] });
    expect(resubmit.status).toBe(403);
    // In a browser without a session of this app (its new session's save carries the check): refused too.
    const elsewhere = await new Browser().fetch(`${stack.appUrl}/login?login_challenge=${encodeURIComponent(challenge)}`);
    expect(elsewhere.status).toBe(410);
    expect(await elsewhere.text()).toMatch(/already completed/);
  });

  test("resubmitting an answered consent form is refused with 410", async () => {
    const browser = new Browser();
    const start = await startAuthorization(browser, stack, web);
    const consent = await browser.submit(start.page, "#login-form", { email: user.email, password: user.password });
    const done = await browser.submit(consent, "#consent-form", {}, { button: ["decision", "allow"], stopAt: [CALLBACK] });
    expect(done.url.startsWith(CALLBACK)).toBe(true);
    const again = await browser.submit(consent, "#consent-form", {}, { button: ["decision", "deny"], stopAt: [CALLBACK] });
    expect(again.status).toBe(410);
    expect(again.text("#error")).toMatch(/already completed/);
    const reload = await browser.get(consent.url);
    expect(reload.status).toBe(410);
  });
});

describe("forms", () => {
  test("a POST without a CSRF token is refused with 403", async () => {
    const browser = new Browser();
    const start = await startAuthorization(browser, stack, web);
    const page = await browser.submit(start.page, "#login-form", { email: user.email, password: user.password, _csrf: null });
    expect(page.status).toBe(403);
    expect(page.text("#error")).toMatch(/form has expired or did not come from this site/);
  });

  test("a POST with a wrong CSRF token is refused with 403", async () => {
    const browser = new Browser();
    const start = await startAuthorization(browser, stack, web);
    const page = await browser.submit(start.page, "#login-form", { email: user.email, password: user.password, _csrf: "forged" });
    expect(page.status).toBe(403);
  });

  test("a consent POST with a wrong or no CSRF token is refused with 403 and records nothing; the real form still works", async () => {
    const browser = new Browser();
    const start = await startAuthorization(browser, stack, web);
    const consent = await browser.submit(start.page, "#login-form", { email: user.email, password: user.password });
    expect(consent.$("#consent-form").length).toBe(1);
    for (const _csrf of ["forged", null]) {
      const refused = await browser.submit(consent, "#consent-form", { _csrf }, { button: ["decision", "allow"], stopAt: [CALLBACK] });
      expect(refused.status).toBe(403);
    }
    // And with a challenge Hydra does not know: the token's refusal is the answer.
    const unknown = await browser.submit(consent, "#consent-form", { _csrf: "forged", consent_challenge: "garbage" }, { button: ["decision", "allow"], stopAt: [CALLBACK] });
    expect(unknown.status).toBe(403);
    expect(await countRows(stack.db, "consents", { userId: user.id })).toBe(0);
    const done = await browser.submit(consent, "#consent-form", {}, { button: ["decision", "allow"], stopAt: [CALLBACK] });
    expect(done.url.startsWith(CALLBACK)).toBe(true);
    expect(await countRows(stack.db, "consents", { userId: user.id })).toBe(1);
  });

  test("a sign-in POST with a wrong CSRF token and an unknown challenge is refused for its token (403)", async () => {
    const browser = new Browser();
    const start = await startAuthorization(browser, stack, web);
    const page = await browser.submit(start.page, "#login-form", { email: user.email, password: user.password, _csrf: "forged", login_challenge: "garbage" });
    expect(page.status).toBe(403);
  });

  test("a form without its challenge is a 400", async () => {
    const browser = new Browser();
    const start = await startAuthorization(browser, stack, web);
    const page = await browser.submit(start.page, "#login-form", { email: user.email, password: user.password, login_challenge: null });
    expect(page.status).toBe(400);
    expect(page.text("#error")).toMatch(/sign-in form is incomplete or was changed/);
  });

  test("an empty password re-shows the form with a 400", async () => {
    const browser = new Browser();
    const start = await startAuthorization(browser, stack, web);
    const page = await browser.submit(start.page, "#login-form", { email: user.email, password: "" });
    expect(page.status).toBe(400);
    expect(page.text("#error")).toBe("Please enter your email and password.");
    expect(page.$("#login-form").length).toBe(1);
  });

  test("a consent decision that is neither allow nor deny is a 400", async () => {
    const browser = new Browser();
    const start = await startAuthorization(browser, stack, web);
    const consent = await browser.submit(start.page, "#login-form", { email: user.email, password: user.password });
    expect(new URL(consent.url).pathname).toBe("/consent");
    const page = await browser.submit(consent, "#consent-form", {}, { button: ["decision", "maybe"] });
    expect(page.status).toBe(400);
    expect(page.text("#error")).toMatch(/consent form is not right \(your choice\)/);
  });

  test("an oversized body is a 413", async () => {
    const browser = new Browser();
    const start = await startAuthorization(browser, stack, web);
    const page = await browser.submit(start.page, "#login-form", { email: user.email, password: "x".repeat(100_000) });
    expect(page.status).toBe(413);
    expect(page.text("#error")).toMatch(/too large/);
  });

  test("a malformed body is a 4xx, never a 500", async () => {
    const res = await fetch(`${stack.appUrl}/login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded; charset=klingon" },
      body: "a=%ZZ",
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
  });

  test("an unknown page is a 404", async () => {
    expect((await get("/nope")).status).toBe(404);
  });
});

describe("dependencies down", () => {
  test("health reports both dependencies", async () => {
    const res = await get("/health", "application/json");
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ status: "ok", database: "ok", hydra: "ok" });
  });

  test("Hydra down → 503 with a clear page; the app recovers when it returns", async () => {
    await stack.hydraProcess.stop();
    try {
      const res = await get("/login?login_challenge=anything");
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toBe("5");
      expect(res.body).toMatch(/identity service \(Ory Hydra\) is temporarily unavailable/);
      const health = await get("/health", "application/json");
      expect(health.status).toBe(503);
      expect(JSON.parse(health.body)).toMatchObject({ database: "ok", hydra: "unreachable" });
    } finally {
      await stack.hydraProcess.start();
    }
    const browser = new Browser();
    const start = await startAuthorization(browser, stack, web);
    expect(start.page.status).toBe(200);
    expect(start.page.$("#login-form").length).toBe(1);
  });

  test("database down → 503 with a clear page; the app recovers when it returns", async () => {
    const browser = new Browser();
    const start = await startAuthorization(browser, stack, web);
    await stack.dbProxy!.cut();
    try {
      const page = await browser.submit(start.page, "#login-form", { email: user.email, password: user.password });
      expect(page.status).toBe(503);
      expect(page.text("#error")).toMatch(/database is temporarily unavailable/);
      const health = await get("/health", "application/json");
      expect(health.status).toBe(503);
      expect(JSON.parse(health.body)).toMatchObject({ database: "unreachable", hydra: "ok" });
    } finally {
      await stack.dbProxy!.restore();
    }
    const fresh = new Browser();
    const again = await startAuthorization(fresh, stack, web);
    const consent = await fresh.submit(again.page, "#login-form", { email: user.email, password: user.password });
    expect(new URL(consent.url).pathname).toBe("/consent");
  });
});
