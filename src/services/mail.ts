// The one module that sends mail. Messages are rendered from templates in views/mail/ (plain text
// and HTML, all their words in the template so they can be translated) and go through a
// transactional outbox: the row is written together with what caused it (a sign-up, a recovery
// request), and a worker in every replica sends due rows over SMTP (nodemailer), claiming them
// atomically and retrying with back-off while the SMTP server is unreachable. So a sign-up never
// fails because of mail, and no mail is lost.
import path from "node:path";
import ejs from "ejs";
import nodemailer from "nodemailer";
import type { Db } from "./db";
import { ROOT_DIR } from "../paths";
import type { Logger } from "../logger";
import { OUTBOX_MAX_ATTEMPTS, retryDelaySeconds } from "../decisions/outbox";

export type MailTemplate = "verify-email" | "account-exists" | "recovery" | "password-changed" | "change-email" | "change-email-taken" | "email-changed";

export interface OutgoingMail {
  to: string;
  template: MailTemplate;
  data: Record<string, unknown>;
}

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

/** "2026-11-28 14:05": how mails write times (UTC). */
export const mailTime = (d: Date) => d.toISOString().slice(0, 16).replace("T", " ");

const MAIL_DIR = path.join(ROOT_DIR, "views", "mail");

/** Renders a template: `<name>.text.ejs` starts with a "Subject: …" line; `<name>.html.ejs` is the HTML body. */
export async function renderMail(template: MailTemplate, data: Record<string, unknown>): Promise<RenderedMail> {
  const textWithSubject = await ejs.renderFile(path.join(MAIL_DIR, `${template}.text.ejs`), data, { async: false });
  const [first = "", ...rest] = textWithSubject.split("\n");
  const m = /^Subject:\s*(.+)$/.exec(first);
  if (!m) throw new Error(`mail template ${template}.text.ejs must start with "Subject: …"`);
  const html = await ejs.renderFile(path.join(MAIL_DIR, `${template}.html.ejs`), data, { async: false });
  return { subject: m[1]!.trim(), text: rest.join("\n").replace(/^\n+/, ""), html };
}

type Tx = Pick<Db, "outboxMail">;

/** Writes a mail into the outbox (inside the caller's transaction when `tx` is one). */
export async function enqueueMail(tx: Tx, mail: OutgoingMail): Promise<void> {
  await tx.outboxMail.create({ data: { to: mail.to, template: mail.template, data: mail.data as object } });
}

export interface Mailer {
  /** Sends due mail now (also runs every pollMs). Resolves when this round is done. */
  flush(): Promise<number>;
  /** Asks the worker to send soon, without waiting. */
  kick(): void;
  close(): Promise<void>;
}

export function createMailer(opts: { db: Db; smtpUrl: string; from: string; timeoutMs: number; logger: Logger; pollMs?: number }): Mailer {
  const transport = nodemailer.createTransport(opts.smtpUrl, {
    connectionTimeout: opts.timeoutMs,
    greetingTimeout: opts.timeoutMs,
    socketTimeout: opts.timeoutMs,
  } as object);
  let running: Promise<number> | null = null;
  let again = false;
  let closed = false;

  async function round(): Promise<number> {
    // Claim due rows atomically (every replica runs this): a claimed row is not due again for a minute.
    const rows = await opts.db.$queryRaw<{ id: bigint; to: string; template: MailTemplate; data: Record<string, unknown>; attempts: number }[]>`
      UPDATE outbox SET next_attempt_at = now() + interval '60 seconds', attempts = attempts + 1
      WHERE id IN (
        SELECT id FROM outbox WHERE sent_at IS NULL AND next_attempt_at <= now() AND attempts < ${OUTBOX_MAX_ATTEMPTS}
        ORDER BY id LIMIT 20 FOR UPDATE SKIP LOCKED)
      RETURNING id, "to", template, data, attempts`;
    let sent = 0;
    for (const row of rows) {
      try {
        const mail = await renderMail(row.template, row.data);
        await transport.sendMail({ from: opts.from, to: row.to, subject: mail.subject, text: mail.text, html: mail.html });
        await opts.db.$executeRaw`UPDATE outbox SET sent_at = now(), last_error = NULL WHERE id = ${row.id}`;
        sent++;
      } catch (err) {
        const delay = retryDelaySeconds(row.attempts);
        opts.logger.warn({ err, mail: String(row.id), template: row.template, attempts: row.attempts, retryInSeconds: delay }, "mail not sent; will retry");
        await opts.db.$executeRaw`
          UPDATE outbox SET next_attempt_at = now() + make_interval(secs => ${delay}), last_error = ${String((err as Error).message).slice(0, 500)}
          WHERE id = ${row.id}`.catch(() => undefined);
      }
    }
    // Sent mail is kept a week for support questions, then removed.
    if (rows.length === 0) await opts.db.$executeRaw`DELETE FROM outbox WHERE sent_at < now() - interval '7 days'`;
    return sent;
  }

  function flush(): Promise<number> {
    if (running) {
      again = true; // mail written while a round runs is sent right after it
      return running;
    }
    running = round()
      .catch((err) => {
        opts.logger.warn({ err }, "mail outbox round failed");
        return 0;
      })
      .finally(() => {
        running = null;
        if (again && !closed) {
          again = false;
          void flush();
        }
      });
    return running;
  }

  const timer = setInterval(() => void flush(), opts.pollMs ?? 2000);
  timer.unref();

  return {
    flush,
    kick: () => {
      if (!closed) void flush();
    },
    async close() {
      closed = true;
      clearInterval(timer);
      await running;
      transport.close();
    },
  };
}
