// Sign-up and invitations through the real flow (real Hydra, real PostgreSQL), in all four
// registration modes.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import path from "node:path";
import { Browser, type Page } from "../support/browser";
import { startStack, type Stack } from "../support/stack";
import { CALLBACK, appSessionUser, createUser } from "../support/fixtures";
import { exchangeCode, jwtPayload, startAuthorization } from "../support/oauth";
import { createStore, type Store } from "../../src/services/store";
import { ROOT } from "../support/paths";
import { countRows, findRow, findRows, getRow, updateRows } from "../support/db";

jest.setTimeout(120_000);

let stack: Stack;
let store: Store;
const PASSWORD = "correct horse battery staple";

const client = (id: string, audience: string) => ({ id, name: `${audience} web`, audience, "secret-env": `${id.toUpperCase().replace(/-/g, "_")}_SECRET`, "redirect-uris": [CALLBACK], scopes: ["openid", "profile", "email"] });

beforeAll(async () => {
  stack = await startStack({
    config: {
      audiences: [
        { id: "open", name: "Open App", "sign-up-enabled": true, "invitation-enabled": false },
        { id: "mixed", name: "Mixed App", "sign-up-enabled": true, "invitation-enabled": true },
        { id: "invite", name: "Invite App", "sign-up-enabled": false, "invitation-enabled": true, "start-url": "https://invite.example.org/start" },
        { id: "closed", name: "Closed App", "sign-up-enabled": false, "invitation-enabled": false },
      ],
      clients: [client("open-web", "open"), client("mixed-web", "mixed"), client("invite-web", "invite"), client("closed-web", "closed")],
    },
    appEnv: { REGISTRATION_MAX_PER_IP: "1000" },
  });
  store = createStore({ pool: stack.db });
});
afterAll(async () => stack?.stop());

let n = 0;
const newEmail = (tag = "new") => `${tag}-${Date.now()}-${++n}@Example.com`;
const userCount = () => countRows(stack.db, "users");
const invite = (audience: string, opts: { email?: string; expiresInMs?: number } = {}) =>
  store.createInvitation(audience, opts.email ?? null, new Date(Date.now() + (opts.expiresInMs ?? 3_600_000)));

async function loginPage(browser: Browser, clientId: string) {
  const start = await startAuthorization(browser, stack, { clientId, redirectUri: CALLBACK, scope: "openid profile email" });
  expect(new URL(start.page.url).pathname).toBe("/login");
  return start;
}

async function registrationPage(browser: Browser, clientId: string): Promise<{ page: Page; state: string }> {
  const start = await loginPage(browser, clientId);
  const href = start.page.$("#sign-up a").attr("href");
  expect(href).toBeTruthy();
  const page = await browser.get(new URL(href!, start.page.url).toString());
  expect(page.status).toBe(200);
  return { page, state: start.state };
}

/** A new account's sign-up holds the flow on "check your inbox"; the code from the mail continues it. */
const heldForVerification = (page: Page) => page.status === 200 && page.$("#code-form").length === 1;
async function continueWithCode(browser: Browser, page: Page, email: string): Promise<Page> {
  expect(heldForVerification(page)).toBe(true);
  const mail = await stack.mailpit!.waitForMessage({ to: email.toLowerCase(), subject: /Confirm your email address/ });
  const code = /code there: (\d{6})/.exec(mail.text)![1]!;
  return browser.submit(page, "#code-form", { code }, { stopAt: [CALLBACK] });
}

async function register(clientId: string, fields: Record<string, string>, browser = new Browser()) {
  const { page, state } = await registrationPage(browser, clientId);
  const result = await browser.submit(page, "#registration-form", { name: "Grace Hopper", password: PASSWORD, ...fields }, { stopAt: [CALLBACK] });
  return { browser, result, state };
}

