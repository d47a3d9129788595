// `npm run seed` (Prisma's seed command) against the real PostgreSQL and Hydra: idempotence,
// dry-run, reporting and pruning removed items, secrets from the environment, refusing bad files.
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import YAML from "yaml";
import { configSnapshot, startStack, type Stack } from "../support/stack";
import { tokenRequest } from "../support/oauth";
import { ROOT } from "../support/paths";
import { findRow } from "../support/db";

jest.setTimeout(120_000);

let stack: Stack;
let dir: string;
const SECRETS = { SHOP_WEB_SECRET: "shop-web-secret-0123456789", SHOP_JOBS_SECRET: "shop-jobs-secret-0123456789" };

beforeAll(async () => {
  stack = await startStack({ config: {} });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "seed-test-"));
});
afterAll(async () => {
  fs.rmSync(dir, { recursive: true, force: true });
  await stack?.stop();
});

const baseConfig = () => ({
  "identifier-prefix": "org.example.",
  audiences: [
    { id: "org.example.shop", name: "Shop" },
    { id: "org.example.billing", name: "Billing", "token-audience": "https://billing.example.org" },
  ],
  scopes: [
    { name: "shop.orders", description: "Your orders", audience: "org.example.shop" },
    { name: "billing.read", audience: "org.example.billing" },
  ],
  claims: [{ name: "customer_no", scope: "shop.orders", source: "attributes.customer_no", audience: "org.example.shop" }],
  clients: [
    { id: "shop-web", name: "Shop Web", audience: "org.example.shop", "secret-env": "SHOP_WEB_SECRET", "redirect-uris": ["https://shop.example.org/cb"], scopes: ["openid", "shop.orders"] },
    { id: "shop-jobs", name: "Shop Jobs", audience: "org.example.shop", "secret-env": "SHOP_JOBS_SECRET", "grant-types": ["client_credentials"], "response-types": ["token"], scopes: ["shop.orders"], "allowed-audiences": ["https://billing.example.org"] },
  ],
});

function writeConfig(name: string, config: unknown): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, YAML.stringify(config));
  return file;
}

