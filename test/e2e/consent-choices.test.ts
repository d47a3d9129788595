// Granular consent end to end against the real Ory Hydra v2.3.0 and PostgreSQL: optional scopes a
// user unticks (the token lacks them, a later request asks again), "don't ask again", removing one
// permission on /account (that audience's tokens stop working; the next request asks for it
// alone), and a consent that expires (consent-ttl: Hydra remembers it no longer; asked again).
import { Browser, type Page } from "../support/browser";
import { startStack, type Stack } from "../support/stack";
import { CALLBACK, createUser } from "../support/fixtures";
import { callbackParams, exchangeCode, introspect, startAuthorization, type AuthParams } from "../support/oauth";
import { findRows, updateRows } from "../support/db";

jest.setTimeout(120_000);

let stack: Stack;
let user: Awaited<ReturnType<typeof createUser>>;

beforeAll(async () => {
  stack = await startStack({
    config: {
      audiences: [
        { id: "shop", name: "Shop" },
        { id: "club", name: "Club", "consent-ttl": "1h" },
      ],
      scopes: [
        { name: "shop.orders", description: "See your orders", audience: "shop" },
        { name: "newsletter", description: { en: "Send you the newsletter", de: "Ihnen den Newsletter senden" }, optional: true },
      ],
      clients: [
        { id: "shop-web", name: "Shop Web", audience: "shop", "secret-env": "SHOP_WEB_SECRET", "redirect-uris": [CALLBACK], scopes: ["openid", "email", "shop.orders", "newsletter"], "optional-scopes": ["email"] },
        { id: "shop-app", name: "Shop App", audience: "shop", "secret-env": "SHOP_APP_SECRET", "redirect-uris": [CALLBACK], scopes: ["openid", "email", "shop.orders", "newsletter"] },
        { id: "club-web", name: "Club Web", audience: "club", "secret-env": "CLUB_WEB_SECRET", "redirect-uris": [CALLBACK], scopes: ["openid", "profile", "newsletter"] },
      ],
    },
  });
});
afterAll(async () => stack?.stop());
beforeEach(async () => {
  user = await createUser(stack.db);
});

const SECRETS: Record<string, string> = { "shop-web": "SHOP_WEB_SECRET", "shop-app": "SHOP_APP_SECRET", "club-web": "CLUB_WEB_SECRET" };
const params = (clientId: string, scope: string, extra: Partial<AuthParams> = {}): AuthParams => ({ clientId, redirectUri: CALLBACK, scope, ...extra });
const path = (p: Page) => new URL(p.url).pathname;
const listed = (page: Page, selector: string, attr = "data-scope") => page.$(selector).map((_, el) => page.$(el).attr(attr)).get();

interface Shown {
  fresh: string[];
  granted: string[];
  /** The boxes: scope → ticked. */
  boxes: Record<string, boolean>;
  expiredNote: string;
}

/**
 * Runs an authorization as a browser: signs in when asked; on the consent page, reads it and
 * submits it with `untick` left unticked (and "don't ask again" when `dontAskAgain`).
 */
async function authorize(browser: Browser, p: AuthParams, opts: { untick?: string[]; dontAskAgain?: boolean } = {}) {
  const start = await startAuthorization(browser, stack, p);
  let page = start.page;
  if (path(page) === "/login") page = await browser.submit(page, "#login-form", { email: user.email, password: user.password, remember: "on" }, { stopAt: [CALLBACK] });
  let shown: Shown | null = null;
  if (page.$("#consent-form").length) {
    const boxes: Record<string, boolean> = {};
    page.$('#consent-form input[name="grant"]').each((_, el) => void (boxes[page.$(el).attr("value")!] = page.$(el).attr("checked") !== undefined));
    shown = { fresh: listed(page, "#scopes li.new"), granted: listed(page, "#scopes li.granted"), boxes, expiredNote: page.text("#expired-note") };
    const ticked = Object.keys(boxes).filter((s) => !(opts.untick ?? []).includes(s));
    page = await browser.submit(page, "#consent-form", { grant: ticked, dont_ask_again: opts.dontAskAgain ? "1" : null }, { button: ["decision", "allow"], stopAt: [CALLBACK] });
  }
  const code = callbackParams(page, CALLBACK, start.state).get("code");
  if (!code) throw new Error(`no code at ${page.url}`);
  const tokens = await exchangeCode(stack, { clientId: p.clientId, secret: stack.secrets[SECRETS[p.clientId]!], code, redirectUri: CALLBACK });
  return { shown, tokens };
}

const consent = async (audienceId: string) => (await findRows(stack.db, "consents", { userId: user.id, audienceId }))[0] ?? null;
const events = (audienceId: string) => findRows(stack.db, "consent_events", { userId: user.id, audienceId }, "id");