describe("open (sign-up enabled, invitations off)", () => {
  test("anyone registers; after the code from the mail the login is accepted and the flow continues to consent and tokens", async () => {
    const email = newEmail();
    const { browser, page } = await (async () => {
      const b = new Browser();
      const r = await registrationPage(b, "open-web");
      expect(r.page.$("#invitation").length).toBe(0);
      return { browser: b, page: r.page, state: r.state };
    })();
    const held = await browser.submit(page, "#registration-form", { name: "Grace Hopper", email, password: PASSWORD });
    expect(held.text("#context")).toContain(email);
    const user = await findRow(stack.db, "users", { emailNormalized: email.toLowerCase() });
    expect(user).toMatchObject({ email, name: "Grace Hopper", emailVerified: false });
    expect(await appSessionUser(stack, browser)).toBeUndefined(); // not signed in before the address is confirmed
    const consent = await continueWithCode(browser, held, email);
    expect(new URL(consent.url).pathname).toBe("/consent");
    expect(await appSessionUser(stack, browser)).toBe(user!.id);

    const cb = await browser.submit(consent, "#consent-form", {}, { button: ["decision", "allow"], stopAt: [CALLBACK] });
    const code = new URL(cb.url).searchParams.get("code")!;
    const tokens = await exchangeCode(stack, { clientId: "open-web", secret: stack.secrets.OPEN_WEB_SECRET!, code, redirectUri: CALLBACK });
    expect(jwtPayload(tokens.id_token!)).toMatchObject({ sub: user!.id, aud: ["open-web"], email, name: "Grace Hopper" });
  });

  test("an invitation code is not accepted", async () => {
    const before = await userCount();
    const { code } = await invite("open");
    const { result } = await register("open-web", { email: newEmail(), invitation: code });
    expect(result.status).toBe(400);
    expect(result.text("#error")).toBe("Open App does not use invitations. Remove the invitation code to register.");
    expect(await userCount()).toBe(before);
  });

  test.each([
    ["a weak password", { password: "password1234" }, 400, /^This password is too easy to guess\./, "password"],
    ["a short password", { password: "Sh0rt!" }, 400, /^The password must be at least 10 characters long\.$/, "password"],
    ["a password made of the email", { email: "maximilian.mustermann@example.com", password: "Maximilian.Mustermann!" }, 400, /must not contain your email address/, "password"],
    ["a malformed email", { email: "not-an-email" }, 400, /^Email is not an email address\.$/, "email"],
    ["a missing name", { name: "" }, 400, /^Name is required\.$/, "name"],
  ])("%s is refused with a clear message tied to its field, the other fields kept, nothing created", async (_label, fields, status, message, field) => {
    const before = await userCount();
    const email = (fields as { email?: string }).email ?? newEmail();
    const { result } = await register("open-web", { email, name: "Grace Hopper", ...fields });
    expect(result.status).toBe(status);
    expect(result.text("#error")).toMatch(message);
    expect(result.$("#registration-form").length).toBe(1);
    expect(result.$(`#${field}`).attr("aria-invalid")).toBe("true");
    expect(result.$(`#${field}`).attr("aria-describedby")).toBe("error");
    expect(result.$(`#${field}`).attr("autofocus")).toBeDefined();
    expect(result.$("[autofocus]").length).toBe(1);
    expect(result.$("#email").attr("value")).toBe(email);
    expect(result.$("#name").attr("value")).toBe((fields as { name?: string }).name ?? "Grace Hopper");
    expect(result.$("#password").attr("value")).toBeUndefined(); // never sent back
    expect(await userCount()).toBe(before);
  });

  test("an address that has an account (any case) answers exactly like a new sign-up; the owner is told; nothing changes", async () => {
    const existing = await createUser(stack.db, { email: newEmail("dup") });
    const snapshot = await getRow(stack.db, "users", { id: existing.id });
    const before = await userCount();
    const typed = existing.email.toUpperCase();
    const { browser, result } = await register("open-web", { email: typed });
    const fresh = newEmail("fresh");
    const { result: newOne } = await register("open-web", { email: fresh });
    expect(result.status).toBe(newOne.status);
    // Tokens, challenges and the language switcher's links back to this flow differ; nothing else may.
    const shape = (p: Page, email: string) => p.html.split(email).join("EMAIL").replace(/value="[^"]{20,}"/g, 'value="…"').replace(/href="\/language\?[^"]*"/g, 'href="…"');
    expect(shape(result, typed)).toBe(shape(newOne, fresh));
    expect(await userCount()).toBe(before + 1); // only the fresh one
    expect(await getRow(stack.db, "users", { id: existing.id })).toEqual(snapshot);

    const told = await stack.mailpit!.waitForMessage({ to: existing.email.toLowerCase(), subject: /Someone tried to sign up/ });
    expect(told.text).toContain("/recovery");
    // Nothing here can complete: a code is "not right", continuing says "not verified yet".
    const wrong = await browser.submit(result, "#code-form", { code: "123456" });
    expect(wrong.status).toBe(400);
    expect(wrong.text("#error")).toBe("That code is not right. Please check the mail and try again.");
    const cont = await browser.submit(wrong, "#continue-form");
    expect(cont.status).toBe(409);
    const resent = await browser.submit(cont, "#resend-form");
    expect(resent.text("#notice")).toBe(`We sent a new mail to ${typed}. Only the newest mail's link and code work.`);
    expect(await appSessionUser(stack, browser)).toBeUndefined();
  });
});

