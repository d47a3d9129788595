// Admin script: create an invitation for one audience and print its link (once; only a hash is stored).
// Usage: npm run invitation:create -- --audience org.example.demo [--email ada@example.com] [--expires-in 7d]
import "./node-version"; // first: an older Node.js stops here, with a message, before anything crashes it
import { parseArgs } from "node:util";
import { createCommandPool } from "../services/db";
import { createStore } from "../services/store";
import { registrationMode } from "../decisions/registration";

const UNITS: Record<string, number> = { m: 60, h: 3600, d: 86400 };

export function parseDuration(text: string): number {
  const m = /^(\d+)([mhd])$/.exec(text.trim());
  if (!m || Number(m[1]) <= 0) throw new Error(`--expires-in must look like 30m, 12h or 7d (got "${text}")`);
  return Number(m[1]) * UNITS[m[2]!]!;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { audience: { type: "string" }, email: { type: "string" }, "expires-in": { type: "string" } },
  });
  if (!values.audience) throw new Error("--audience is required");
  if (!process.env.DATABASE_URL) throw new Error("DATABASE_URL is not set");
  const baseUrl = (process.env.APP_BASE_URL ?? "http://127.0.0.1:3000").replace(/\/+$/, "");
  if (values.email !== undefined && !/^[^\s@]+@[^\s@]+$/.test(values.email)) throw new Error("--email is not an email address");
  const ttlSeconds = values["expires-in"] ? parseDuration(values["expires-in"]) : Number(process.env.INVITATION_TTL_SECONDS ?? 7 * 86400);

  const pool = createCommandPool(process.env.DATABASE_URL, 1);
  try {
    const store = createStore({ pool });
    const audience = await store.getAudience(values.audience);
    if (!audience) throw new Error(`there is no audience "${values.audience}" (apply the configuration with npm run seed first)`);
    const mode = registrationMode(audience);
    if (!audience.invitationEnabled) {
      throw new Error(`audience "${audience.id}" does not accept invitations (registration mode: ${mode}); set invitation-enabled: true in the configuration`);
    }
    const expiresAt = new Date(Date.now() + ttlSeconds * 1000);
    const { code } = await store.createInvitation(audience.id, values.email ?? null, expiresAt);
    console.log(`Invitation to ${audience.displayName} (${audience.id}, ${mode})${values.email ? ` for ${values.email}` : ""}, valid until ${expiresAt.toISOString()}, single use.`);
    console.log("Send this link; it is shown only now:");
    console.log(`${baseUrl}/invitation?code=${code}`);
  } finally {
    await pool.end();
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(`invitation:create: ${(err as Error).message}`);
    process.exit(1);
  });
}
