// The one module that sends mail. Messages are rendered from templates in views/mail/ (plain text
// and HTML; their words are in locales/<lng>/mail.json, in the language of the page where the person
// asked for the mail, kept with the mail as data.lng; the subject names the product) and go through a
// transactional outbox: the row is written together with what caused it (a sign-up, a recovery
// request), and a worker in every replica sends due rows over SMTP (nodemailer), claiming them
// atomically and retrying with back-off while the SMTP server is unreachable. So a sign-up never
// fails because of mail, and no mail is lost.
import path from "node:path";
import ejs from "ejs";
import nodemailer from "nodemailer";
import { claimDueMail, insertMail, markMailFailed, markMailSent, pruneSentMail } from "../store/outbox";
import type { Queryable } from "../store/sql";
import { oneAtATime } from "./one-at-a-time";
import { ROOT_DIR } from "../paths";
import type { Logger } from "../logger";
import { OUTBOX_MAX_ATTEMPTS, retryDelaySeconds } from "../decisions/outbox";
import { DEFAULT_LANGUAGE, fixedT, htmlT, isLanguage, type Language, type T } from "../i18n";

export type MailTemplate = "verify-email" | "account-exists" | "recovery" | "password-changed" | "change-email" | "change-email-taken" | "email-changed" | "factors-changed" | "factors-reset" | "new-sign-in";

export interface OutgoingMail {
  to: string;
  /** The account the mail is about (null: none): its deletion deletes the mail in the same statement. */
  userId: string | null;
  template: MailTemplate;
  data: Record<string, unknown>;
  /**
   * The language of the mail: the language of the page where the person asked for it (lngOf(res)).
   * Kept in the outbox row as data.lng (no own column); "en" when neither this nor data.lng is given.
   */
  lng?: Language;
}

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

/**
 * "2026-11-28 14:05" (UTC). Mails no longer use it (they get times as ISO strings and write them
 * with formatDateTime in their language); kept for pages that still show times this way.
 */
export const mailTime = (d: Date) => d.toISOString().slice(0, 16).replace("T", " ");

const MAIL_DIR = path.join(ROOT_DIR, "views", "mail");

/** The product name when none is configured (BRAND_PRODUCT_NAME's default). */
export const DEFAULT_PRODUCT_NAME = "Sign-in service";

/** A time in mail data: a Date, an ISO string, or "2026-11-28 14:05" (UTC: mailTime, rows written before mails were translated). */
export function mailDate(value: unknown): Date | null {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value;
  if (typeof value !== "string") return null;
  const legacy = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2})$/.exec(value);
  const d = new Date(legacy ? `${legacy[1]}T${legacy[2]}:00Z` : value);
  return Number.isNaN(d.getTime()) ? null : d;
}

/**
 * How mails write a time: in the mail's language, in UTC, naming the zone ("Nov 28, 2026, 2:05 PM UTC",
 * "28. Nov. 2026, 14:05 UTC"). Its own options, not i18n's formatDateTime: Intl refuses dateStyle and
 * timeStyle together with timeZoneName ("Can't set option timeZoneName when dateStyle is used").
 */
export function mailDateTime(d: Date, lng: Language): string {
  return new Intl.DateTimeFormat(lng, { year: "numeric", month: "short", day: "numeric", hour: "numeric", minute: "2-digit", timeZone: "UTC", timeZoneName: "short" }).format(d);
}

/**
 * For plain-text mail: the same translations as the HTML mail, with their markup (<strong>, <a>)
 * left out. Values are put in after the markup is removed, so they are never cut.
 */
function plainT(t: T): T {
  return (key, values) => {
    const kept: string[] = [];
    const marked = Object.fromEntries(
      Object.entries(values ?? {}).map(([k, v]) => (typeof v === "string" && k !== "context" ? [k, `\u0000${kept.push(v) - 1}\u0000`] : [k, v])),
    );
    return t(key, marked)
      .replace(/<[^>]*>/g, "")
      .replace(/\u0000(\d+)\u0000/g, (_, i: string) => kept[Number(i)]!);
  };
}

/** What `password-changed`'s data.how said in English before mails were translated → its translation's context. */
const LEGACY_HOW: Record<string, string> = {
  "with a password-reset link": "recovery",
  "on your account page (the browser used for it stays signed in)": "account",
};

/**
 * Renders a template in the mail's language (data.lng, else English): `<name>.text.ejs` starts with
 * a "Subject: …" line; `<name>.html.ejs` is the HTML body. Templates get `t` (in the text template it
 * leaves out markup), `th` (HTML: markup kept, values escaped), `lng`, `product` and
 * `formatDateTime` (in the mail's language, in UTC, naming the zone), besides the data.
 */
