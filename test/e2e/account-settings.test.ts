// Self-service account (/account): the name, the email address (a link to the new address,
// a notice to the old one, a taken address not revealed), the password (other sessions end, this
// browser stays signed in), sign out everywhere, and deleting the account (tokens refused, the
// address can sign up again) — against the real Hydra, PostgreSQL and Mailpit.
// The page names audiences, applications and permissions in words (no ids), in the
// person's language; revoking asks first; "Sign out" ends this browser's sign-in only.
import * as cheerio from "cheerio";
import { Browser, type Page } from "../support/browser";
import { startStack, type Stack } from "../support/stack";
import { CALLBACK, appSessionUser, createUser, demoConfig, type TestUser } from "../support/fixtures";
import { callbackParams, exchangeCode, introspect, startAuthorization, tokenRequest } from "../support/oauth";
import { normalizeEmail } from "../../src/services/store";
import { formatDateTime } from "../../src/i18n";
import { verifyPassword } from "../../src/services/passwords";
import { countRows, countSessionsOf, findRow, updateRows } from "../support/db";

jest.setTimeout(120_000);

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ config: demoConfig({ scopes: ["openid", "profile", "email", "offline_access"] }) });
});
afterAll(async () => stack?.stop());

const NEW_PASSWORD = "quartz-meadow-lantern-47";
let counter = 0;
const newEmail = (what: string) => `${what}-${Date.now()}-${++counter}@example.com`;
const path = (page: Page) => new URL(page.url).pathname;

/** Opens /account in a new browser and signs in on the form it leads to ("remember me" ticked: Hydra remembers the browser). */
async function signInToAccount(user: { email: string; password: string }, browser = new Browser()): Promise<{ browser: Browser; page: Page }> {
  const form = await browser.get(`${stack.appUrl}/account`);
  expect(path(form)).toBe("/login");
  const page = await browser.submit(form, "#login-form", { email: user.email, password: user.password, remember: "on" });
  expect(path(page)).toBe("/account");
  expect(page.status).toBe(200);
  return { browser, page };
}

/** Where a browser ends up when it opens /account: the account page, or the sign-in form. */
async function openAccount(browser: Browser): Promise<Page> {
  return browser.get(`${stack.appUrl}/account`);
}

const dbUser = (id: string) => findRow(stack.db, "users", { id });

test("profile: the name changes (given and family name derived) and the page says so", async () => {
  const user = await createUser(stack.db, { name: "Grace Hopper" });
  const { browser, page } = await signInToAccount(user);
  expect(page.$("#name").attr("value")).toBe("Grace Hopper");
  const done = await browser.submit(page, "#profile-form", { name: "  Grace  Brewster Murray Hopper " });
  expect(path(done)).toBe("/account");
  expect(done.text("#notice")).toBe("Your name was changed.");
  expect(done.$("#name").attr("value")).toBe("Grace Brewster Murray Hopper");
  expect(await dbUser(user.id)).toMatchObject({ name: "Grace Brewster Murray Hopper", givenName: "Grace", familyName: "Brewster Murray Hopper" });
});

