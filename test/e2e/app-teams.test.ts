// The README's "For app teams" section, run as written against what `npm run dev` runs
// (config/demo.yaml applied by scripts/dev.sh's own lines, a real Hydra): its authorization URL is
// opened by a browser that signs in and consents, and each of its curl commands runs in bash with
// the variables its "# Environment:" line names. Only the demo's fixed ports 4444/4445 are swapped
// for this stack's free ones.
import fs from "node:fs";
import path from "node:path";
import { startStack, type Stack } from "../support/stack";
import { ROOT } from "../support/paths";
import { createUser, runCommand } from "../support/fixtures";
import { Browser } from "../support/browser";
import { callbackParams } from "../support/oauth";
import { applyDevStackConfig, readmeCommands, type ReadmeCommand } from "../support/readme-commands";

jest.setTimeout(180_000);

const SECTION = "## For app teams: Hydra's standard endpoints";
const COMMANDS = readmeCommands(SECTION);
const REDIRECT = "http://127.0.0.1:5555/callback";
const secrets = new Map<string, string>();
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ config: {} });
  await applyDevStackConfig(stack, secrets);
});
afterAll(async () => stack?.stop());

const onThisStack = (text: string) => text.replaceAll("http://127.0.0.1:4444", stack.hydraPublicUrl).replaceAll("http://127.0.0.1:4445", stack.hydraAdminUrl);

async function run(cmd: ReadmeCommand, values: Record<string, string>): Promise<any> {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
  for (const name of cmd.env) {
    const value = values[name] ?? secrets.get(name);
    if (value === undefined) throw new Error(`the README names ${name}, which this test does not know how to provide`);
    env[name] = value;
  }
  const r = await runCommand("bash", ["-c", onThisStack(cmd.line)], env);
  expect({ line: cmd.line, code: r.code, stderr: r.stderr }).toEqual({ line: cmd.line, code: 0, stderr: "" });
  return JSON.parse(r.stdout);
}

test("the section's commands are the ones checked here", () => {
  expect(COMMANDS.map((c) => c.line.split(" -d ")[0]!.trim())).toEqual([
    'curl -s -u "demo-web:$DEMO_WEB_CLIENT_SECRET" http://127.0.0.1:4444/oauth2/token',
    "curl -s http://127.0.0.1:4445/admin/oauth2/introspect",
    'curl -s -u "demo-backend:$DEMO_BACKEND_CLIENT_SECRET" http://127.0.0.1:4444/oauth2/token',
    'curl -s -u "demo-backend:$DEMO_BACKEND_CLIENT_SECRET" http://127.0.0.1:4444/oauth2/token',
  ]);
});

test("the authorization URL → sign-in and consent → the code → the token command → the introspection command", async () => {
  const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf(SECTION));
  const url = /(http:\/\/127\.0\.0\.1:4444\/oauth2\/auth\?\S+)/.exec(section)?.[1];
  expect(url).toBeDefined();
  const user = await createUser(stack.db);
  const browser = new Browser();
  const login = await browser.get(onThisStack(url!), { stopAt: [REDIRECT] });
  expect(new URL(login.url).pathname).toBe("/login");
  const consent = await browser.submit(login, "#login-form", { email: user.email, password: user.password }, { stopAt: [REDIRECT] });
  const callback = await browser.submit(consent, "#consent-form", {}, { button: ["decision", "allow"], stopAt: [REDIRECT] });
  const code = callbackParams(callback, REDIRECT, new URL(url!).searchParams.get("state")!).get("code")!;

  const tokens = await run(COMMANDS[0]!, { CODE: code });
  expect(tokens).toMatchObject({ token_type: "bearer", scope: "openid profile email offline_access" });
  expect(tokens.access_token).toMatch(/^ory_at_/);
  expect(tokens.refresh_token).toMatch(/^ory_rt_/);

  const info = await run(COMMANDS[1]!, { ACCESS_TOKEN: tokens.access_token });
  expect(info).toMatchObject({ active: true, aud: ["org.example.demo"], client_id: "demo-web", sub: user.id });
});

test("client credentials: the allowed audience gets a token, the other one is refused", async () => {
  const allowed = await run(COMMANDS[2]!, {});
  expect(allowed).toMatchObject({ scope: "demo.read", token_type: "bearer" });
  const info = await run(COMMANDS[1]!, { ACCESS_TOKEN: allowed.access_token });
  expect(info).toMatchObject({ active: true, aud: ["org.example.demo"], sub: "demo-backend", client_id: "demo-backend" });

  const refused = await run(COMMANDS[3]!, {});
  expect(refused.error).toBe("invalid_request");
  expect(refused.error_description).toContain("Requested audience 'org.example.demo-members' has not been whitelisted by the OAuth 2.0 Client.");
});