test("an optional scope left unticked: not stored, missing from the token's scope, asked again next time", async () => {
  const browser = new Browser();
  const first = await authorize(browser, params("shop-web", "openid email shop.orders newsletter"), { untick: ["newsletter"] });
  // email is optional for shop-web only, newsletter for every client; openid and shop.orders are fixed.
  expect(first.shown!.boxes).toEqual({ email: true, newsletter: true });
  expect(first.shown!.fresh).toEqual(["openid", "email", "shop.orders", "newsletter"]);
  expect(first.tokens.scope!.split(" ").sort()).toEqual(["email", "openid", "shop.orders"]);
  expect((await introspect(stack, first.tokens.access_token)).scope.split(" ").sort()).toEqual(["email", "openid", "shop.orders"]);
  expect((await consent("shop"))!.scopes).toEqual(["openid", "email", "shop.orders"]);
  expect((await consent("shop"))!.declinedScopes).toEqual([]);

  // Another client of the audience asking for it: the page asks for the newsletter alone.
  const again = await authorize(browser, params("shop-app", "openid email newsletter"));
  expect(again.shown).toMatchObject({ fresh: ["newsletter"], granted: ["openid", "email"], boxes: { newsletter: true } });
  expect(again.tokens.scope!.split(" ").sort()).toEqual(["email", "newsletter", "openid"]);
  expect((await consent("shop"))!.scopes).toEqual(["openid", "email", "shop.orders", "newsletter"]);
});

test("\"don't ask again\": later requests pass without the page and without the scope; /account lets it be asked again", async () => {
  const browser = new Browser();
  const first = await authorize(browser, params("shop-web", "openid shop.orders newsletter"), { untick: ["newsletter"], dontAskAgain: true });
  expect(first.tokens.scope!.split(" ").sort()).toEqual(["openid", "shop.orders"]);
  expect((await consent("shop"))).toMatchObject({ scopes: ["openid", "shop.orders"], declinedScopes: ["newsletter"] });
  expect((await events("shop")).map((e) => [e.action, e.scopesAdded, e.scopesRemoved])).toEqual([
    ["GRANT", ["openid", "shop.orders"], []],
    ["DECLINE", [], ["newsletter"]],
  ]);

  const silent = await authorize(browser, params("shop-app", "openid shop.orders newsletter"));
  expect(silent.shown).toBeNull();
  expect(silent.tokens.scope!.split(" ").sort()).toEqual(["openid", "shop.orders"]);

  // prompt=consent shows it again, unticked.
  const forced = await authorize(browser, params("shop-app", "openid newsletter", { prompt: "consent" }), { untick: ["newsletter"] });
  expect(forced.shown).toMatchObject({ fresh: ["newsletter"], boxes: { newsletter: false } });
  expect((await consent("shop"))!.declinedScopes).toEqual(["newsletter"]);

  // /account lists the choice; "Allow asking again" forgets it.
  const account = await browser.get(`${stack.appUrl}/account`);
  expect(listed(account, 'section[data-audience="shop"] li[data-declined]', "data-declined")).toEqual(["newsletter"]);
  const after = await browser.submit(account, 'section[data-audience="shop"] li[data-declined="newsletter"] form');
  expect(after.status).toBe(200);
  expect(after.text("#notice")).toContain("may ask for that permission again");
  expect((await consent("shop"))!.declinedScopes).toEqual([]);
  const asked = await authorize(browser, params("shop-app", "openid shop.orders newsletter"));
  expect(asked.shown).toMatchObject({ fresh: ["newsletter"], boxes: { newsletter: true } });
  // Both choices are in the account's activity.
  const activity = (await browser.get(`${stack.appUrl}/account`)).text("#activity");
  expect(activity).toContain("Chose not to share something with Shop");
  expect(activity).toContain("Let Shop ask again for something you had declined");
});