function seed(args: string[], env: Record<string, string> = SECRETS): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      path.join(ROOT, "node_modules", ".bin", "prisma"),
      ["db", "seed", "--", ...args],
      { cwd: ROOT, env: { ...process.env, DATABASE_URL: stack.env.DATABASE_URL, HYDRA_ADMIN_URL: stack.hydraAdminUrl, APP_BASE_URL: stack.appUrl, ...env } },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}\n${stderr}` }),
    );
  });
}

const snapshot = () => configSnapshot(stack);

test("dry run on an empty system prints what would be created and changes nothing", async () => {
  const file = writeConfig("v1.yaml", baseConfig());
  const before = await snapshot();
  const r = await seed(["--config", file, "--dry-run"]);
  expect(r.code).toBe(0);
  expect(r.out).toContain("(dry run: nothing changed)");
  expect(r.out).toContain("audience org.example.shop: would create");
  expect(r.out).toContain("hydra-client shop-web: would create");
  expect(await snapshot()).toEqual(before);
});

test("first run creates everything in the store and in Hydra; the second run changes nothing", async () => {
  const file = writeConfig("v1.yaml", baseConfig());
  const first = await seed(["--config", file]);
  expect(first.code).toBe(0);
  expect(first.out).toContain("client shop-jobs: created");
  expect(first.out).toContain("  1 unchanged"); // the account page's own client, registered when the stack started

  const web = (await stack.hydra.getClient("shop-web"))!;
  expect(web).toMatchObject({
    client_name: "Shop Web",
    redirect_uris: ["https://shop.example.org/cb"],
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    scope: "openid shop.orders",
    audience: ["org.example.shop"],
    token_endpoint_auth_method: "client_secret_basic",
    metadata: { audience: "org.example.shop" },
  });
  expect((await stack.hydra.getClient("shop-jobs"))!.audience).toEqual(["org.example.shop", "https://billing.example.org"]);
  expect(await findRow(stack.db, "audiences", { id: "org.example.billing" })).toMatchObject({ tokenAudience: "https://billing.example.org", signUpEnabled: true, invitationEnabled: false });
  // The secret from the environment works at Hydra.
  const cc = await tokenRequest(stack, { grant_type: "client_credentials", scope: "shop.orders", audience: "https://billing.example.org" }, { clientId: "shop-jobs", secret: SECRETS.SHOP_JOBS_SECRET });
  expect(cc.status).toBe(200);

  const before = await snapshot();
  const second = await seed(["--config", file]);
  expect(second.code).toBe(0);
  expect(second.out).not.toMatch(/created|updated|would|removed/);
  expect(second.out).toContain("  10 unchanged"); // 2 audiences, 2 scopes, 1 claim, 2 memberships, 2 Hydra clients + the account client
  expect(await snapshot()).toEqual(before);
});

test("changes: dry-run shows them without applying; removed items are reported and kept unless --prune", async () => {
  const v2 = baseConfig();
  v2.audiences[0]!.name = "The Shop";
  v2.scopes = v2.scopes.filter((s) => s.name !== "billing.read");
  v2.clients = v2.clients.filter((c) => c.id !== "shop-jobs");
  v2.clients[0]!["redirect-uris"] = ["https://shop.example.org/cb", "https://shop.example.org/cb2"];
  const file = writeConfig("v2.yaml", v2);

  const before = await snapshot();
  const dry = await seed(["--config", file, "--dry-run"]);
  expect(dry.code).toBe(0);
  expect(dry.out).toContain("audience org.example.shop: would update (displayName)");
  expect(dry.out).toContain("hydra-client shop-web: would update (redirect_uris)");
  expect(dry.out).toContain("scope billing.read: not in the file (kept; use --prune to remove)");
  expect(dry.out).toContain("client shop-jobs: not in the file (kept; use --prune to remove)");
  expect(await snapshot()).toEqual(before);

  const apply = await seed(["--config", file]);
  expect(apply.code).toBe(0);
  expect(apply.out).toContain("audience org.example.shop: updated (displayName)");
  expect((await findRow(stack.db, "audiences", { id: "org.example.shop" }))!.displayName).toBe("The Shop");
  expect((await stack.hydra.getClient("shop-web"))!.redirect_uris).toEqual(["https://shop.example.org/cb", "https://shop.example.org/cb2"]);
  // Not pruned: still there.
  expect(await findRow(stack.db, "scopes", { name: "billing.read" })).not.toBeNull();
  expect(await stack.hydra.getClient("shop-jobs")).toBeDefined();

  const prune = await seed(["--config", file, "--prune"]);
  expect(prune.code).toBe(0);
  expect(prune.out).toContain("scope billing.read: removed");
  expect(prune.out).toContain("client shop-jobs: removed");
  expect(await findRow(stack.db, "scopes", { name: "billing.read" })).toBeNull();
  expect(await findRow(stack.db, "clients", { id: "shop-jobs" })).toBeNull();
  expect(await stack.hydra.getClient("shop-jobs")).toBeUndefined();
});

test("a changed secret in the environment is applied to Hydra", async () => {
  const file = writeConfig("v3.yaml", baseConfig());
  await seed(["--config", file]);
  const rotated = { ...SECRETS, SHOP_JOBS_SECRET: "rotated-secret-abcdefghijkl" };
  const r = await seed(["--config", file], rotated);
  expect(r.code).toBe(0);
  expect(r.out).toContain("hydra-client shop-jobs: updated (client_secret)");
  expect(r.out).not.toContain("hydra-client shop-web: updated");
  const body = { grant_type: "client_credentials", scope: "shop.orders", audience: "org.example.shop" };
  expect((await tokenRequest(stack, body, { clientId: "shop-jobs", secret: rotated.SHOP_JOBS_SECRET })).status).toBe(200);
  expect((await tokenRequest(stack, body, { clientId: "shop-jobs", secret: SECRETS.SHOP_JOBS_SECRET })).status).toBe(401);
  expect((await seed(["--config", file], rotated)).out).not.toContain("updated");
});

test.each([
  [
    "a bad identifier",
    (c: ReturnType<typeof baseConfig>) => c.audiences.push({ id: "Org.Example.Bad", name: "Bad" }),
    "audiences[2].id: must be lowercase dot-separated kebab-case segments",
  ],
  [
    "a client given another audience's scope",
    (c: ReturnType<typeof baseConfig>) => (c.clients[0]!.scopes = ["openid", "billing.read"]),
    'clients[0].scopes[1]: scope "billing.read" belongs to audience "org.example.billing", not to the client\'s audience "org.example.shop"',
  ],
  [
    "an identifier without the required prefix",
    (c: ReturnType<typeof baseConfig>) => c.audiences.push({ id: "com.other.app", name: "Other" }),
    'audiences[2].id: "com.other.app" must start with the identifier prefix "org.example."',
  ],
])("an invalid file (%s) is refused naming the path and rule, and nothing is written", async (_label, mutate, message) => {
  const bad = baseConfig();
  mutate(bad);
  const file = writeConfig("bad.yaml", bad);
  const before = await snapshot();
  const r = await seed(["--config", file]);
  expect(r.code).not.toBe(0);
  expect(r.out).toContain(message);
  expect(await snapshot()).toEqual(before);
});

test("a missing secret is refused naming its variable, and nothing is written", async () => {
  const cfg = baseConfig();
  cfg.audiences.push({ id: "org.example.new", name: "New" });
  const file = writeConfig("nosecret.yaml", cfg);
  const before = await snapshot();
  const r = await seed(["--config", file], { SHOP_WEB_SECRET: SECRETS.SHOP_WEB_SECRET });
  expect(r.code).not.toBe(0);
  expect(r.out).toContain("SHOP_JOBS_SECRET (client shop-jobs)");
  expect(await snapshot()).toEqual(before);
});
