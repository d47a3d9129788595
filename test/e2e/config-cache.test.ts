// The configuration (audiences, clients, scopes, claims) is cached in memory and never
// stale. A seed run, or SQL by hand, reaches the running app within a second through NOTIFY; a lost
// LISTEN connection is re-opened and catches up; no restart anywhere.
import { randomBytes } from "node:crypto";
import { Browser } from "../support/browser";
import { startStack, type Stack } from "../support/stack";
import { CALLBACK, createUser } from "../support/fixtures";
import { startAuthorization } from "../support/oauth";
import { applyConfig } from "../../src/admin/apply-config";
import { parseAppConfig, type ConfigFile } from "../../src/config/audiences";
import { transactionOn } from "../../src/services/db";

jest.setTimeout(90_000);

const config = (description: string, extraClient = false): ConfigFile =>
  ({
    audiences: [{ id: "shop", name: "Shop" }],
    scopes: [{ name: "orders.read", description, audience: "shop" }],
    clients: [
      { id: "shop-web", name: "Shop Web", audience: "shop", "secret-env": "SHOP_WEB_SECRET", "redirect-uris": [CALLBACK], scopes: ["openid", "orders.read"] },
      ...(extraClient ? [{ id: "shop-mobile", name: "Shop Mobile", audience: "shop", "redirect-uris": [CALLBACK], scopes: ["openid", "orders.read"] }] : []),
    ],
  }) as ConfigFile;

/** The app's log lines, to see when it reloaded its configuration. */
const lines: { at: number; msg?: string; version?: string }[] = [];
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    config: config("Read your orders"),
    logDestination: { write: (line: string) => void lines.push({ at: Date.now(), ...(JSON.parse(line) as { msg?: string; version?: string }) }) },
  });
});
afterAll(async () => stack?.stop());

async function consentDescription(browser: Browser, user: { email: string; password: string }, clientId = "shop-web"): Promise<string> {
  const start = await startAuthorization(browser, stack, { clientId, redirectUri: CALLBACK, scope: "openid orders.read", prompt: "consent" });
  const page = new URL(start.page.url).pathname === "/login" ? await browser.submit(start.page, "#login-form", { email: user.email, password: user.password }) : start.page;
  expect(new URL(page.url).pathname).toBe("/consent");
  return page.$('#scopes li[data-scope="orders.read"]').contents().first().text().trim();
}

/**
 * Runs a change and waits until the running app has reloaded its configuration because of it (its
 * log says so); returns how long after the change that was (ms).
 */
async function reloadDelay(change: () => Promise<unknown>, limitMs = 5000): Promise<number> {
  const from = lines.length;
  await change();
  const t0 = Date.now();
  for (;;) {
    const hit = lines.slice(from).find((l) => l.msg === "configuration reloaded");
    if (hit) return Math.max(0, hit.at - t0);
    if (Date.now() - t0 > limitMs) throw new Error(`the app did not reload its configuration within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function seed(file: ConfigFile) {
  await applyConfig(parseAppConfig(file), { store: stack.store, hydra: stack.hydra, secrets: { ...stack.secrets, APP_BASE_URL: stack.appUrl } });
}

test("a seed run reaches the running app within a second: a changed description, then a new client", async () => {
  const user = await createUser(stack.db);
  const browser = new Browser();
  expect(await consentDescription(browser, user)).toBe("Read your orders");
  expect(await reloadDelay(() => seed(config("See the orders you placed")))).toBeLessThan(1000);
  expect(await consentDescription(browser, user)).toBe("See the orders you placed");

  // A client the app had never heard of when it started (its membership is in the cache too).
  expect(await reloadDelay(() => seed(config("See the orders you placed", true)))).toBeLessThan(1000);
  expect(await consentDescription(new Browser(), user, "shop-mobile")).toBe("See the orders you placed");
});

test("a change made by hand in SQL reaches it too (the triggers announce every write)", async () => {
  const user = await createUser(stack.db);
  const text = `By hand ${randomBytes(3).toString("hex")}`;
  expect(await reloadDelay(() => stack.db.query("UPDATE scopes SET description = $1 WHERE name = 'orders.read'", [text]))).toBeLessThan(1000);
  expect(await consentDescription(new Browser(), user)).toBe(text);
});

test("a lost LISTEN connection is re-opened and catches up with what it missed", async () => {
  const user = await createUser(stack.db);
  const { rows: killed } = await stack.db.query<{ n: number }>(
    `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
     WHERE datname = current_database() AND query ILIKE 'LISTEN app_config%' AND pid <> pg_backend_pid()`,
  );
  expect(killed[0]!.n).toBeGreaterThanOrEqual(1);
  const text = `While away ${randomBytes(3).toString("hex")}`;
  // Reconnecting takes about a second; then the reload picks up the change it missed.
  await reloadDelay(() => stack.db.query("UPDATE scopes SET description = $1 WHERE name = 'orders.read'", [text]), 10_000);
  expect(await consentDescription(new Browser(), user)).toBe(text);
});

test("the consent step reads no configuration from the database (it completes while those tables are locked)", async () => {
  const user = await createUser(stack.db);
  const browser = new Browser();
  await consentDescription(browser, user); // warm: signed in
  // Another transaction holds every configuration table exclusively: a step that read one would wait.
  const outcome = await transactionOn(stack.db, async (tx) => {
    await tx.query("LOCK TABLE audiences, clients, scopes, claims IN ACCESS EXCLUSIVE MODE");
    // The 8 s limit is cleared once the step is done: a pending timer would keep the process (a Jest worker) alive after the tests.
    let limit: NodeJS.Timeout | undefined;
    const blocked = new Promise<string>((r) => (limit = setTimeout(() => r("blocked"), 8000)));
    try {
      return await Promise.race([consentDescription(browser, user), blocked]);
    } finally {
      clearTimeout(limit);
    }
  });
  expect(outcome).not.toBe("blocked");
});