test("change email: the new address gets a link; only confirming it changes (and verifies) the address; the old address is told", async () => {
  const user = await createUser(stack.db);
  await updateRows(stack.db, "users", { id: user.id }, { emailVerified: false });
  const { browser, page } = await signInToAccount(user);
  const target = newEmail("moved");

  const sent = await browser.submit(page, "#email-form", { email: target, current_password: user.password });
  expect(path(sent)).toBe("/account");
  expect(sent.text("#notice")).toMatch(/We sent a link to the new address. Your address changes only when you open that link and confirm/);
  expect(sent.text("#pending-email")).toContain(target);
  expect(await dbUser(user.id)).toMatchObject({ email: user.email, emailVerified: false }); // nothing changed yet

  const mail = await stack.mailpit!.waitForMessage({ to: target, subject: /Confirm your new email address/ });
  const link = stack.mailpit!.links(mail).find((l) => l.startsWith(`${stack.appUrl}/account/email/confirm?token=`))!;
  expect(link).toBeTruthy();
  expect(mail.html).toContain("Confirm my new email address");

  // Opened on another device (not signed in): opening is not confirming.
  const phone = new Browser();
  const confirm = await phone.get(link);
  expect(confirm.status).toBe(200);
  expect(confirm.text("main")).toContain(target);
  expect((await dbUser(user.id))!.email).toBe(user.email);
  const done = await phone.submit(confirm, "#change-email-form");
  expect(done.status).toBe(200);
  expect(done.text("#message")).toContain(`is now ${target}`);
  expect(await dbUser(user.id)).toMatchObject({ email: target, emailNormalized: normalizeEmail(target), emailVerified: true });

  const notice = await stack.mailpit!.waitForMessage({ to: user.email, subject: /Your email address was changed/ });
  expect(notice.text).toContain(`from ${user.email} to ${target}`);

  // Used once; the account page shows the new address and no pending change; sign-in uses the new address.
  const reused = await new Browser().get(link);
  expect(reused.status).toBe(410);
  expect(reused.text("#error")).toMatch(/already used/);
  const after = await openAccount(browser);
  expect(after.text("#current-email")).toBe(target);
  expect(after.$("#pending-email").length).toBe(0);
  await signInToAccount({ email: target, password: user.password });
  const stranger = new Browser();
  const refused = await stranger.submit(await stranger.get(`${stack.appUrl}/account`), "#login-form", { email: user.email, password: user.password });
  expect(refused.status).toBe(401); // the old address no longer signs in
});

test("change email confirmed in the browser signed in to /account returns there with the confirmation", async () => {
  const user = await createUser(stack.db);
  const { browser, page } = await signInToAccount(user);
  const target = newEmail("same-browser");
  await browser.submit(page, "#email-form", { email: target, current_password: user.password });
  const mail = await stack.mailpit!.waitForMessage({ to: target, subject: /Confirm your new email address/ });
  const link = stack.mailpit!.links(mail).find((l) => l.includes("/account/email/confirm?token="))!;
  const done = await browser.submit(await browser.get(link), "#change-email-form");
  expect(path(done)).toBe("/account");
  expect(done.text("#notice")).toMatch(/changed and confirmed/);
  expect(done.text("#current-email")).toBe(target);
  // Another account signed in on a browser cannot use someone's link.
  const other = await createUser(stack.db);
  const { browser: otherBrowser, page: otherPage } = await signInToAccount(other);
  const third = newEmail("mixup");
  await otherBrowser.submit(otherPage, "#email-form", { email: third, current_password: other.password });
  const link2 = stack.mailpit!.links(await stack.mailpit!.waitForMessage({ to: third })).find((l) => l.includes("/account/email/confirm?token="))!;
  const mixup = await browser.get(link2);
  expect(mixup.status).toBe(403);
  expect(mixup.text("#error")).toMatch(/another account/);
});

test("change email to an address another account has (any case): the page says the same, that address is told, nothing changes", async () => {
  const user = await createUser(stack.db);
  const owner = await createUser(stack.db);
  const { browser, page } = await signInToAccount(user);

  const free = await browser.submit(page, "#email-form", { email: newEmail("free"), current_password: user.password });
  const taken = await browser.submit(free, "#email-form", { email: owner.email.toUpperCase(), current_password: user.password });
  expect(taken.status).toBe(free.status);
  expect(taken.text("#notice")).toBe(free.text("#notice"));
  expect(taken.$("#email-error").length).toBe(0);
  expect(taken.text("#pending-email")).toContain(owner.email.toUpperCase());

  const mail = await stack.mailpit!.waitForMessage({ to: owner.email, subject: /Someone tried to use your email address/ });
  expect(mail.text).not.toContain("/account/email/confirm");
  expect(await dbUser(user.id)).toMatchObject({ email: user.email });
  expect(await dbUser(owner.id)).toMatchObject({ email: owner.email, passwordHash: owner.passwordHash });
  // The earlier (free) request was replaced: its link no longer works.
  expect(await countRows(stack.db, "one_time_tokens", { userId: user.id, kind: "CHANGE_EMAIL", usedAt: null })).toBe(1);

  // The same address as now, in another case: nothing to do, said plainly.
  const same = await browser.submit(taken, "#email-form", { email: user.email.toUpperCase(), current_password: user.password });
  expect(same.text("#notice")).toMatch(/already your address/);
});

