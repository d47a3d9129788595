// The transactions a client's authorization flow costs in the app's database, counted on the wire
// of the app's own connections (every statement outside BEGIN…COMMIT is one, each BEGIN one more),
// as `npm run bench` counts them in pg_stat_database: first-time 5, returning 4, remembered 2. What a
// sign-in leaves for /account (its place, its event, a new browser's notice) and a remembered
// sign-in's "last seen" ride in statements the flow runs anyway. The mail worker's own statements
// (claiming, marking, pruning the outbox) are not the flow's and are left out, as the benchmark subtracts its idle rate.
import { Client } from "pg";
import { Browser } from "../support/browser";
import { startStack, type Stack } from "../support/stack";
import { CALLBACK, createUser, demoConfig } from "../support/fixtures";
import { callbackParams, exchangeCode, startAuthorization } from "../support/oauth";

jest.setTimeout(120_000);

let stack: Stack;
let counting = false;
let transactions = 0;
const texts: string[] = [];
const inTransaction = new WeakSet<object>();
const original = Client.prototype.query;
/** The mail worker's statements (store/outbox.ts: claim, mark, prune), which run on their own timer. */
const MAIL_WORKER = /^(WITH durable AS|DELETE FROM outbox WHERE sent_at)/;

beforeAll(async () => {
  // Every statement of every pg client in this process: only the app's run while `counting` (the test
  // itself queries nothing then).
  (Client.prototype as { query: unknown }).query = function (this: Client, ...args: unknown[]) {
    const first = args[0] as string | { text?: string };
    const text = (typeof first === "string" ? first : (first?.text ?? "")).trim();
    if (counting && !MAIL_WORKER.test(text)) {
      if (/^BEGIN\b/i.test(text)) {
        inTransaction.add(this);
        transactions++;
        texts.push(text);
      } else if (/^(COMMIT|ROLLBACK)\b/i.test(text)) inTransaction.delete(this);
      else if (!inTransaction.has(this)) {
        transactions++;
        texts.push(text.slice(0, 80));
      }
    }
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  };
  stack = await startStack({ config: demoConfig({ scopes: ["openid", "profile"] }) });
});
afterAll(async () => {
  Client.prototype.query = original;
  await stack?.stop();
});

/** One authorization flow in `browser` to its tokens; the app's transactions it cost. */
async function flow(browser: Browser, user: { email: string; password: string }, remember: boolean): Promise<{ transactions: number; loginForm: boolean; consentPage: boolean }> {
  transactions = 0;
  texts.length = 0;
  counting = true;
  const started = await startAuthorization(browser, stack, { clientId: "demo-web", redirectUri: CALLBACK, scope: "openid profile" });
  let page = started.page;
  const loginForm = page.$("#login-form").length === 1;
  if (loginForm) page = await browser.submit(page, "#login-form", { email: user.email, password: user.password, ...(remember ? { remember: "on" } : { remember: null }) }, { stopAt: [CALLBACK] });
  const consentPage = page.$("#consent-form").length === 1;
  if (consentPage) page = await browser.submit(page, "#consent-form", {}, { button: ["decision", "allow"], stopAt: [CALLBACK] });
  counting = false;
  const code = callbackParams(page, CALLBACK, started.state).get("code")!;
  await exchangeCode(stack, { clientId: "demo-web", secret: stack.secrets.DEMO_WEB_SECRET!, code, redirectUri: CALLBACK });
  return { transactions, loginForm, consentPage };
}

/** Forgets Hydra's cookies (ory_hydra_*; the app's, on the same host, are kept): Hydra does not remember the sign-in. */
async function forgetHydra(browser: Browser): Promise<void> {
  const kept = (await browser.jar.getCookies(stack.appUrl)).filter((c) => !c.key.startsWith("ory_hydra"));
  await browser.jar.removeAllCookies();
  for (const c of kept) await browser.jar.setCookie(`${c.key}=${c.value}; Path=${c.path ?? "/"}`, stack.appUrl);
}

test("first-time 5, returning 4, remembered 2 — with each sign-in's place and event written", async () => {
  const user = await createUser(stack.db);
  const browser = new Browser();
  expect(await flow(browser, user, false)).toEqual({ transactions: 5, loginForm: true, consentPage: true });

  // Returning: the same browser (the app's cookies kept: its device token), Hydra's forgotten.
  await forgetHydra(browser);
  expect(await flow(browser, user, false)).toEqual({ transactions: 4, loginForm: true, consentPage: false });

  // Remembered: "stay signed in" once, then the flow needs neither page.
  const remembered = new Browser();
  await flow(remembered, user, true);
  await stack.db.query("UPDATE account_sessions SET last_seen_at = now() - interval '1 day' WHERE user_id = $1::uuid", [user.id]);
  expect(await flow(remembered, user, true)).toEqual({ transactions: 2, loginForm: false, consentPage: false });
  // Its place was seen now: in the statement that claimed the skipped login step.
  const seen = await stack.db.query("SELECT 1 FROM account_sessions WHERE user_id = $1::uuid AND last_seen_at > now() - interval '1 minute' AND remembered_until > now()", [user.id]);
  expect(seen.rowCount).toBe(1);

  const places = await stack.db.query("SELECT 1 FROM account_sessions WHERE user_id = $1::uuid", [user.id]);
  expect(places.rowCount).toBeGreaterThanOrEqual(2);
  const signIns = await stack.db.query("SELECT 1 FROM account_events WHERE user_id = $1::uuid AND kind = 'sign_in'", [user.id]);
  expect(signIns.rowCount).toBe(3);
});

test("a returning sign-in from a browser the account never used costs 4 too, its notice mail included", async () => {
  const user = await createUser(stack.db);
  await flow(new Browser(), user, false);
  expect(await flow(new Browser(), user, false)).toEqual({ transactions: 4, loginForm: true, consentPage: false });
  const notice = await stack.db.query("SELECT 1 FROM outbox WHERE user_id = $1::uuid AND template = 'new-sign-in'", [user.id]);
  expect(notice.rowCount).toBe(1);
});