describe("open + invitations", () => {
  test("anyone registers without an invitation", async () => {
    const email = newEmail();
    const { browser, result } = await register("mixed-web", { email });
    expect(await findRow(stack.db, "users", { emailNormalized: email.toLowerCase() })).toMatchObject({ emailVerified: false });
    expect(new URL((await continueWithCode(browser, result, email)).url).pathname).toBe("/consent");
  });

  test("an invitation bound to the email pre-verifies it and is used up", async () => {
    const email = newEmail("invited");
    const { code, invitation } = await invite("mixed", { email });
    const { result } = await register("mixed-web", { email: email.toUpperCase(), invitation: code });
    expect(new URL(result.url).pathname).toBe("/consent");
    const user = await findRow(stack.db, "users", { emailNormalized: email.toLowerCase() });
    expect(user).toMatchObject({ emailVerified: true });
    expect(await findRow(stack.db, "invitations", { id: invitation.id })).toMatchObject({ usedByUserId: user!.id, usedAt: expect.any(Date) });
  });

  test("a bad invitation is refused (with the hint that one is not needed)", async () => {
    const { result } = await register("mixed-web", { email: newEmail(), invitation: "doesnotexist1234567890" });
    expect(result.status).toBe(400);
    expect(result.text("#error")).toBe("This invitation code is not valid. Check the link you received. You can also register without an invitation.");
  });
});