test("a wrong current password is refused with nothing changed (password, email, deletion)", async () => {
  const user = await createUser(stack.db);
  const { browser, page } = await signInToAccount(user);
  const mailsBefore = (await stack.mailpit!.messages(user.email)).length;

  const pw = await browser.submit(page, "#password-form", { current_password: "not my password", new_password: NEW_PASSWORD });
  expect(pw.status).toBe(400);
  expect(pw.text("#password-error")).toBe("Your current password is not right. Nothing was changed.");
  const target = newEmail("never");
  const em = await browser.submit(pw, "#email-form", { email: target, current_password: "not my password" });
  expect(em.status).toBe(400);
  expect(em.text("#email-error")).toMatch(/not right. Your address was not changed/);
  const del = await browser.submit(em, "#delete-form", { current_password: "not my password" });
  expect(del.status).toBe(400);
  expect(del.text("#delete-error")).toMatch(/not right. Your account was not deleted/);

  const after = await dbUser(user.id);
  expect(after).toMatchObject({ email: user.email, passwordHash: user.passwordHash, disabledAt: null });
  expect(await countRows(stack.db, "one_time_tokens", { userId: user.id })).toBe(0);
  expect(await appSessionUser(stack, browser)).toBe(user.id); // still signed in
  // A weak new password is refused too, with the sign-up rule's reason.
  const weak = await browser.submit(del, "#password-form", { current_password: user.password, new_password: "password123" });
  expect(weak.status).toBe(400);
  expect(weak.text("#password-error")).toMatch(/too easy to guess|at least 10 characters/);
  expect((await dbUser(user.id))!.passwordHash).toBe(user.passwordHash);

  await new Promise((r) => setTimeout(r, 500)); // a mail would have been sent by now
  expect((await stack.mailpit!.messages(user.email)).length).toBe(mailsBefore);
  expect(await stack.mailpit!.messages(target)).toHaveLength(0);
});

test("a password change ends the other browser's session (it is asked to sign in); this browser stays signed in; a mail says so", async () => {
  const user = await createUser(stack.db);
  const other = await signInToAccount(user); // another browser, remembered at Hydra
  const { browser, page } = await signInToAccount(user);
  expect(await appSessionUser(stack, other.browser)).toBe(user.id);

  const done = await browser.submit(page, "#password-form", { current_password: user.password, new_password: NEW_PASSWORD });
  expect(path(done)).toBe("/account");
  expect(done.text("#notice")).toMatch(/Your password was changed. Every other browser and device was signed out; this one stays signed in/);
  expect(await verifyPassword((await dbUser(user.id))!.passwordHash, NEW_PASSWORD)).toBe(true);

  // The other browser: its app session is gone, and Hydra no longer remembers it: the sign-in form.
  expect(await appSessionUser(stack, other.browser)).toBeUndefined();
  const asked = await openAccount(other.browser);
  expect(path(asked)).toBe("/login");
  expect(asked.$("#login-form").length).toBe(1);
  const oldRefused = await other.browser.submit(asked, "#login-form", { email: user.email, password: user.password });
  expect(oldRefused.status).toBe(401);

  // This browser is still in.
  const still = await openAccount(browser);
  expect(path(still)).toBe("/account");
  expect(still.text("#current-email")).toBe(user.email);
  expect(await appSessionUser(stack, browser)).toBe(user.id);

  const mail = await stack.mailpit!.waitForMessage({ to: user.email, subject: /Your password was changed/ });
  expect(mail.text).toContain("on your account page");
  await signInToAccount({ email: user.email, password: NEW_PASSWORD });
});