export async function renderMail(template: MailTemplate, data: Record<string, unknown>, opts: { productName?: string } = {}): Promise<RenderedMail> {
  const lng: Language = isLanguage(data.lng) ? data.lng : DEFAULT_LANGUAGE;
  const t = fixedT(lng);
  const how = typeof data.how === "string" ? (LEGACY_HOW[data.how] ?? data.how) : data.how;
  const locals = {
    // No name given (a mail to an address nobody has confirmed greets nobody): plain "Hello".
    name: "",
    ...data,
    how,
    lng,
    product: opts.productName ?? DEFAULT_PRODUCT_NAME,
    formatDateTime: (value: unknown) => {
      const d = mailDate(value);
      return d ? mailDateTime(d, lng) : String(value ?? "");
    },
  };
  // Plain text is not HTML: nothing is escaped there.
  const textWithSubject = await ejs.renderFile(path.join(MAIL_DIR, `${template}.text.ejs`), { ...locals, t: plainT(t) }, { async: false, escape: (s: unknown) => String(s ?? "") });
  const [first = "", ...rest] = textWithSubject.split("\n");
  const m = /^Subject:\s*(.+)$/.exec(first);
  if (!m) throw new Error(`mail template ${template}.text.ejs must start with "Subject: …"`);
  const html = await ejs.renderFile(path.join(MAIL_DIR, `${template}.html.ejs`), { ...locals, t, th: htmlT(t) }, { async: false });
  return { subject: m[1]!.trim(), text: rest.join("\n").replace(/^\n+/, ""), html };
}

/** The statement enqueueMail runs. */
export { ENQUEUE_MAIL } from "../store/outbox";

/** Writes a mail into the outbox (inside the caller's transaction when `tx` is one: store.transaction). */
export async function enqueueMail(tx: Queryable, mail: OutgoingMail): Promise<void> {
  const lng = mail.lng ?? (isLanguage(mail.data.lng) ? mail.data.lng : DEFAULT_LANGUAGE);
  await insertMail(tx, { to: mail.to, template: mail.template, data: JSON.stringify({ ...mail.data, lng }), userId: mail.userId });
}

export interface Mailer {
  /** Sends due mail now (also runs every pollMs). Resolves when this round is done. */
  flush(): Promise<number>;
  /** Asks the worker to send soon, without waiting. */
  kick(): void;
  close(): Promise<void>;
}

export function createMailer(opts: {
  smtpUrl: string;
  from: string;
  timeoutMs: number;
  logger: Logger;
  pollMs?: number;
  /**
   * The server's plain pg pool: every statement of the worker (the poll, every pollMs on every
   * replica, mostly finding nothing; marking rows sent or failed; removing old ones) runs on it
   * (an admin command's pool in user:reset-password).
   */
  pool: Queryable;
  /** BRAND_PRODUCT_NAME: named in every mail's subject (DEFAULT_PRODUCT_NAME when not given). */
  productName?: string;
}): Mailer {
  const sql: Queryable = opts.pool;
  const transport = nodemailer.createTransport(opts.smtpUrl, {
    connectionTimeout: opts.timeoutMs,
    greetingTimeout: opts.timeoutMs,
    socketTimeout: opts.timeoutMs,
  } as object);
  let prunedAt = 0;
  let closed = false;

  async function round(): Promise<number> {
    // Claim due rows atomically (every replica runs this): a claimed row is not due again for a minute.
    const rows = await claimDueMail<MailTemplate>(sql, OUTBOX_MAX_ATTEMPTS);
    let sent = 0;
    for (const row of rows) {
      try {
        const mail = await renderMail(row.template, row.data, { productName: opts.productName });
        await transport.sendMail({ from: opts.from, to: row.to, subject: mail.subject, text: mail.text, html: mail.html });
        // Sent: its links and codes are of no more use here, and whoever reads the table must not use them.
        await markMailSent(sql, row.id);
        sent++;
      } catch (err) {
        const delay = retryDelaySeconds(row.attempts);
        opts.logger.warn({ err, mail: String(row.id), template: row.template, attempts: row.attempts, retryInSeconds: delay }, "mail not sent; will retry");
        // Tried again after the delay; after the last attempt, never (and its secrets go).
        await markMailFailed(sql, row.id, delay, String((err as Error).message).slice(0, 500), OUTBOX_MAX_ATTEMPTS).catch(() => undefined);
      }
    }
    // Sent mail is kept a week for support questions, then removed (checked every ten minutes).
    if (rows.length === 0 && Date.now() - prunedAt > 10 * 60_000) {
      prunedAt = Date.now();
      await pruneSentMail(sql);
    }
    return sent;
  }

  // Mail written while a round runs is sent right after it.
  const rounds = oneAtATime(
    () =>
      round().catch((err) => {
        opts.logger.warn({ err }, "mail outbox round failed");
        return 0;
      }),
    () => closed,
  );
  const flush = rounds.run;

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
      await rounds.current;
      transport.close();
    },
  };
}
