// /account's "Where you're signed in" and "Recent activity" against the real Hydra, PostgreSQL and
// Mailpit: two browsers' sign-ins listed (browser and system from the user agent, the network only,
// "this browser" marked), one ended from the other (its app session gone, and its Hydra login session
// too: its next authorization asks for a sign-in again); a sign-in from a browser the account never
// used mails a notice, a second one from the same browser does not; the activity tells sign-ins, a
// factor change, a consent granted and withdrawn and admin actions; old events are pruned.
import { Browser, type Page } from "../support/browser";
import { startStack, type Stack } from "../support/stack";
import { CALLBACK, appSessionUser, createUser, demoConfig, runCommand, type TestUser } from "../support/fixtures";
import { adminEnvironment } from "../support/readme-commands";
import { startAuthorization } from "../support/oauth";
import { totpCode } from "../../src/services/totp";

jest.setTimeout(180_000);

const FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const SAFARI_IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";

/** A browser that names itself (its user agent on every request). */
class NamedBrowser extends Browser {
  constructor(private readonly userAgent: string) {
    super();
  }
  override fetch(url: string, init: Parameters<Browser["fetch"]>[1] = {}) {
    return super.fetch(url, { ...init, headers: { "user-agent": this.userAgent, ...init.headers } });
  }
}

let stack: Stack;
/** The app's log lines (the activity's lines for operators among them). */
const logLines: Record<string, unknown>[] = [];
beforeAll(async () => {
  stack = await startStack({
    config: demoConfig({ scopes: ["openid", "profile", "email", "offline_access"] }),
    appEnv: { ACTIVITY_RETENTION_DAYS: "30" },
    logDestination: { write: (line) => void logLines.push(JSON.parse(line) as Record<string, unknown>) },
  });
});
afterAll(async () => stack?.stop());

const path = (page: Page) => new URL(page.url).pathname;

/** Opens /account and signs in on the form it leads to (`fresh`: asks for the password even when Hydra remembers the browser). */
async function signInToAccount(user: TestUser, browser: Browser, fresh = false): Promise<Page> {
  const form = await browser.get(`${stack.appUrl}/account${fresh ? "/login?prompt=login" : ""}`);
  expect(path(form)).toBe("/login");
  const page = await browser.submit(form, "#login-form", { email: user.email, password: user.password, remember: "on" });
  expect(path(page)).toBe("/account");
  return page;
}

const places = (page: Page) =>
  page
    .$("#places > li")
    .map((_, el) => ({ id: page.$(el).attr("data-place")!, thisBrowser: page.$(el).attr("data-this-browser") === "true", text: page.$(el).text().replace(/\s+/g, " ").trim() }))
    .get();
const notices = async (userId: string) =>
  (await stack.db.query<{ n: number }>("SELECT count(*)::int AS n FROM outbox WHERE user_id = $1::uuid AND template = 'new-sign-in'", [userId])).rows[0]!.n;

test("both browsers' sign-ins are listed; ending the other one ends its app session and its Hydra login session", async () => {
  const user = await createUser(stack.db);
  const laptop = new NamedBrowser(FIREFOX_LINUX);
  const phone = new NamedBrowser(SAFARI_IPHONE);
  await signInToAccount(user, laptop);
  await signInToAccount(user, phone);

  const page = await laptop.get(`${stack.appUrl}/account`);
  expect(page.text("#where-heading")).toBe("Where you're signed in");
  const listed = places(page);
  expect(listed).toHaveLength(2);
  // This browser first, marked; the network only (never the address).
  expect(listed[0]).toMatchObject({ thisBrowser: true });
  expect(listed[0]!.text).toMatch(/^Firefox on Linux This browser Network 127\.0\.0\.0\/24 Signed in .+, last seen .+\. Stays signed in\. Sign out this browser$/);
  expect(listed[1]).toMatchObject({ thisBrowser: false });
  expect(listed[1]!.text).toMatch(/^Safari on iOS Network 127\.0\.0\.0\/24 .* End this session$/);
  expect(page.html).not.toContain("127.0.0.1");

  const phonePlace = listed[1]!;
  const ended = await laptop.submit(page, `li[data-place="${phonePlace.id}"] form.end-session-form`);
  expect(path(ended)).toBe("/account");
  expect(ended.text("#notice")).toMatch(/That session has ended/);
  expect(places(ended).map((p) => p.id)).toEqual([listed[0]!.id]);

  // The phone: its app session is gone, and Hydra no longer remembers it (it asks for a sign-in).
  expect(await appSessionUser(stack, phone)).toBeUndefined();
  const again = await phone.get(`${stack.appUrl}/account`);
  expect(path(again)).toBe("/login");
  expect(again.$("#login-form").length).toBe(1);
  // The laptop is still signed in.
  expect(path(await laptop.get(`${stack.appUrl}/account`))).toBe("/account");
  // Someone else's session cannot be ended (nor this one twice).
  const csrf = ended.$('input[name="_csrf"]').first().val() as string;
  const gone = await laptop.post(`${stack.appUrl}/account/sessions/end`, new URLSearchParams({ _csrf: csrf, id: phonePlace.id }));
  expect(gone.status).toBe(404);
});

test("ending this browser's own session signs it out here and at Hydra", async () => {
  const user = await createUser(stack.db);
  const laptop = new NamedBrowser(FIREFOX_LINUX);
  const page = await signInToAccount(user, laptop);
  const mine = places(page).find((p) => p.thisBrowser)!;
  await laptop.submit(page, `li[data-place="${mine.id}"] form.end-session-form`);
  expect(await appSessionUser(stack, laptop)).toBeUndefined();
  expect(path(await laptop.get(`${stack.appUrl}/account`))).toBe("/login");
  expect((await stack.db.query("SELECT 1 FROM account_sessions WHERE user_id = $1::uuid", [user.id])).rowCount).toBe(0);
});

