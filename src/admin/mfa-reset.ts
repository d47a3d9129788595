// Admin script: remove a user's second factors, for a person who lost both their authenticator and
// their recovery codes, once their identity was checked out of band (README: "Removing a user's
// second factors").
// Usage: npm run user:mfa-reset -- --email ada@example.com
//
// Order: Hydra's admin API (HYDRA_ADMIN_URL) is checked first and nothing is done when it does not
// answer. Then, in one durable transaction, the user's authenticator, recovery codes and what their
// login sessions reached are removed and a notice mail (factors-reset) is written to the outbox for
// the account's address. Then the user's access ends everywhere (endUserAccess, as user:disable does:
// Hydra's login and consent sessions, so every token, then the app sessions: last, so that a session
// made meanwhile with the password alone ends too). Last, due mail is sent once (SMTP_URL,
// MAIL_FROM), and the command says whether the notice was sent or waits in the outbox for the
// running app. A user without a second factor is told so: nothing removed, no mail, nothing ended.
// Exit codes: 0 done, or the user had no second factor (nothing done); 1 a usage problem, an unknown
// user, Hydra unreachable (nothing done); 2 factors removed and the mail written, but the user's
// access ended only in part (it says what, and how to end the rest).
import "./node-version"; // first: an older Node.js stops here, with a message, before anything crashes it
import { parseArgs } from "node:util";
import { createCommandPool } from "../services/db";
import { createStore } from "../services/store";
import { DEFAULT_LANGUAGE } from "../i18n";
import { queueFactorsResetMail } from "../flows/mail-links";
import { noteActivity } from "../flows/activity";
import { describeAccessEnded, endUserAccess, EndUserAccessError } from "../flows/credential-change";
import { emailOption, readyHydra, UsageError } from "./manage-user";
import { commandMailer, describeMail, mailSettings, sendQueuedMail } from "./reset-password";

/** Thrown inside the transaction when the user has no confirmed second factor: it rolls back, so nothing is removed. */
class NoSecondFactor extends Error {}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { email: { type: "string" } } });
  const email = emailOption(values.email);
  const env = mailSettings({ link: false });
  const hydra = await readyHydra("user:mfa-reset");

  const pool = createCommandPool(env.DATABASE_URL, 2);
  const mailer = commandMailer(pool, env);
  try {
    const store = createStore({ pool });
    const user = await store.findUserByEmail(email);
    if (!user) throw new UsageError(`there is no user ${email}; nothing was changed`);
    const who = `user ${user.email} (id ${user.id})`;

    let outboxId: string;
    try {
      outboxId = await store.transaction(async (tx) => {
        if (!(await store.removeSecondFactors(user.id, tx))) throw new NoSecondFactor();
        // The mail is in the default language: a command has no browser to take a language from,
        // and a user's language is not stored.
        await queueFactorsResetMail(tx, user, DEFAULT_LANGUAGE, env.BRAND_SUPPORT_URL);
        await noteActivity(tx, { userId: user.id, kind: "admin_factors_reset" });
        return (await store.newestMailId(tx, user.email, "factors-reset"))!;
      });
    } catch (err) {
      if (!(err instanceof NoSecondFactor)) throw err;
      console.log(`${who}: has no second factor (no confirmed authenticator); nothing was changed: no mail sent, no session ended`);
      return 0;
    }
    const removed = "second factors removed (authenticator and recovery codes)";

    let failure: EndUserAccessError | null = null;
    let ended = "";
    try {
      ended = describeAccessEnded(await endUserAccess({ store, hydra, userId: user.id, revokeTokens: true }));
    } catch (err) {
      if (!(err instanceof EndUserAccessError)) throw err;
      failure = err;
    }

    const mail = describeMail(await sendQueuedMail(store, mailer, outboxId), "notice mail", user.email, env.SMTP_URL);
    const disabled = user.disabledAt ? ` The account is disabled (since ${user.disabledAt.toISOString()}): user:enable lets them sign in again.` : "";

    if (failure) {
      console.error(
        [
          `user:mfa-reset: ${who}: ${removed}; ${mail}; BUT THE USER'S ACCESS WAS NOT FULLY ENDED.`,
          `  done: ${describeAccessEnded(failure.ended)}`,
          ...failure.failures.map((f) => `  not done: ${f}`),
          `  The factors are gone, so running this command again does nothing more. Once the problem is fixed, end the rest with npm run user:disable -- --email ${user.email}${user.disabledAt ? " (the account stays disabled)" : `, then npm run user:enable -- --email ${user.email}`}.`,
        ].join("\n"),
      );
      return 2;
    }
    console.log(`${who}: ${removed}; ${mail}; ${ended}. They sign in with their password alone now and set up a new authenticator on the account page.${disabled}`);
    return 0;
  } finally {
    await mailer.close();
    await pool.end();
  }
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      console.error(`user:mfa-reset: ${(err as Error).message}`);
      process.exit(1);
    },
  );
}
