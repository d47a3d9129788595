// Mail in the person's language: every template renders in English and German (subject, text and
// HTML), names the product, writes times in the mail's language in UTC, and mails written before
// mails were translated (no data.lng, "2026-11-28 14:05" times, English data.how) still render.
import { ENQUEUE_MAIL, enqueueMail, mailDate, mailDateTime, renderMail, type MailTemplate } from "../../src/services/mail";
import type { Queryable } from "../../src/services/db";

const WHEN = "2026-11-28T14:05:00.000Z";
const DATA: Record<MailTemplate, Record<string, unknown>> = {
  "verify-email": { name: "Ada <Lovelace> & O'Brien", email: "ada@example.com", link: "http://app.test/verification?token=abc&x=1", code: "123456", expiresAt: WHEN },
  "account-exists": { name: "", email: "ada@example.com", recoveryLink: "http://app.test/recovery" },
  recovery: { name: "Ada", email: "ada@example.com", link: "http://app.test/recovery/reset?token=abc", expiresAt: WHEN },
  "password-changed": { name: "Ada", email: "ada@example.com", when: WHEN, how: "recovery" },
  "change-email": { name: "Ada", email: "new@example.com", link: "http://app.test/account/email/confirm?token=abc", expiresAt: WHEN },
  "change-email-taken": { email: "new@example.com", recoveryLink: "http://app.test/recovery" },
  "email-changed": { name: "Ada", oldEmail: "old@example.com", newEmail: "new@example.com", when: WHEN },
  "factors-changed": { name: "Ada", email: "ada@example.com", when: WHEN, change: "code-used", left: 3 },
  "factors-reset": { name: "Ada", email: "ada@example.com", when: WHEN, supportUrl: "https://help.example.com/" },
  "new-sign-in": { name: "Ada", email: "ada@example.com", when: WHEN, browserWords: { key: "account:where.browserOn", values: { browser: "Firefox", os: "Linux" } }, network: "203.0.113.0/24", accountUrl: "https://login.example.com/account" },
};
const TEMPLATES = Object.keys(DATA) as MailTemplate[];