describe("invitation-only", () => {
  test("without an invitation registration is refused and nothing is created", async () => {
    const before = await userCount();
    const { result } = await register("invite-web", { email: newEmail() });
    expect(result.status).toBe(403);
    expect(result.text("#error")).toBe("Registration for Invite App requires an invitation.");
    expect(await userCount()).toBe(before);
  });

  test("a valid invitation opens registration; it cannot be used twice", async () => {
    const { code, invitation } = await invite("invite");
    const email = newEmail();
    const { result } = await register("invite-web", { email, invitation: code });
    expect(heldForVerification(result)).toBe(true); // an invitation without an email does not vouch for the address
    const used = await findRow(stack.db, "invitations", { id: invitation.id });
    expect(used!.usedAt).not.toBeNull();

    const again = await register("invite-web", { email: newEmail(), invitation: code });
    expect(again.result.status).toBe(400);
    expect(again.result.text("#error")).toBe("This invitation has already been used.");
  });

  test.each([
    ["unknown", async () => "unknown-code-0123456789abcdef", "This invitation code is not valid. Check the link you received."],
    ["expired", async () => (await invite("invite", { expiresInMs: -1000 })).code, "This invitation has expired. Ask whoever invited you for a new one."],
    ["of another audience", async () => (await invite("mixed")).code, "This invitation is for another application; it cannot be used to register for Invite App."],
    ["bound to another email", async () => (await invite("invite", { email: "someone.else@example.com" })).code, "This invitation was issued for a different email address. Register with the address it was sent to."],
  ])("an invitation that is %s is refused with its own message, nothing created", async (_label, makeCode, message) => {
    const code = await makeCode();
    const before = await userCount();
    const { result } = await register("invite-web", { email: newEmail(), invitation: code });
    expect(result.status).toBe(400);
    expect(result.text("#error")).toBe(message);
    expect(await userCount()).toBe(before);
  });

  test("an invitation link opened outside a flow explains the next step, leads to the start URL and keeps the code", async () => {
    const { code } = await invite("invite");
    const browser = new Browser();
    const landing = await browser.get(`${stack.appUrl}/invitation?code=${code}`);
    expect(landing.status).toBe(200);
    expect(landing.text("h1")).toBe("You are invited to Invite App");
    expect(landing.text("#next-step")).toContain("choose Create account");
    expect(landing.$("#start").attr("href")).toBe("https://invite.example.org/start");

    // The application then starts a flow in the same browser: the code is filled in already.
    const start = await loginPage(browser, "invite-web");
    expect(start.page.text("#sign-up")).toContain("You have an invitation");
    const form = await browser.get(new URL(start.page.$("#sign-up a").attr("href")!, start.page.url).toString());
    expect(form.$("#invitation").attr("value")).toBe(code);
    const email = newEmail();
    const result = await browser.submit(form, "#registration-form", { name: "Grace Hopper", email, password: PASSWORD });
    expect(new URL((await continueWithCode(browser, result, email)).url).pathname).toBe("/consent");
  });

  test.each([
    ["unknown", async () => "unknown-code-0123456789abcdef", 404, "This invitation code is not valid."],
    ["used", async () => {
      const { code, invitation } = await invite("invite");
      await updateRows(stack.db, "invitations", { id: invitation.id }, { usedAt: new Date() });
      return code;
    }, 410, "This invitation has already been used."],
    ["expired", async () => (await invite("invite", { expiresInMs: -1 })).code, 410, "This invitation has expired."],
  ])("an invitation link that is %s shows a clear page", async (_label, makeCode, status, message) => {
    const page = await new Browser().get(`${stack.appUrl}/invitation?code=${await makeCode()}`);
    expect(page.status).toBe(status);
    expect(page.text("#error")).toContain(message);
  });

  test("20 concurrent redemptions of one invitation create exactly one account", async () => {
    const { code, invitation } = await invite("invite");
    const forms: { browser: Browser; page: Page }[] = [];
    for (let i = 0; i < 20; i++) {
      const browser = new Browser();
      forms.push({ browser, page: (await registrationPage(browser, "invite-web")).page });
    }
    const before = await userCount();
    const emails = forms.map(() => newEmail("race"));
    const results = await Promise.all(
      forms.map(({ browser, page }, i) => browser.submit(page, "#registration-form", { name: "Racer", email: emails[i]!, password: PASSWORD, invitation: code }, { stopAt: [CALLBACK] })),
    );
    const succeeded = results.filter(heldForVerification);
    const refused = results.filter((r) => r.status === 400);
    expect(succeeded).toHaveLength(1);
    expect(refused).toHaveLength(19);
    for (const r of refused) expect(r.text("#error")).toBe("This invitation has already been used.");
    expect(await userCount()).toBe(before + 1);
    const used = await findRow(stack.db, "invitations", { id: invitation.id });
    const created = await findRows(stack.db, "users", { emailNormalized: { in: emails.map((e) => e.toLowerCase()) } });
    expect(created).toHaveLength(1);
    expect(used!.usedByUserId).toBe(created[0]!.id);
  });
});

describe("closed", () => {
  test("no sign-up link, a clear page on GET, 403 on POST, nothing created", async () => {
    const browser = new Browser();
    const start = await loginPage(browser, "closed-web");
    expect(start.page.$("#sign-up").length).toBe(0);
    const challenge = new URL(start.page.url).searchParams.get("login_challenge")!;

    const get = await browser.get(`${stack.appUrl}/registration?login_challenge=${encodeURIComponent(challenge)}`);
    expect(get.status).toBe(403);
    expect(get.text("#error")).toBe("Registration is closed for Closed App.");

    const before = await userCount();
    const csrf = start.page.$('input[name="_csrf"]').attr("value")!;
    const post = await browser.post(
      `${stack.appUrl}/registration`,
      new URLSearchParams({ _csrf: csrf, login_challenge: challenge, email: newEmail(), name: "Mallory", password: PASSWORD }),
    );
    expect(post.status).toBe(403);
    expect(post.text("#error")).toBe("Registration is closed for Closed App.");
    expect(await userCount()).toBe(before);
  });
});