test("a sign-in from a browser the account never used mails a notice; a second sign-in from the same browser does not", async () => {
  const user = await createUser(stack.db);
  await signInToAccount(user, new NamedBrowser(FIREFOX_LINUX));
  expect(await notices(user.id)).toBe(0); // the account's first sign-in: new everywhere, nothing to tell

  const phone = new NamedBrowser(SAFARI_IPHONE);
  await signInToAccount(user, phone);
  const mail = await stack.mailpit!.waitForMessage({ to: user.email, subject: /New sign-in to your account/ });
  expect(mail.text).toMatch(/was signed in to on .+ from a browser it had not been used on before: Safari on iOS, network 127\.0\.0\.0\/24/);
  expect(mail.text).toMatch(/If it was not you/);
  expect(mail.text).toContain(`${stack.appUrl}/account`);
  expect(stack.mailpit!.links(mail)).toContain(`${stack.appUrl}/account`);

  // The same browser signs in again (its password asked for again): no second notice.
  await signInToAccount(user, phone, true);
  expect(await notices(user.id)).toBe(1);
});

test("the activity tells sign-ins, a failed one from an unknown browser, a factor change, a consent granted and withdrawn, and admin actions; old events go", async () => {
  const user = await createUser(stack.db);
  const env = adminEnvironment(stack, ["DATABASE_URL", "HYDRA_ADMIN_URL"], new Map());
  expect((await runCommand("npm", ["run", "--silent", "user:disable", "--", "--email", user.email], env)).code).toBe(0);
  expect((await runCommand("npm", ["run", "--silent", "user:enable", "--", "--email", user.email], env)).code).toBe(0);

  const browser = new NamedBrowser(FIREFOX_LINUX);
  // A wrong password from a browser that never signed in to the account.
  const start = await startAuthorization(browser, stack, { clientId: "demo-web", redirectUri: CALLBACK, scope: "openid profile" });
  const wrong = await browser.submit(start.page, "#login-form", { email: user.email, password: "not the password" });
  expect(wrong.status).toBe(401);
  const consent = await browser.submit(wrong, "#login-form", { email: user.email, password: user.password, remember: "on" });
  await browser.submit(consent, "#consent-form", {}, { button: ["decision", "allow"], stopAt: [CALLBACK] });

  let page = await browser.get(`${stack.appUrl}/account`);
  expect(path(page)).toBe("/account");
  // A factor change: an authenticator set up on this page.
  const setup = await browser.submit(page, "#add-factor-form");
  const secret = setup.text("#secret").replace(/\s/g, "");
  const codes = await browser.submit(setup, "#setup-form", { code: totpCode(secret), current_password: user.password });
  expect(codes.$("#codes code").length).toBe(10);
  // The consent withdrawn.
  page = await browser.get(`${stack.appUrl}/account/consents/revoke?audience=demo`);
  page = await browser.submit(page, "#revoke-form");
  expect(path(page)).toBe("/account");

  const told = page.$("#activity > li").map((_, el) => page.$(el).text().replace(/\s+/g, " ").trim()).get();
  const said = (re: RegExp) => told.findIndex((t) => re.test(t));
  expect(said(/^Withdrew what Demo App was allowed/)).toBe(0);
  expect(said(/^An authenticator app was set up/)).toBeGreaterThan(0);
  expect(said(/^Allowed Demo App access to your account/)).toBeGreaterThan(said(/^An authenticator app was set up/));
  expect(told[said(/^Signed in with your password/)]).toMatch(/Firefox on Linux · Network 127\.0\.0\.0\/24/);
  expect(said(/^A sign-in with a wrong password, from a browser your account was never used on/)).toBeGreaterThan(said(/^Signed in with your password/));
  expect(said(/^An administrator enabled the account again/)).toBeGreaterThan(said(/^A sign-in with a wrong password/));
  expect(said(/^An administrator disabled the account/)).toBeGreaterThan(said(/^An administrator enabled the account again/));

  // The same events as log lines for operators: the kind, the user, the network only.
  const lines = logLines.filter((l) => l.activity === true && l.subject === user.id);
  expect(lines.map((l) => l.event)).toEqual(expect.arrayContaining(["sign_in_failed", "sign_in", "factor_added"]));
  expect(lines.find((l) => l.event === "sign_in")).toMatchObject({ browser: "Firefox", os: "Linux", network: "127.0.0.0/24", client: "demo-web", methods: ["pwd"] });
  expect(JSON.stringify(lines)).not.toMatch(/127\.0\.0\.1|password|secret/);

  // Retention (ACTIVITY_RETENTION_DAYS=30 here): an event older than that goes when the pruning runs; newer ones stay.
  await stack.db.query("INSERT INTO account_events (user_id, kind, detail, created_at) VALUES ($1, 'password_changed', '{}', now() - interval '31 days'), ($1, 'password_reset', '{}', now() - interval '29 days')", [user.id]);
  await stack.store.pruneActivity(stack.env.ACTIVITY_RETENTION_DAYS);
  const kinds = (await stack.db.query<{ kind: string }>("SELECT kind FROM account_events WHERE user_id = $1::uuid", [user.id])).rows.map((r) => r.kind);
  expect(kinds).toContain("password_reset");
  expect(kinds).not.toContain("password_changed");
  expect(kinds).toEqual(expect.arrayContaining(["sign_in", "sign_in_failed", "factor_added", "admin_disabled", "admin_enabled"]));
});