test("removing one permission on /account: the audience's tokens stop working, the rest stays, the next request asks for it alone", async () => {
  const browser = new Browser();
  const web = await authorize(browser, params("shop-web", "openid email shop.orders"));
  const app = await authorize(browser, params("shop-app", "openid shop.orders"));
  expect(app.shown).toBeNull();

  const account = await browser.get(`${stack.appUrl}/account`);
  const section = account.$('section[data-audience="shop"]');
  expect(listed(account, 'section[data-audience="shop"] ul.scopes:not(.declined) > li')).toEqual(["openid", "email", "shop.orders"]);
  // openid is what signing in is: it goes only with the whole consent ("Revoke access").
  expect(section.find('li[data-scope="openid"] form').length).toBe(0);
  // The link is a GET form (the confirmation page asks first).
  const form = section.find('li[data-scope="email"] form');
  expect(form.attr("method")).toBe("get");
  const query = new URLSearchParams(form.find("input").map((_, el) => [[account.$(el).attr("name")!, account.$(el).attr("value")!]]).get() as [string, string][]);
  const confirm = await browser.get(`${new URL(form.attr("action")!, account.url)}?${query}`);
  expect(path(confirm)).toBe("/account/consents/revoke");
  expect(confirm.text("h1")).toContain("Remove this permission from Shop");
  expect(listed(confirm, "#revoke-scopes li")).toEqual(["email"]);
  const done = await browser.submit(confirm, "#revoke-form");
  expect(done.status).toBe(200);
  expect(done.text("#notice")).toContain("The permission was removed");

  expect((await consent("shop"))!.scopes).toEqual(["openid", "shop.orders"]);
  const last = (await events("shop")).at(-1)!;
  expect([last.action, last.scopesAdded, last.scopesRemoved, last.clientId]).toEqual(["REVOKE", [], ["email"], null]);
  for (const t of [web.tokens, app.tokens]) expect((await introspect(stack, t.access_token)).active).toBe(false);

  const next = await authorize(browser, params("shop-web", "openid email shop.orders"));
  expect(next.shown).toMatchObject({ fresh: ["email"], granted: ["openid", "shop.orders"] });
  expect(next.tokens.scope!.split(" ").sort()).toEqual(["email", "openid", "shop.orders"]);

  // A permission the consent does not hold, or a made-up one: a clear 404 / 400, nothing changed.
  const missing = await browser.get(`${stack.appUrl}/account/consents/revoke?audience=shop&scope=newsletter`);
  expect(missing.status).toBe(404);
  const bad = await browser.get(`${stack.appUrl}/account/consents/revoke?audience=shop&scope=${encodeURIComponent('a "b"')}`);
  expect(bad.status).toBe(400);
  expect((await consent("shop"))!.scopes).toEqual(["openid", "shop.orders", "email"]);
});

test("consent-ttl: Hydra remembers the consent no longer than it lasts, /account shows when it ends, an expired one is asked again", async () => {
  const browser = new Browser();
  const before = Date.now();
  await authorize(browser, params("club-web", "openid profile"));
  const res = await fetch(`${stack.hydraAdminUrl}/admin/oauth2/auth/sessions/consent?subject=${user.id}`);
  const sessions = (await res.json()) as { remember_for: number; consent_request: { client: { client_id: string } } }[];
  const club = sessions.filter((s) => s.consent_request.client.client_id === "club-web");
  expect(club).toHaveLength(1);
  expect(club[0]!.remember_for).toBeGreaterThan(3500);
  expect(club[0]!.remember_for).toBeLessThanOrEqual(3600);

  const account = await browser.get(`${stack.appUrl}/account`);
  const expiry = account.$('section[data-audience="club"] .expiry time').attr("datetime")!;
  expect(Math.abs(new Date(expiry).getTime() - (before + 3600_000))).toBeLessThan(60_000);
  expect(account.text('section[data-audience="club"] .expiry')).toContain("Asked again after");

  // Within its lifetime: silent. Two hours later (the stored approval moved back): asked again,
  // the page saying what it held; approving renews it.
  expect((await authorize(browser, params("club-web", "openid profile"))).shown).toBeNull();
  await updateRows(stack.db, "consents", { userId: user.id, audienceId: "club" }, { confirmedAt: new Date(Date.now() - 2 * 3600_000) });
  const renewed = await authorize(browser, params("club-web", "openid profile"));
  expect(renewed.shown).toMatchObject({ fresh: ["openid", "profile"], granted: [] });
  expect(renewed.shown!.expiredNote).toContain("has expired");
  const row = (await consent("club"))!;
  expect(row.scopes).toEqual(["openid", "profile"]);
  expect(Math.abs(row.confirmedAt.getTime() - Date.now())).toBeLessThan(60_000);

  // An expired consent under prompt=none: consent_required, no page.
  await updateRows(stack.db, "consents", { userId: user.id, audienceId: "club" }, { confirmedAt: new Date(Date.now() - 2 * 3600_000) });
  const start = await startAuthorization(browser, stack, params("club-web", "openid profile", { prompt: "none" }));
  expect(callbackParams(start.page, CALLBACK, start.state).get("error")).toBe("consent_required");
});

test("an audience without consent-ttl: /account says the consent lasts until revoked", async () => {
  const browser = new Browser();
  await authorize(browser, params("shop-web", "openid shop.orders"));
  const account = await browser.get(`${stack.appUrl}/account`);
  expect(account.text('section[data-audience="shop"] .expiry')).toBe("Lasts until you revoke it.");
});
