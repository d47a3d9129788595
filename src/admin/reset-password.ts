// Admin script: send a user a password-recovery mail (the same single-use, hashed link as "Forgot
// password?", queueRecoveryMail), optionally ending the user's access everywhere first.
// Usage: npm run user:reset-password -- --email ada@example.com [--revoke]
//
// The mail is written to the outbox like every mail of the app, then this command sends due mail
// once (SMTP_URL, MAIL_FROM) before it exits and says whether it was sent or is waiting in the
// outbox for the running app to retry. --revoke (the "account compromised" case) also ends every app
// session, every Hydra login session and every Hydra consent session (so every token) of the user;
// Hydra's admin API (HYDRA_ADMIN_URL) is checked first and nothing is done when it does not answer.
// The password itself is not changed: it keeps working until the user sets a new one with the link
// (to lock the account at once, use user:disable or user:create --reset-password).
// Exit codes: 0 mail written (sent, or queued for retry); 1 a usage problem, an unknown or disabled
// user, Hydra unreachable (nothing done); 2 --revoke done only in part (it says what; run it again).
import "./node-version"; // first: an older Node.js stops here, with a message, before anything crashes it
import { parseArgs } from "node:util";
import { loadEnv } from "../config/env";
import { createCommandPool, type Queryable } from "../services/db";
import { createMailer, type Mailer } from "../services/mail";
import { createStore, type Store } from "../services/store";
import type { MailState } from "../store/outbox";
import { createLogger } from "../logger";
import { queueRecoveryMail } from "../flows/mail-links";
import { noteActivity } from "../flows/activity";
import { describeAccessEnded, endUserAccess, EndUserAccessError, type AccessEnded } from "../flows/credential-change";
import { emailOption, readyHydra, UsageError } from "./manage-user";

/** How long the command waits for a mail that a running app's poll claimed before it (ms). */
const OTHER_SENDER_WAIT_MS = 5000;

/**
 * The settings an admin command that sends a mail needs, from the environment (the app's other
 * required settings are not needed here). `link`: the mail carries a link, so APP_BASE_URL must be set.
 */
export function mailSettings(opts: { link: boolean } = { link: true }) {
  if (opts.link && !process.env.APP_BASE_URL) throw new UsageError("APP_BASE_URL is not set (the app's public URL, the start of the link in the mail)");
  const pick = (names: string[]) => Object.fromEntries(names.flatMap((n) => (process.env[n] !== undefined ? [[n, process.env[n]]] : [])));
  return loadEnv({
    ...pick(["DATABASE_URL", "APP_BASE_URL", "SMTP_URL", "MAIL_FROM", "SMTP_TIMEOUT_MS", "RECOVERY_TTL_SECONDS", "BRAND_PRODUCT_NAME", "BRAND_SUPPORT_URL"]),
    // Required by the app's settings, not used by these commands.
    HYDRA_ADMIN_URL: process.env.HYDRA_ADMIN_URL ?? "http://127.0.0.1:4445",
    SESSION_SECRETS: "unused-by-this-command-".padEnd(32, "x"),
  });
}

/** The app's mailer on an admin command's pool: it sends only when asked (flush), never on a timer of its own. */
export function commandMailer(pool: Queryable, env: ReturnType<typeof mailSettings>): Mailer {
  return createMailer({
    pool,
    smtpUrl: env.SMTP_URL,
    from: env.MAIL_FROM,
    timeoutMs: env.SMTP_TIMEOUT_MS,
    logger: createLogger("silent"),
    pollMs: 3_600_000,
    productName: env.BRAND_PRODUCT_NAME,
  });
}

/**
 * Sends due mail until the outbox row `outboxId` (written by this command) was tried once, and
 * returns where it stands then (rows go oldest first, 20 a round).
 */
