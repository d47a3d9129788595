// Issue 10, self-service account (/account): the name, the email address (a link to the new address,
// a notice to the old one, a taken address not revealed), the password (other sessions end, this
// browser stays signed in), sign out everywhere, and deleting the account (tokens refused, the
// address can sign up again) — against the real Hydra, PostgreSQL and Mailpit.
import { Browser, type Page } from "../support/browser";
import { startStack, type Stack } from "../support/stack";
import { CALLBACK, appSessionUser, createUser, demoConfig, type TestUser } from "../support/fixtures";
import { callbackParams, exchangeCode, introspect, startAuthorization, tokenRequest } from "../support/oauth";
import { normalizeEmail } from "../../src/services/store";
import { verifyPassword } from "../../src/services/passwords";

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

const dbUser = (id: string) => stack.db.user.findUnique({ where: { id } });

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
  await stack.db.user.update({ where: { id: user.id }, data: { emailVerified: false } });
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
  expect(await stack.db.oneTimeToken.count({ where: { userId: user.id, kind: "CHANGE_EMAIL", usedAt: null } })).toBe(1);

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
  expect(await stack.db.oneTimeToken.count({ where: { userId: user.id } })).toBe(0);
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
  expect(await stack.db.session.count({ where: { sess: { path: ["userId"], equals: user.id } } })).toBe(0);
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
  expect(await stack.db.consent.count({ where: { userId: user.id } })).toBe(1);
  expect(await stack.db.consentEvent.count({ where: { userId: user.id } })).toBeGreaterThan(0);

  const page = await openAccount(browser); // remembered at Hydra: no password needed to get here
  expect(path(page)).toBe("/account");
  const done = await browser.submit(page, "#delete-form", { current_password: user.password });
  expect(done.status).toBe(200);
  expect(done.text("h1")).toBe("Account deleted");
  expect(done.text("#message")).toContain(`Your account ${user.email} was deleted`);

  expect(await dbUser(user.id)).toBeNull();
  expect(await stack.db.consent.count({ where: { userId: user.id } })).toBe(0);
  expect(await stack.db.consentEvent.count({ where: { userId: user.id } })).toBe(0);
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
  const reborn = await stack.db.user.findUnique({ where: { emailNormalized: normalizeEmail(user.email) } });
  expect(reborn).not.toBeNull();
  expect(reborn!.id).not.toBe(user.id);
  expect(reborn!.name).toBe("Ada Again");
});

test("every account form needs the CSRF token and an account sign-in", async () => {
  const user: TestUser = await createUser(stack.db);
  const { browser } = await signInToAccount(user);
  for (const action of ["/account/profile", "/account/email", "/account/password", "/account/sign-out-everywhere", "/account/delete"]) {
    const res = await browser.fetch(`${stack.appUrl}${action}`, { method: "POST", body: new URLSearchParams({ name: "X", current_password: user.password, new_password: NEW_PASSWORD, email: "x@example.com" }) });
    expect({ action, status: res.status }).toEqual({ action, status: 403 });
  }
  expect(await dbUser(user.id)).toMatchObject({ name: user.name, passwordHash: user.passwordHash, email: user.email });
  const res = await new Browser().fetch(`${stack.appUrl}/account/profile`, { method: "POST", body: new URLSearchParams({ name: "X" }) });
  expect(res.status).toBe(401);
});
