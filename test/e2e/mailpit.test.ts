// The mail harness against the real Mailpit the stack starts (test/support/mailpit.ts): what the
// verification and recovery tests rely on — mail sent over SMTP is read back through Mailpit's HTTP
// API with its links, and stopping Mailpit really makes SMTP refuse connections until it is back —
// and the web inbox that `npm run dev` sends people to.
import { randomBytes } from "node:crypto";
import vm from "node:vm";
import nodemailer from "nodemailer";
import { startStack, type Stack } from "../support/stack";
import type { Mailpit } from "../support/mailpit";
import { demoConfig } from "../support/fixtures";
import { createMailer, enqueueMail } from "../../src/services/mail";
import { createPool } from "../../src/services/db";
import { createDatabase, databaseUrl, dropDatabase, uniqueName } from "../support/pg";
import { createLogger } from "../../src/logger";
import { countRows, getRow, insertRow } from "../support/db";

jest.setTimeout(60_000);

let stack: Stack;
let mailpit: Mailpit;

beforeAll(async () => {
  stack = await startStack({ config: demoConfig() });
  mailpit = stack.mailpit!;
});
afterAll(async () => stack?.stop());

const address = (name: string) => `${name}-${randomBytes(4).toString("hex")}@example.com`;

function send(opts: { to: string; subject: string; text: string; html?: string }) {
  const { hostname, port } = new URL(mailpit.smtpUrl);
  const transport = nodemailer.createTransport({ host: hostname, port: Number(port), connectionTimeout: 5000, greetingTimeout: 5000, socketTimeout: 5000 });
  return transport.sendMail({ from: "Sign-in service <no-reply@localhost>", ...opts });
}

test("the app's SMTP_URL is the stack's own Mailpit, on 127.0.0.1", () => {
  expect(mailpit.smtpUrl).toMatch(/^smtp:\/\/127\.0\.0\.1:\d+$/);
  expect(mailpit.apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect(stack.env.SMTP_URL).toBe(mailpit.smtpUrl);
  expect(stack.env.MAIL_FROM).toBe("Sign-in service <no-reply@localhost>");
});

// The inbox people open (npm run dev prints it): the Go module leaves out the web UI's built files,
// so scripts/build-mailpit.sh builds them; a Mailpit built without them answers 404 for its scripts.
test("Mailpit's web inbox is served: its page, the script and stylesheet it loads, and the API docs page's script", async () => {
  const page = await fetch(`${mailpit.apiUrl}/`);
  expect(page.status).toBe(200);
  expect(page.headers.get("content-type")).toMatch(/^text\/html/);
  const html = await page.text();
  expect(html).toContain("<title>Mailpit</title>");
  const script = html.match(/<script src="(\/dist\/app\.js[^"]*)"/)?.[1];
  const stylesheet = html.match(/<link rel=stylesheet href="(\/dist\/app\.css[^"]*)"/)?.[1];
  expect({ script, stylesheet }).toEqual({ script: expect.stringMatching(/^\/dist\/app\.js/), stylesheet: expect.stringMatching(/^\/dist\/app\.css/) });

  const js = await fetch(`${mailpit.apiUrl}${script}`);
  expect(js.status).toBe(200);
  expect(js.headers.get("content-type")).toMatch(/^application\/javascript/);
  const code = await js.text();
  expect(code.length).toBeGreaterThan(100_000); // the bundled Vue app, not a stub
  expect(() => new vm.Script(code, { filename: "app.js" })).not.toThrow(); // JavaScript that compiles

  const css = await fetch(`${mailpit.apiUrl}${stylesheet}`);
  expect(css.status).toBe(200);
  expect(css.headers.get("content-type")).toMatch(/^text\/css/);

  const docs = await fetch(`${mailpit.apiUrl}/api/v1/`);
  expect(docs.status).toBe(200);
  expect(await docs.text()).toContain('<script src="../../dist/docs.js"');
  const docsJs = await fetch(`${mailpit.apiUrl}/dist/docs.js`);
  expect(docsJs.status).toBe(200);
  expect(docsJs.headers.get("content-type")).toMatch(/^application\/javascript/);
  expect(await docsJs.text()).toContain("rapi-doc"); // the <rapi-doc> element the page uses
});