export async function sendQueuedMail(store: Pick<Store, "mailState">, mailer: Mailer, outboxId: string): Promise<MailState | null> {
  let row = await store.mailState(outboxId);
  for (let round = 0; round < 10 && row && !row.sentAt && row.attempts === 0; round++) {
    await mailer.flush();
    row = await store.mailState(outboxId);
  }
  // A running app's outbox poll may have claimed it first and be sending it right now: its answer
  // (sent, or the SMTP server's error) is waited for, a few seconds at most, so that what the
  // command says is what happened.
  for (let waited = 0; row && !row.sentAt && row.attempts > 0 && !row.lastError && waited < OTHER_SENDER_WAIT_MS; waited += 100) {
    await new Promise((r) => setTimeout(r, 100));
    row = await store.mailState(outboxId);
  }
  return row;
}

/** "<what> sent to <to><sent>", or "<what> queued for <to> but NOT sent yet…" (the mail stays in the outbox). */
export function describeMail(row: MailState | null, what: string, to: string, smtpUrl: string, sent = ""): string {
  return row?.sentAt
    ? `${what} sent to ${to}${sent}`
    : `${what} queued for ${to} but NOT sent yet${row?.lastError ? `: the SMTP server at ${redactUrl(smtpUrl)} did not take it (${row.lastError})` : ""}; it stays in the outbox and the running app sends it (retrying with back-off)`;
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { email: { type: "string" }, revoke: { type: "boolean", default: false } } });
  const email = emailOption(values.email);
  const env = mailSettings({ link: true });
  const hydra = values.revoke ? await readyHydra("--revoke") : null;

  const pool = createCommandPool(env.DATABASE_URL, 2);
  const mailer = commandMailer(pool, env);
  try {
    const store = createStore({ pool });
    const user = await store.findUserByEmail(email);
    if (!user) throw new UsageError(`there is no user ${email}; no mail was sent`);
    if (user.disabledAt) throw new UsageError(`user ${user.email} is disabled (since ${user.disabledAt.toISOString()}), so a recovery link would not work; run user:enable first. No mail was sent.`);
    const who = `user ${user.email} (id ${user.id})`;

    const outboxId = await store.transaction(async (tx) => {
      // The mail is in English: a command has no browser to take a language from, and a user's
      // language is not stored.
      await queueRecoveryMail(tx, env, user, "en");
      await noteActivity(tx, { userId: user.id, kind: "admin_password_reset" });
      return (await store.newestMailId(tx, user.email, "recovery"))!;
    });

    let ended: AccessEnded | null = null;
    let failure: EndUserAccessError | null = null;
    if (hydra) {
      try {
        ended = await endUserAccess({ store, hydra, userId: user.id, revokeTokens: true });
      } catch (err) {
        if (!(err instanceof EndUserAccessError)) throw err;
        failure = err;
      }
    }

    const row = await sendQueuedMail(store, mailer, outboxId);
    const mail = describeMail(row, "recovery mail", user.email, env.SMTP_URL, ` (the link works once, for ${Math.round(env.RECOVERY_TTL_SECONDS / 60)} minutes)`);

    if (failure) {
      console.error(
        [
          `user:reset-password: ${who}: ${mail}; BUT THE USER'S ACCESS WAS NOT FULLY ENDED (--revoke).`,
          `  done: ${describeAccessEnded(failure.ended)}`,
          ...failure.failures.map((f) => `  not done: ${f}`),
          "  Run the same command again once the problem is fixed (it sends a new mail; only the newest link works).",
        ].join("\n"),
      );
      return 2;
    }
    console.log(`${who}: ${mail}${ended ? `; ${describeAccessEnded(ended)}` : ""}`);
    return 0;
  } finally {
    await mailer.close();
    await pool.end();
  }
}

/** smtps://user:secret@host → smtps://user:***@host (the output never shows a password). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(SMTP_URL)";
  }
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      console.error(`user:reset-password: ${(err as Error).message}`);
      process.exit(1);
    },
  );
}
