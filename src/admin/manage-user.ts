// Admin commands on an existing user, by email:
//   npm run user:disable -- --email ada@example.com   disabled_at set (no sign-in, no consent); every app
//                                                      session, Hydra login session and consent session
//                                                      (so every token) of the user ends
//   npm run user:enable  -- --email ada@example.com   disabled_at cleared: the user can sign in again
//   npm run user:delete  -- --email ada@example.com   deletes the user everywhere, the same code as
//                                                      /account's "Delete account" (deleteUserEverywhere)
// Exit codes: 0 done; 1 a usage problem, an unknown email or Hydra unreachable (nothing changed);
// 2 done only in part (it says in capitals what was not done; run the same command again).
import "./node-version"; // first: an older Node.js stops here, with a message, before anything crashes it
import { parseArgs } from "node:util";
import { createCommandPool } from "../services/db";
import { createHydra, type Hydra } from "../services/hydra";
import { createStore, type User } from "../services/store";
import { deleteUserEverywhere, DeleteUserError, describeAccessEnded, describeUserDeleted, endUserAccess, EndUserAccessError } from "../flows/credential-change";

const ACTIONS = ["disable", "enable", "delete"] as const;
type Action = (typeof ACTIONS)[number];

export class UsageError extends Error {}

/** Hydra's admin API from HYDRA_ADMIN_URL, checked to answer before anything is changed. */
export async function readyHydra(what: string): Promise<Hydra> {
  const adminUrl = process.env.HYDRA_ADMIN_URL;
  if (!adminUrl) throw new UsageError(`${what} ends the user's sessions and tokens at Ory Hydra: set HYDRA_ADMIN_URL to Hydra's admin API (e.g. http://127.0.0.1:4445). Nothing was changed.`);
  const hydra = createHydra({ adminUrl, timeoutMs: 10_000 });
  if (!(await hydra.isReady())) throw new UsageError(`Ory Hydra's admin API at ${adminUrl} (HYDRA_ADMIN_URL) is not reachable or not ready. Nothing was changed.`);
  return hydra;
}

/** --email, checked; DATABASE_URL checked. */
export function emailOption(email: string | undefined): string {
  if (!email) throw new UsageError("--email is required");
  if (!/^[^\s@]+@[^\s@]+$/.test(email)) throw new UsageError("--email is not an email address");
  if (!process.env.DATABASE_URL) throw new UsageError("DATABASE_URL is not set (the app's database)");
  return email;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { email: { type: "string" } } });
  const action = positionals[0] as Action;
  if (positionals.length !== 1 || !ACTIONS.includes(action)) throw new UsageError(`expected one of ${ACTIONS.join(", ")} (npm run user:${ACTIONS[0]} -- --email …)`);
  const email = emailOption(values.email);
  const hydra = action === "enable" ? null : await readyHydra(`user:${action}`);

  const pool = createCommandPool(process.env.DATABASE_URL!, 1);
  try {
    const store = createStore({ pool });
    const user: User | null = await store.findUserByEmail(email);
    if (!user) throw new UsageError(`there is no user ${email}; nothing was changed`);
    const who = `user ${user.email} (id ${user.id})`;

    if (action === "enable") {
      const state = await store.setDisabled(user.id, false);
      if (!state) throw new UsageError(`there is no user ${email}; nothing was changed`);
      if (state.before) await store.recordActivity({ userId: user.id, kind: "admin_enabled" });
      console.log(state.before ? `${who}: enabled (was disabled since ${state.before.toISOString()}); they can sign in again` : `${who}: was not disabled; nothing changed`);
      return 0;
    }

    if (action === "disable") {
      const state = await store.setDisabled(user.id, true);
      if (!state) throw new UsageError(`there is no user ${email}; nothing was changed`);
      if (!state.before) await store.recordActivity({ userId: user.id, kind: "admin_disabled" });
      const what = state.before ? `already disabled since ${state.before.toISOString()}` : "disabled (cannot sign in until user:enable)";
      try {
        const ended = await endUserAccess({ store, hydra: hydra!, userId: user.id, revokeTokens: true });
        console.log(`${who}: ${what}; ${describeAccessEnded(ended)}`);
        return 0;
      } catch (err) {
        if (!(err instanceof EndUserAccessError)) throw err;
        console.error(
          [
            `user:disable: ${user.email} IS DISABLED, BUT THE USER'S ACCESS WAS NOT FULLY ENDED.`,
            `  done: ${describeAccessEnded(err.ended)}`,
            ...err.failures.map((f) => `  not done: ${f}`),
            "  Run the same command again once the problem is fixed; it ends the rest.",
          ].join("\n"),
        );
        return 2;
      }
    }

    try {
      const deleted = await deleteUserEverywhere({ store, hydra: hydra!, userId: user.id });
      if (!deleted) throw new UsageError(`there is no user ${email} (deleted meanwhile); nothing was changed`);
      console.log(`${who}: deleted; ${describeUserDeleted(deleted)}. The address can sign up again.`);
      return 0;
    } catch (err) {
      if (!(err instanceof DeleteUserError)) throw err;
      console.error(
        [
          `user:delete: ${user.email} WAS NOT DELETED: Ory Hydra could not revoke the user's sessions.`,
          ...err.failures.map((f) => `  not done: ${f}`),
          "  Nothing was deleted and the account is as it was. Run the same command again once the problem is fixed.",
        ].join("\n"),
      );
      return 2;
    }
  } finally {
    await pool.end();
  }
}

if (require.main === module) {
  const name = `user:${process.argv[2] ?? "?"}`;
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(`${name}: ${(err as Error).message}`);
      process.exit(1);
    },
  );
}