test("sign out everywhere ends every app session of the user, this one too, and Hydra's remembered sign-ins", async () => {
  const user = await createUser(stack.db);
  const other = await signInToAccount(user);
  const { browser, page } = await signInToAccount(user);
  const done = await browser.submit(page, "#sign-out-everywhere-form");
  expect(done.status).toBe(200);
  expect(done.text("h1")).toBe("Signed out everywhere");
  expect(done.text("#message")).toMatch(/You are signed out everywhere: 2 signed-in sessions of this site ended \(this browser's included\)/);
  for (const b of [browser, other.browser]) {
    expect(await appSessionUser(stack, b)).toBeUndefined();
    const asked = await openAccount(b);
    expect(path(asked)).toBe("/login");
  }
  expect(await countSessionsOf(stack.db, user.id)).toBe(0);
  expect(await dbUser(user.id)).not.toBeNull();
});

test("a deleted account's refresh token is refused, its consents and history are gone, and the address can sign up again", async () => {
  const user = await createUser(stack.db);
  const browser = new Browser();
  // An application got tokens (with a refresh token) through the user's consent.
  const start = await startAuthorization(browser, stack, { clientId: "demo-web", redirectUri: CALLBACK, scope: "openid profile offline_access" });
  const consent = await browser.submit(start.page, "#login-form", { email: user.email, password: user.password, remember: "on" });
  const cb = await browser.submit(consent, "#consent-form", {}, { button: ["decision", "allow"], stopAt: [CALLBACK] });
  const code = callbackParams(cb, CALLBACK, start.state).get("code")!;
  const tokens = await exchangeCode(stack, { clientId: "demo-web", secret: stack.secrets.DEMO_WEB_SECRET, code, redirectUri: CALLBACK });
  expect(tokens.refresh_token).toBeTruthy();
  expect(await countRows(stack.db, "consents", { userId: user.id })).toBe(1);
  expect(await countRows(stack.db, "consent_events", { userId: user.id })).toBeGreaterThan(0);

  const page = await openAccount(browser); // remembered at Hydra: no password needed to get here
  expect(path(page)).toBe("/account");
  const done = await browser.submit(page, "#delete-form", { current_password: user.password });
  expect(done.status).toBe(200);
  expect(done.text("h1")).toBe("Account deleted");
  expect(done.text("#message")).toContain(`Your account ${user.email} was deleted`);

  expect(await dbUser(user.id)).toBeNull();
  expect(await countRows(stack.db, "consents", { userId: user.id })).toBe(0);
  expect(await countRows(stack.db, "consent_events", { userId: user.id })).toBe(0);
  expect(await appSessionUser(stack, browser)).toBeUndefined();

  const refreshed = await tokenRequest(stack, { grant_type: "refresh_token", refresh_token: tokens.refresh_token! }, { clientId: "demo-web", secret: stack.secrets.DEMO_WEB_SECRET! });
  expect(refreshed.status).toBeGreaterThanOrEqual(400);
  expect(refreshed.json.error).toMatch(/invalid_grant|token_inactive|invalid_request/);
  expect((await introspect(stack, tokens.access_token)).active).toBe(false);

  // Hydra no longer remembers the browser: /account asks to sign in; the old password opens nothing.
  const asked = await openAccount(browser);
  expect(path(asked)).toBe("/login");

  // The address can sign up again: a new account (a new id) with the same address.
  const again = new Browser();
  const flow = await startAuthorization(again, stack, { clientId: "demo-web", redirectUri: CALLBACK, scope: "openid profile" });
  const form = await again.get(`${stack.appUrl}${flow.page.$("#sign-up a").attr("href")}`);
  await again.submit(form, "#registration-form", { email: user.email, name: "Ada Again", password: NEW_PASSWORD }, { stopAt: [CALLBACK] });
  const reborn = await findRow(stack.db, "users", { emailNormalized: normalizeEmail(user.email) });
  expect(reborn).not.toBeNull();
  expect(reborn!.id).not.toBe(user.id);
  expect(reborn!.name).toBe("Ada Again");
});

test("every account form needs the CSRF token and an account sign-in", async () => {
  const user: TestUser = await createUser(stack.db);
  const { browser } = await signInToAccount(user);
  for (const action of ["/account/profile", "/account/email", "/account/password", "/account/sign-out-everywhere", "/account/delete", "/account/sign-out", "/account/consents/revoke"]) {
    const res = await browser.fetch(`${stack.appUrl}${action}`, {
      method: "POST",
      body: new URLSearchParams({ name: "X", current_password: user.password, new_password: NEW_PASSWORD, email: "x@example.com", audience: "demo", confirm: "yes" }),
    });
    expect({ action, status: res.status }).toEqual({ action, status: 403 });
  }
  expect(await dbUser(user.id)).toMatchObject({ name: user.name, passwordHash: user.passwordHash, email: user.email });
  const res = await new Browser().fetch(`${stack.appUrl}/account/profile`, { method: "POST", body: new URLSearchParams({ name: "X" }) });
  expect(res.status).toBe(401);
});

/** An application (demo-web) gets tokens through the user's consent in this browser; the browser is remembered at Hydra. */
async function allowDemoApp(browser: Browser, user: TestUser) {
  const start = await startAuthorization(browser, stack, { clientId: "demo-web", redirectUri: CALLBACK, scope: "openid profile offline_access" });
  let page = start.page;
  if (path(page) === "/login") page = await browser.submit(page, "#login-form", { email: user.email, password: user.password, remember: "on" }, { stopAt: [CALLBACK] });
  if (path(page) === "/consent") page = await browser.submit(page, "#consent-form", {}, { button: ["decision", "allow"], stopAt: [CALLBACK] });
  const code = callbackParams(page, CALLBACK, start.state).get("code")!;
  return exchangeCode(stack, { clientId: "demo-web", secret: stack.secrets.DEMO_WEB_SECRET, code, redirectUri: CALLBACK });
}

/** The page a revoke button on /account leads to (its form is a GET form: it asks, it does not revoke). */
async function openRevoke(browser: Browser, account: Page, audience: string): Promise<Page> {
  const form = account.$(`section[data-audience="${audience}"] form.revoke-form`);
  expect(form.attr("method")).toBe("get");
  expect(form.find('input[name="_csrf"]').length).toBe(0);
  const url = new URL(form.attr("action")!, account.url);
  url.searchParams.set("audience", form.find('input[name="audience"]').val() as string);
  return browser.get(url.toString());
}

test("/account names the audience and its applications, the permissions in words (ids only as small print), dates as local times", async () => {
  const user = await createUser(stack.db);
  const browser = new Browser();
  await allowDemoApp(browser, user);
  const page = await openAccount(browser);
  expect(path(page)).toBe("/account");

  const section = page.$('section[data-audience="demo"]');
  expect(section.length).toBe(1);
  expect(section.find("h3").text().trim()).toBe("Demo App");
  expect(section.find(".clients").text()).toBe("Demo Web");
  const scopes = section.find(".scopes li").map((_, el) => ({ id: page.$(el).attr("data-scope"), words: page.$(el).contents().first().text().trim(), small: page.$(el).find(".scope-id").text() })).get();
  expect(scopes).toEqual([
    { id: "openid", words: "Sign you in with your account", small: "Permission: openid" },
    { id: "profile", words: "Your name", small: "Permission: profile" },
    { id: "offline_access", words: "Stay connected when you are not using it", small: "Permission: offline_access" },
  ]);
  // No identifier in the visible text but the permissions' small print.
  const visible = page.$("main").text();
  expect(visible).not.toMatch(/\bdemo\b|demo-web/); // the ids (the names are "Demo App" and "Demo Web")
  expect(visible.replace(/Permission: \S+/g, "")).not.toMatch(/\b(openid|offline_access)\b/);

  // Times: machine-readable, re-formatted by the browser; the server's text names its zone.
  const consent = (await findRow(stack.db, "consents", { userId: user.id, audienceId: "demo" }))!;
  const times = section.find("time[data-local]");
  expect(times.map((_, el) => page.$(el).attr("datetime")).get()).toEqual([consent.createdAt.toISOString(), consent.updatedAt.toISOString()]);
  expect(times.first().text()).toBe(formatDateTime(consent.createdAt, "en"));
  expect(times.first().text()).toMatch(/UTC/);

  // Password inputs (email, current and new password, download my data, deletion): a show/hide toggle each; the new one gets the strength meter.
  expect(page.$("input[type=password]").length).toBe(5);
  expect(page.$("input[type=password]:not([data-show-label])").length).toBe(0);
  expect(page.$("input[type=password][data-strength]").attr("id")).toBe("new-password");
  expect(page.$('script[src="/static/strength.js"]').length).toBe(1);
});

test("revoking asks first: the button opens a confirmation page; a post without the confirmation revokes nothing", async () => {
  const user = await createUser(stack.db);
  const browser = new Browser();
  const tokens = await allowDemoApp(browser, user);
  const account = await openAccount(browser);

  const confirm = await openRevoke(browser, account, "demo");
  expect(confirm.status).toBe(200);
  expect(path(confirm)).toBe("/account/consents/revoke");
  expect(confirm.text("h1")).toBe("Revoke access for Demo App?");
  expect(confirm.text("#revoke-clients")).toContain("Demo Web");
  expect(confirm.text("#revoke-means")).toMatch(/lose the access you allowed.*asks for your permission again/);
  expect(confirm.$("#revoke-scopes li").map((_, el) => confirm.$(el).attr("data-scope")).get()).toEqual(["openid", "profile", "offline_access"]);
  expect(confirm.$("#revoke-cancel").attr("href")).toBe("/account");
  expect(confirm.$("#revoke-form").attr("method")).toBe("post");
  // Opening the page changed nothing.
  expect(await countRows(stack.db, "consents", { userId: user.id })).toBe(1);

  // The old one-click form (audience and CSRF token, no confirmation) gets the confirmation page, nothing more.
  const csrf = confirm.$('#revoke-form input[name="_csrf"]').val() as string;
  const direct = await browser.post(`${stack.appUrl}/account/consents/revoke`, new URLSearchParams({ _csrf: csrf, audience: "demo" }));
  expect(direct.status).toBe(200);
  expect(path(direct)).toBe("/account/consents/revoke");
  expect(direct.text("h1")).toBe("Revoke access for Demo App?");
  expect(await countRows(stack.db, "consents", { userId: user.id })).toBe(1);
  expect(await countRows(stack.db, "consent_events", { userId: user.id, action: "REVOKE" })).toBe(0);
  expect((await introspect(stack, tokens.access_token)).active).toBe(true);

  // Cancel goes back; the consent is still listed.
  const back = await browser.get(new URL(confirm.$("#revoke-cancel").attr("href")!, confirm.url).toString());
  expect(back.$('section[data-audience="demo"]').length).toBe(1);

  // Confirmed: revoked, with the notice naming the audience.
  const done = await browser.submit(confirm, "#revoke-form");
  expect(path(done)).toBe("/account");
  expect(new URL(done.url).searchParams.get("revoked")).toBe("demo");
  expect(done.text("#notice")).toBe("Access for Demo App was revoked. Its applications will ask again next time.");
  expect(done.$('section[data-audience="demo"]').length).toBe(0);
  expect(done.$("#no-consents").length).toBe(1);
  expect(await countRows(stack.db, "consents", { userId: user.id })).toBe(0);
  expect((await introspect(stack, tokens.access_token)).active).toBe(false);

  // An unknown audience: a clear 404, not a page about nothing.
  const unknown = await browser.get(`${stack.appUrl}/account/consents/revoke?audience=no-such-audience`);
  expect(unknown.status).toBe(404);
  expect(unknown.text("#error")).toContain("There is no such application.");
});

test("sign out ends this browser's sign-in (the app session and Hydra's remembered sign-in); other devices stay signed in", async () => {
  const user = await createUser(stack.db);
  const other = await signInToAccount(user); // another device, remembered at Hydra
  const { browser, page } = await signInToAccount(user);
  const out = await browser.submit(page, "#sign-out-form");
  expect(out.status).toBe(200);
  expect(path(out)).toBe("/signed-out");
  // Through Hydra's own logout endpoint (so that Hydra clears its cookie too), answered on /logout
  // without a second question.
  expect(out.chain.some((u) => u.startsWith(`${stack.hydraPublicUrl}/oauth2/sessions/logout`))).toBe(true);
  expect(out.chain.some((u) => new URL(u).pathname === "/logout")).toBe(true);
  expect(await appSessionUser(stack, browser)).toBeUndefined();

  // This browser: /account asks for the password, and so does an application (no silent sign-in).
  const asked = await openAccount(browser);
  expect(path(asked)).toBe("/login");
  expect(asked.$("#login-form").length).toBe(1);
  const app = await startAuthorization(browser, stack, { clientId: "demo-web", redirectUri: CALLBACK, scope: "openid profile" });
  expect(path(app.page)).toBe("/login");
  expect(app.page.$("#login-form").length).toBe(1);
  const silent = await startAuthorization(browser, stack, { clientId: "demo-web", redirectUri: CALLBACK, scope: "openid", prompt: "none" });
  expect(callbackParams(silent.page, CALLBACK, silent.state).get("error")).toBe("login_required");
  // Signing in again without "stay signed in" works (Hydra's cookie no longer names the ended session).
  const fresh = await startAuthorization(browser, stack, { clientId: "demo-web", redirectUri: CALLBACK, scope: "openid profile" });
  const again = await browser.submit(fresh.page, "#login-form", { email: user.email, password: user.password }, { stopAt: [CALLBACK] });
  expect(path(again)).toBe("/consent");

  // The other device: still signed in to /account and still remembered at Hydra.
  expect(await appSessionUser(stack, other.browser)).toBe(user.id);
  expect(path(await openAccount(other.browser))).toBe("/account");
  const otherApp = await startAuthorization(other.browser, stack, { clientId: "demo-web", redirectUri: CALLBACK, scope: "openid profile" });
  expect(path(otherApp.page)).toBe("/consent");
});

test("sign out also ends a sign-in without 'stay signed in' (Hydra remembers it until the browser closes)", async () => {
  const user = await createUser(stack.db);
  const browser = new Browser();
  const form = await browser.get(`${stack.appUrl}/account`);
  const page = await browser.submit(form, "#login-form", { email: user.email, password: user.password });
  expect(path(page)).toBe("/account");
  expect(await browser.cookie(stack.hydraPublicUrl, "ory_hydra_session")).toMatchObject({ persistent: false });
  const out = await browser.submit(page, "#sign-out-form");
  expect(path(out)).toBe("/signed-out");
  // Hydra knew the browser: its logout asked this app (/logout) and cleared its cookie.
  expect(out.chain.some((u) => new URL(u).pathname === "/logout")).toBe(true);
  expect(path(await openAccount(browser))).toBe("/login");

  // An application asks for the password too; signing in again, without "stay signed in", works.
  const fresh = await startAuthorization(browser, stack, { clientId: "demo-web", redirectUri: CALLBACK, scope: "openid profile" });
  expect(fresh.page.$("#login-form").length).toBe(1);
  const consent = await browser.submit(fresh.page, "#login-form", { email: user.email, password: user.password }, { stopAt: [CALLBACK] });
  expect(path(consent)).toBe("/consent");
});

test("/account in German (Accept-Language: de): every word, dates in German", async () => {
  const user = await createUser(stack.db);
  const browser = new Browser();
  await allowDemoApp(browser, user);
  expect(path(await openAccount(browser))).toBe("/account");
  const res = await browser.fetch(`${stack.appUrl}/account`, { headers: { "accept-language": "de-DE,de;q=0.9,en;q=0.5" } });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-language")).toBe("de");
  const $ = cheerio.load(await res.text());
  expect($("html").attr("lang")).toBe("de");
  expect($("title").text()).toMatch(/^Ihr Konto – /);
  expect($("h1").text()).toBe("Ihr Konto");
  expect($("#sign-out-form button").text()).toBe("Abmelden");
  expect($("#password-form button[type=submit]").text()).toBe("Passwort ändern");
  expect($("#delete-form button[type=submit]").text()).toBe("Mein Konto löschen");
  expect($("h2").map((_, el) => $(el).text()).get()).toEqual(["Profil", "E-Mail-Adresse", "Passwort", "Wo Sie angemeldet sind", "Überall abmelden", "Anwendungen, denen Sie etwas erlaubt haben", "Zweiter Faktor", "Passkeys", "Letzte Aktivitäten", "Meine Daten herunterladen", "Konto löschen"]);
  // The stack is reached at 127.0.0.1: no passkeys there, and the page says why.
  expect($("#passkeys-unavailable").text()).toMatch(/^Passkeys können unter der Adresse dieser Website nicht angeboten werden/);
  expect($("#add-passkey-form").length).toBe(0);
  expect($("#factor-status").text()).toMatch(/^Kein zweiter Faktor ist eingerichtet/);
  expect($("#add-factor-form button").text()).toBe("Authenticator-App einrichten");
  expect($("#new-password").attr("data-show-label")).toBe("Passwort anzeigen");
  const section = $('section[data-audience="demo"]');
  expect(section.find(".revoke-form button").text()).toBe("Zugriff widerrufen");
  expect(section.find('li[data-scope="openid"] .scope-id').text()).toBe("Berechtigung: openid");
  const consent = (await findRow(stack.db, "consents", { userId: user.id }))!;
  expect(section.find("time").first().text()).toBe(formatDateTime(consent.createdAt, "de"));
  expect(section.find("p.muted").text()).toMatch(/^Zuerst erlaubt .+, zuletzt geändert .+\.$/);
  // No English sentence left in the page's own words.
  expect($("main").text()).not.toMatch(/\b(Your|Sign out|Password|Delete|Revoke|Allowed|Through)\b/);

  // The confirmation page too.
  const confirm = await browser.fetch(`${stack.appUrl}/account/consents/revoke?audience=demo`, { headers: { "accept-language": "de" } });
  const $c = cheerio.load(await confirm.text());
  expect($c("h1").text()).toBe("Zugriff für Demo App widerrufen?");
  expect($c("#revoke-cancel").text()).toBe("Abbrechen");
});

test("mails asked for on a German page are German (the new address's link, the password notice)", async () => {
  const user = await createUser(stack.db);
  const { browser } = await signInToAccount(user);
  await browser.jar.setCookie("lang=de", stack.appUrl); // the language switcher's choice
  const page = await openAccount(browser);
  expect(page.text("h1")).toBe("Ihr Konto");
  const target = newEmail("deutsch");
  const sent = await browser.submit(page, "#email-form", { email: target, current_password: user.password });
  expect(sent.text("#notice")).toMatch(/^Wir haben einen Link an die neue Adresse geschickt/);
  const link = await stack.mailpit!.waitForMessage({ to: target, subject: /Bestätigen Sie Ihre neue E-Mail-Adresse/ });
  expect(link.text).toContain("/account/email/confirm?token=");
  const changed = await browser.submit(sent, "#password-form", { current_password: user.password, new_password: NEW_PASSWORD });
  expect(changed.text("#notice")).toMatch(/^Ihr Passwort wurde geändert/);
  const notice = await stack.mailpit!.waitForMessage({ to: user.email, subject: /Ihr Passwort wurde geändert/ });
  expect(notice.text).toContain("auf Ihrer Kontoseite geändert");
});

test("download my data: after the current password, one JSON file of what is stored about the person, never a secret", async () => {
  const user = await createUser(stack.db, { name: "Ada Export" });
  const { browser, page } = await signInToAccount(user);
  const wrong = await browser.submit(page, "#export-form", { current_password: "not the password" });
  expect(wrong.status).toBe(400);
  expect(wrong.text("#export-error")).toMatch(/password/i);

  const body = new URLSearchParams({ _csrf: wrong.$("#export-form input[name=_csrf]").attr("value")!, current_password: user.password });
  const res = await browser.fetch(`${stack.appUrl}/account/export`, { method: "POST", body });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  expect(res.headers.get("content-disposition")).toMatch(/^attachment; filename="my-data-\d{4}-\d{2}-\d{2}\.json"$/);
  const data = (await res.json()) as Record<string, any>;
  expect(data).toMatchObject({ format: "hydra-audience-login/user-export/v1", profile: { id: user.id, email: user.email, name: "Ada Export" } });
  expect(data.sessions.length).toBeGreaterThanOrEqual(1);
  const text = JSON.stringify(data);
  const row = await findRow(stack.db, "users", { id: user.id });
  expect(text).not.toContain(row!.passwordHash);
  expect(text).not.toContain(user.password);
});
