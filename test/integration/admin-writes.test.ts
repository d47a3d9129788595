// The store's writes for the seed (configuration-writes.ts) and user:create (users.ts createUser,
// setAttributes) against the real PostgreSQL, and the durability of the admin commands' pool.
import { createCommandPool, createPool } from "../../src/services/db";
import { createStore, EmailTakenError } from "../../src/services/store";
import { createDatabase, databaseUrl, dropDatabase, uniqueName } from "../support/pg";
import { findRow } from "../support/db";

jest.setTimeout(60_000);

const dbName = uniqueName("admin_writes");
let pool: ReturnType<typeof createCommandPool>;
beforeAll(async () => {
  await createDatabase(dbName, process.env.TEST_APP_DB_TEMPLATE);
  pool = createCommandPool(databaseUrl(dbName), 2);
});
afterAll(async () => {
  await pool?.end();
  await dropDatabase(dbName);
});

const version = async () => (await pool.query<{ v: string }>("SELECT version::text AS v FROM config_version WHERE id = 1")).rows[0]?.v ?? "0";

const audience = { id: "shop", displayName: "Shop", tokenAudience: "https://shop", signUpEnabled: true, invitationEnabled: false, requireVerifiedEmail: false, mfa: "optional" as const, startUrl: null, brandName: null, brandLogo: "https://shop/logo.svg", consentTtlSeconds: 86400 };

test("the seed's writes: upserts in one transaction, then deletions; each raises config_version", async () => {
  const store = createStore({ pool });
  const before = await version();
  await store.writeConfiguration({
    audiences: [audience],
    scopes: [{ name: "orders.read", description: "Read", descriptions: { en: "Read", de: "Lesen" }, audienceId: "shop", optional: true }],
    claims: [{ name: "team", scope: "profile", source: "attributes.team", audienceId: null }],
    clients: [{ id: "shop-web", audienceId: "shop", displayName: "Shop Web", secretHash: null, optionalScopes: ["email"] }],
  });
  expect(BigInt(await version())).toBeGreaterThan(BigInt(before));
  const rows = await store.readConfigurationRows();
  expect(rows.audiences).toEqual([{ ...audience, createdAt: expect.any(Date), updatedAt: expect.any(Date) }]);
  expect(rows.scopes).toEqual([expect.objectContaining({ name: "orders.read", description: "Read", descriptions: { en: "Read", de: "Lesen" }, audienceId: "shop", optional: true })]);
  expect(rows.claims).toEqual([expect.objectContaining({ name: "team", scope: "profile", source: "attributes.team", audienceId: null })]);
  expect(rows.clients).toEqual([expect.objectContaining({ id: "shop-web", audienceId: "shop", displayName: "Shop Web", secretHash: null, optionalScopes: ["email"] })]);
  expect(Math.abs(rows.audiences[0]!.createdAt.getTime() - Date.now())).toBeLessThan(60_000); // read as UTC

  // An update keeps created_at and moves updated_at; a scope's descriptions can go back to none.
  await store.writeConfiguration({ audiences: [{ ...audience, displayName: "The Shop" }], scopes: [{ name: "orders.read", description: "Read", descriptions: null, audienceId: null, optional: false }], claims: [], clients: [] });
  const updated = await store.readConfigurationRows();
  expect(updated.audiences[0]).toMatchObject({ displayName: "The Shop", createdAt: rows.audiences[0]!.createdAt });
  expect(updated.scopes[0]).toMatchObject({ descriptions: null, audienceId: null });

  // A failing write leaves nothing written (one transaction).
  await expect(store.writeConfiguration({ audiences: [{ ...audience, displayName: "Never" }], scopes: [], claims: [], clients: [{ id: "orphan", audienceId: "nowhere", displayName: null, secretHash: null, optionalScopes: [] }] })).rejects.toThrow();
  expect((await store.readConfigurationRows()).audiences[0]!.displayName).toBe("The Shop");

  await store.writeConfiguration({ audiences: [], scopes: [], claims: [], clients: [], remove: { clients: ["shop-web"], claims: ["team"], scopes: ["orders.read"], audiences: ["shop"] } });
  expect(await store.readConfigurationRows()).toEqual({ audiences: [], scopes: [], claims: [], clients: [] });
});

test("user:create's writes: an account with its names and attributes; attributes replaced; a taken address refused", async () => {
  const store = createStore({ pool });
  const user = await store.createUser({ email: " Ada@Example.com ", passwordHash: "h", emailVerified: true, name: "Ada Lovelace", givenName: "Ada", familyName: "Lovelace", attributes: { team: "x" } });
  expect(user).toMatchObject({ email: "Ada@Example.com", emailNormalized: "ada@example.com", emailVerified: true, givenName: "Ada", familyName: "Lovelace", attributes: { team: "x" }, pendingSince: null, disabledAt: null });
  expect(await findRow(pool, "users", { id: user.id })).toEqual(user);
  await store.setAttributes(user.id, { team: "y", level: "3" });
  expect((await findRow(pool, "users", { id: user.id }))!.attributes).toEqual({ team: "y", level: "3" });
  await expect(store.createUser({ ...user, email: "ADA@example.com" })).rejects.toBeInstanceOf(EmailTakenError);
});

test("the admin commands' pool commits durably; the server's pool does not", async () => {
  const setting = async (p: typeof pool) => (await p.query<{ synchronous_commit: string }>("SHOW synchronous_commit")).rows[0]!.synchronous_commit;
  expect(await setting(pool)).toBe("on");
  const server = createPool(databaseUrl(dbName), { max: 1 });
  try {
    expect(await setting(server)).toBe("off");
  } finally {
    await server.end();
  }
});