test("the invitation script prints a single-use link that works", async () => {
  const { stdout } = await promisify(execFile)(path.join(ROOT, "node_modules", ".bin", "tsx"), ["src/admin/create-invitation.ts", "--audience", "invite", "--email", "script@example.com", "--expires-in", "2d"], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: stack.env.DATABASE_URL, APP_BASE_URL: stack.appUrl },
  });
  const link = /^(http\S+\/invitation\?code=\S+)$/m.exec(stdout)?.[1];
  expect(link).toBeTruthy();
  expect(stdout).toContain("for script@example.com");
  const code = new URL(link!).searchParams.get("code")!;
  const stored = await findRow(stack.db, "invitations", { email: "script@example.com" });
  expect(stored!.codeHash).not.toContain(code);
  expect(stored!.expiresAt.getTime() - Date.now()).toBeGreaterThan(47 * 3600 * 1000);
  expect((await new Browser().get(link!)).status).toBe(200);

  // An audience that does not take invitations is refused by the script.
  await expect(
    promisify(execFile)(path.join(ROOT, "node_modules", ".bin", "tsx"), ["src/admin/create-invitation.ts", "--audience", "open"], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: stack.env.DATABASE_URL },
    }),
  ).rejects.toMatchObject({ stderr: expect.stringContaining('audience "open" does not accept invitations') });
});