describe("renderMail", () => {
  test.each(TEMPLATES)("%s: English and German differ, both name the product, no gaps", async (template) => {
    const en = await renderMail(template, { ...DATA[template], lng: "en" }, { productName: "Acme Login" });
    const de = await renderMail(template, { ...DATA[template], lng: "de" }, { productName: "Acme Login" });
    for (const m of [en, de]) {
      expect(m.subject).toMatch(/ – Acme Login$/);
      expect(`${m.subject}\n${m.text}\n${m.html}`).not.toMatch(/undefined|null|\{\{|mail:/);
      expect(m.text).not.toMatch(/<\/?(strong|a)\b/);
    }
    expect(de.subject).not.toBe(en.subject);
    expect(de.text).not.toBe(en.text);
    expect(en.html).toContain('<html lang="en">');
    expect(de.html).toContain('<html lang="de">');
  });

  test("recovery in German: subject, greeting, link and the time in German, in UTC", async () => {
    const m = await renderMail("recovery", { ...DATA.recovery, lng: "de" }, { productName: "Acme Login" });
    expect(m.subject).toBe("Passwort zurücksetzen – Acme Login");
    expect(m.text).toContain("Guten Tag Ada,");
    expect(m.text).toContain("http://app.test/recovery/reset?token=abc");
    expect(m.text).toContain("läuft am 28. Nov. 2026, 14:05 UTC ab");
    expect(m.html).toContain('<a href="http://app.test/recovery/reset?token=abc"');
  });

  test("factors-reset: what happened, what it means, whom to contact (the support link only when there is one)", async () => {
    const en = await renderMail("factors-reset", { ...DATA["factors-reset"], lng: "en" });
    expect(en.subject).toBe("The second factors of your account were removed by an administrator – Sign-in service");
    expect(en.text).toContain("on Nov 28, 2026, 2:05 PM UTC an administrator removed the second factors of your account ada@example.com");
    expect(en.text).toContain("signing in needs only your password. Set up a new authenticator on your account page");
    expect(en.text).toContain("If you did not ask for this, contact support right away");
    expect(en.text).toContain("\nhttps://help.example.com/\n");
    expect(en.html.replace(/&#x2F;/g, "/")).toContain('<a href="https://help.example.com/">contact support</a>'); // th escapes "/" in values
    const none = await renderMail("factors-reset", { ...DATA["factors-reset"], supportUrl: "", lng: "de" });
    expect(none.subject).toBe("Die zweiten Faktoren Ihres Kontos wurden von einem Administrator entfernt – Sign-in service");
    expect(none.text).toContain("wenden Sie sich sofort an den Support");
    expect(`${none.text}${none.html}`).not.toMatch(/https?:|<a /);
  });

  test("English keeps its wording; the time says UTC", async () => {
    const m = await renderMail("verify-email", { ...DATA["verify-email"], lng: "en" });
    expect(m.subject).toBe("Confirm your email address – Sign-in service");
    expect(m.text).toContain("enter this code there: 123456");
    expect(m.text).toContain("expire on Nov 28, 2026, 2:05 PM UTC.");
    expect(m.html).toContain("Confirm my email address");
  });

  test("plain text is not escaped, HTML is", async () => {
    const m = await renderMail("verify-email", { ...DATA["verify-email"], lng: "en" });
    expect(m.text).toContain("Hello Ada <Lovelace> & O'Brien,");
    expect(m.text).toContain("http://app.test/verification?token=abc&x=1");
    expect(m.html).toContain("Hello Ada &lt;Lovelace&gt; &amp; O&#39;Brien,");
    expect(m.html).toContain("<strong>ada@example.com</strong>");
  });

  test("mails queued before translation: no lng is English, mailTime's UTC time and English how still work", async () => {
    const m = await renderMail("password-changed", { name: "Ada", email: "ada@example.com", when: "2026-11-28 14:05", how: "on your account page (the browser used for it stays signed in)" });
    expect(m.subject).toBe("Your password was changed – Sign-in service");
    expect(m.text).toContain("was changed on Nov 28, 2026, 2:05 PM UTC on your account page (the browser used for it stays signed in).");
    const de = await renderMail("password-changed", { name: "Ada", email: "ada@example.com", when: "2026-11-28 14:05", how: "with a password-reset link", lng: "de" });
    expect(de.text).toContain("am 28. Nov. 2026, 14:05 UTC über einen Link zum Zurücksetzen des Passworts geändert");
  });

  test("an unknown language is English", async () => {
    const m = await renderMail("recovery", { ...DATA.recovery, lng: "fr" });
    expect(m.subject).toBe("Reset your password – Sign-in service");
  });
});

test("times in mail data", () => {
  expect(mailDate("2026-11-28 14:05")?.toISOString()).toBe(WHEN);
  expect(mailDate(WHEN)?.toISOString()).toBe(WHEN);
  expect(mailDate(new Date(WHEN))?.toISOString()).toBe(WHEN);
  expect(mailDate("soon")).toBeNull();
  expect(mailDateTime(new Date(WHEN), "en")).toBe("Nov 28, 2026, 2:05 PM UTC");
  expect(mailDateTime(new Date(WHEN), "de")).toBe("28. Nov. 2026, 14:05 UTC");
});

test("enqueueMail keeps the language in the row's data (the mail's lng, else data.lng, else en)", async () => {
  const rows: unknown[] = [];
  const tx: Queryable = {
    async query(text, values) {
      expect(text).toBe(ENQUEUE_MAIL);
      const [to, template, data] = values as [string, string, string];
      rows.push({ to, template, data: JSON.parse(data) });
      return { rows: [], rowCount: 1 };
    },
  };
  await enqueueMail(tx, { to: "a@example.com", userId: null, template: "recovery", lng: "de", data: { name: "A" } });
  await enqueueMail(tx, { to: "b@example.com", userId: null, template: "recovery", data: { name: "B", lng: "de" } });
  await enqueueMail(tx, { to: "c@example.com", userId: null, template: "recovery", data: { name: "C" } });
  expect(rows).toEqual([
    { to: "a@example.com", template: "recovery", data: { name: "A", lng: "de" } },
    { to: "b@example.com", template: "recovery", data: { name: "B", lng: "de" } },
    { to: "c@example.com", template: "recovery", data: { name: "C", lng: "en" } },
  ]);
});