test("mail sent over SMTP is found through the API, with its text, HTML and links", async () => {
  const to = address("Ada");
  // Same domain and a longer local part that contains `to`: Mailpit's to: search would match it too.
  await send({ to: `x${to}`, subject: "Verify your email address", text: "not for Ada" });
  await send({
    to: `Ada Lovelace <${to}>`,
    subject: "Verify your email address",
    text: `Hello Ada,\r\n\r\nopen http://127.0.0.1:3000/verify-email?token=abc123&x=1.\r\nOr enter the code 123456.\r\nHelp: https://example.com/help, thanks.\r\n`,
    html: `<p>Hello Ada, <a href="http://127.0.0.1:3000/verify-email?token=abc123&amp;x=1">verify</a></p>`,
  });

  const mail = await mailpit.waitForMessage({ to: to.toUpperCase(), subject: /verify your email/i });
  expect(mail.to).toEqual([to.toLowerCase()]);
  expect(mail.from).toBe("no-reply@localhost");
  expect(mail.subject).toBe("Verify your email address");
  expect(mail.text).toContain("Or enter the code 123456.\n");
  expect(mail.text).not.toContain("\r");
  expect(mail.html).toContain('<a href="http://127.0.0.1:3000/verify-email?token=abc123&amp;x=1">');
  expect(mailpit.links(mail)).toEqual(["http://127.0.0.1:3000/verify-email?token=abc123&x=1", "https://example.com/help"]);

  const listed = await mailpit.messages(to);
  expect(listed.map((m) => ({ id: m.id, to: m.to, subject: m.subject }))).toEqual([{ id: mail.id, to: [to.toLowerCase()], subject: mail.subject }]);
  expect((await mailpit.messages()).length).toBeGreaterThanOrEqual(2);

  await expect(mailpit.waitForMessage({ to, subject: /password/i, timeoutMs: 300 })).rejects.toThrow(/no message to .* within 300 ms/);
});

test("stop() makes SMTP refuse connections; start() brings it back on the same ports", async () => {
  const { smtpUrl, apiUrl } = mailpit;
  await mailpit.stop();
  await expect(send({ to: address("down"), subject: "lost", text: "x" })).rejects.toThrow(/ECONNREFUSED/);
  await expect(fetch(`${apiUrl}/api/v1/messages`)).rejects.toThrow();

  await mailpit.start();
  expect(mailpit.smtpUrl).toBe(smtpUrl);
  expect(mailpit.apiUrl).toBe(apiUrl);
  expect(stack.env.SMTP_URL).toBe(smtpUrl);
  const to = address("back");
  await send({ to, subject: "Back again", text: "Recover: http://127.0.0.1:3000/recovery?token=t" });
  const mail = await mailpit.waitForMessage({ to });
  expect(mail.subject).toBe("Back again");
  expect(mailpit.links(mail)).toEqual(["http://127.0.0.1:3000/recovery?token=t"]);
});

test("deleteAll() empties the mailbox", async () => {
  const to = address("gone");
  await send({ to, subject: "soon deleted", text: "x" });
  await mailpit.waitForMessage({ to });
  await mailpit.deleteAll();
  expect(await mailpit.messages()).toEqual([]);
});

test("the server's sender polls on the plain pg pool: it sends due mail, marks it sent, and removes mail sent over a week ago", async () => {
  // A database of its own: no running app's sender competes for the rows.
  const dbName = uniqueName("outbox");
  await createDatabase(dbName, process.env.TEST_APP_DB_TEMPLATE);
  const pool = createPool(databaseUrl(dbName), { max: 2 });
  const mailer = createMailer({ pool, smtpUrl: mailpit.smtpUrl, from: stack.env.MAIL_FROM, timeoutMs: 5000, logger: createLogger("silent"), pollMs: 3_600_000 });
  try {
    const to = address("outbox");
    const old = address("old");
    const recent = address("recent");
    await insertRow(pool, "outbox", { to: old, template: "account-exists", data: {}, sentAt: new Date(Date.now() - 8 * 86_400_000) });
    await insertRow(pool, "outbox", { to: recent, template: "account-exists", data: {}, sentAt: new Date(Date.now() - 6 * 86_400_000) });
    await enqueueMail(pool, { to, userId: null, template: "account-exists", data: { email: to, name: null, recoveryLink: "http://127.0.0.1/recovery" } });
    // The first round sends; the next one finds nothing due and removes what was sent over a week ago.
    expect(await mailer.flush()).toBe(1);
    const row = await getRow(pool, "outbox", { to });
    expect(row.sentAt).toBeInstanceOf(Date);
    expect(row.attempts).toBe(1);
    expect((await mailpit.waitForMessage({ to, timeoutMs: 10_000 })).text).toContain("http://127.0.0.1/recovery");
    expect(await mailer.flush()).toBe(0);
    expect(await countRows(pool, "outbox", { to: old })).toBe(0);
    expect(await countRows(pool, "outbox", { to: recent })).toBe(1);
  } finally {
    await mailer.close();
    await pool.end();
    await dropDatabase(dbName);
  }
});