describe("the page's language: the switcher, then the application's ui_locales, then Accept-Language", () => {
  /** A browser whose every request says Accept-Language: <value>. */
  class BrowserWithLanguage extends Browser {
    constructor(private readonly acceptLanguage: string) {
      super();
    }
    override fetch(url: string, init: Parameters<Browser["fetch"]>[1] = {}) {
      return super.fetch(url, { ...init, headers: { "accept-language": this.acceptLanguage, ...init.headers } });
    }
  }
  const lang = (page: Page) => page.$("html").attr("lang");
  const uiLocales = (browser: Browser, value: string) => startAuthorization(browser, stack, { clientId: "open-web", redirectUri: CALLBACK, scope: "openid profile email", extra: { ui_locales: value } });

  test("ui_locales=de in the authorization request: the sign-in page is German", async () => {
    const { page } = await uiLocales(new Browser(), "fr-CA de en");
    expect(new URL(page.url).pathname).toBe("/login");
    expect(lang(page)).toBe("de");
    expect(page.text("#login-form button[type=submit]")).toBe("Anmelden");
    expect(page.text("h1")).toBe("Anmelden");
    expect(page.text("#remember-hint")).toContain("Für 30 Tage");
    expect(page.$("title").text()).toMatch(/^Anmelden – /);
    expect(page.$("#password").attr("data-show-label")).toBe("Passwort anzeigen");
  });

  test("Accept-Language: de gives German; without any, English", async () => {
    const german = await loginPage(new BrowserWithLanguage("de-DE,de;q=0.9,en;q=0.5"), "open-web");
    expect(lang(german.page)).toBe("de");
    expect(german.page.text("#sign-up a")).toBe("Konto erstellen");
    const english = await loginPage(new Browser(), "open-web");
    expect(lang(english.page)).toBe("en");
    expect(english.page.text("#login-form button[type=submit]")).toBe("Sign in");
  });

  test("the language chosen on the switcher (GET /language) wins over ui_locales=en", async () => {
    const browser = new Browser();
    const { page } = await uiLocales(browser, "en");
    expect(lang(page)).toBe("en");
    const back = new URL(page.url).pathname + new URL(page.url).search;
    const switched = await browser.get(`${stack.appUrl}/language?lng=de&return=${encodeURIComponent(back)}`);
    expect(new URL(switched.url).pathname).toBe("/login");
    expect(lang(switched)).toBe("de");
    expect(switched.text("#login-form button[type=submit]")).toBe("Anmelden");
    // A new sign-in asking for English stays German for this person.
    const again = await uiLocales(browser, "en");
    expect(lang(again.page)).toBe("de");
  });

  test("a registration error in German names the problem in German (zxcvbn's feedback included), tied to its field", async () => {
    const browser = new Browser();
    const { page: login } = await uiLocales(browser, "de");
    const form = await browser.get(new URL(login.$("#sign-up a").attr("href")!, login.url).toString());
    expect(lang(form)).toBe("de");
    expect(form.text("h1")).toBe("Konto erstellen");
    expect(form.$("#password").attr("data-strength")).toBeDefined();
    expect(form.$('script[src="/static/strength.js"]').length).toBe(1);

    const weak = await browser.submit(form, "#registration-form", { name: "Grete Weiskopf", email: newEmail("de"), password: "password1234" });
    expect(weak.status).toBe(400);
    expect(lang(weak)).toBe("de");
    expect(weak.text("#error")).toBe(
      "Dieses Passwort ist zu leicht zu erraten. Dies weist Ähnlichkeit zu anderen oft verwendeten Passwörtern auf. Weitere Wörter, die weniger häufig vorkommen, hinzufügen.",
    );
    expect(weak.$("#password").attr("aria-describedby")).toBe("error");

    const noName = await browser.submit(weak, "#registration-form", { name: "", password: PASSWORD });
    expect(noName.status).toBe(400);
    expect(noName.text("#error")).toBe("Bitte geben Sie Ihren Namen an.");
    expect(noName.$("#name").attr("aria-invalid")).toBe("true");

    // Signed up from a German page: "check your inbox" and the verification mail are German too.
    const email = newEmail("de");
    const held = await browser.submit(noName, "#registration-form", { name: "Grete Weiskopf", email, password: PASSWORD });
    expect(heldForVerification(held)).toBe(true);
    expect(held.text("h1")).toBe("Bitte prüfen Sie Ihren Posteingang");
    expect(held.text("#context")).toContain(`Wir haben eine E-Mail an ${email} geschickt.`);
    await stack.mailpit!.waitForMessage({ to: email.toLowerCase(), subject: /^Bestätigen Sie Ihre E-Mail-Adresse/ });
  });

  test("POST /password-strength answers in the page's language; a strong password is acceptable; no CSRF token, no answer", async () => {
    const browser = new Browser();
    const { page: login } = await uiLocales(browser, "de");
    const form = await browser.get(new URL(login.$("#sign-up a").attr("href")!, login.url).toString());
    const csrf = form.$('#registration-form input[name="_csrf"]').attr("value")!;
    const check = async (fields: Record<string, string>) => {
      const res = await browser.fetch(`${stack.appUrl}/password-strength`, { method: "POST", body: new URLSearchParams(fields), headers: { accept: "application/json" } });
      return { status: res.status, json: (await res.json()) as { acceptable: boolean; score: number; feedback: string[] } };
    };

    const weak = await check({ _csrf: csrf, password: "password1234" });
    expect(weak.status).toBe(200);
    expect(weak.json.acceptable).toBe(false);
    expect(weak.json.score).toBeLessThan(3);
    expect(weak.json.feedback).toEqual([
      "Dieses Passwort ist zu leicht zu erraten.",
      "Dies weist Ähnlichkeit zu anderen oft verwendeten Passwörtern auf.",
      "Weitere Wörter, die weniger häufig vorkommen, hinzufügen.",
    ]);

    const strong = await check({ _csrf: csrf, password: PASSWORD, email: "grete@example.com", name: "Grete Weiskopf" });
    expect(strong).toEqual({ status: 200, json: { acceptable: true, score: 4, feedback: ["Gut: Dieses Passwort ist schwer zu erraten."] } });

    const personal = await check({ _csrf: csrf, password: "grete.weiskopf.2024!", email: "grete.weiskopf@example.com", name: "Grete Weiskopf" });
    expect(personal.json.acceptable).toBe(false);
    expect(personal.json.feedback[0]).toBe("Das Passwort darf weder Ihre E-Mail-Adresse noch einen großen Teil davon enthalten.");

    const withoutToken = await check({ password: PASSWORD });
    expect(withoutToken.status).toBe(403);
    const otherBrowser = await new Browser().fetch(`${stack.appUrl}/password-strength`, { method: "POST", body: new URLSearchParams({ _csrf: csrf, password: PASSWORD }), headers: { accept: "application/json" } });
    expect(otherBrowser.status).toBe(403);
  });
});
