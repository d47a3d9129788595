// Admin script: create (or reset the password of) a user.
// Usage: npm run user:create -- --email ada@example.com --password '…' [--name 'Ada Lovelace'] [--verified]
import { parseArgs } from "node:util";
import { createDb } from "../services/db";
import { hashPassword } from "../services/passwords";
import { normalizeEmail } from "../services/store";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      email: { type: "string" },
      password: { type: "string" },
      name: { type: "string" },
      verified: { type: "boolean", default: false },
      "reset-password": { type: "boolean", default: false },
    },
  });
  if (!values.email || !values.password) throw new Error("--email and --password are required");
  if (!process.env.DATABASE_URL) throw new Error("DATABASE_URL is not set");
  if (!/^[^\s@]+@[^\s@]+$/.test(values.email)) throw new Error("--email is not an email address");
  if (values.password.length < 8) throw new Error("--password must be at least 8 characters");
  const db = createDb(process.env.DATABASE_URL, { max: 1 });
  try {
    const emailNormalized = normalizeEmail(values.email);
    const existing = await db.user.findUnique({ where: { emailNormalized } });
    if (existing && !values["reset-password"]) {
      console.log(`user ${values.email} exists (id ${existing.id}); pass --reset-password to set a new password`);
      return;
    }
    const passwordHash = await hashPassword(values.password);
    const [given, ...rest] = (values.name ?? "").trim().split(/\s+/);
    const user = await db.user.upsert({
      where: { emailNormalized },
      update: { passwordHash },
      create: {
        email: values.email.trim(),
        emailNormalized,
        passwordHash,
        emailVerified: values.verified ?? false,
        name: values.name?.trim() || null,
        givenName: given || null,
        familyName: rest.join(" ") || null,
      },
    });
    console.log(`user ${user.email}: ${existing ? "password reset" : "created"} (id ${user.id})`);
  } finally {
    await db.$disconnect();
  }
}

main().catch((err) => {
  console.error(`user:create: ${(err as Error).message}`);
  process.exit(1);
});
