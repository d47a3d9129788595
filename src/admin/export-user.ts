// Admin script: the same "Download my data" file a person gets on /account (docs/data-export.md),
// for a request made to the operator (GDPR articles 15 and 20), written to standard output or a file.
// Usage: npm run user:export -- --email ada@example.com [--output ada.json]
// Environment: DATABASE_URL. Exit codes: 0 written; 1 a usage problem or an unknown user (nothing written).
import "./node-version"; // first: an older Node.js stops here, with a message, before anything crashes it
import fs from "node:fs";
import { parseArgs } from "node:util";
import { createCommandPool } from "../services/db";
import { createStore } from "../services/store";
import { userExport } from "../flows/data-export";
import { emailOption, UsageError } from "./manage-user";

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { email: { type: "string" }, output: { type: "string" } } });
  const email = emailOption(values.email);
  if (!process.env.DATABASE_URL) throw new UsageError("DATABASE_URL is not set (the app's database)");
  const pool = createCommandPool(process.env.DATABASE_URL, 2);
  try {
    const store = createStore({ pool });
    const user = await store.findUserByEmail(email);
    const data = user ? await userExport(store, user.id) : null;
    if (!user || !data) throw new UsageError(`there is no user ${email}; nothing was written`);
    const text = `${JSON.stringify(data, null, 2)}\n`;
    if (values.output) {
      // Only the operator may read it: it holds a person's data.
      fs.writeFileSync(values.output, text, { mode: 0o600, flag: "wx" });
      console.error(`user ${user.email} (id ${user.id}): data written to ${values.output}`);
    } else process.stdout.write(text);
    return 0;
  } finally {
    await pool.end();
  }
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      console.error(`user:export: ${(err as Error).message}`);
      process.exit(1);
    },
  );
}
