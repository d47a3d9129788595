// The seed and the admin commands on a Node.js older than 24 (src/admin/node-version.ts): a clear
// message naming the npm script and exit code 1, instead of Node.js 20 crashing on argon2's addon
// (exit code 139). With an older node on this machine (Debian's /usr/bin/node is 20) the real entry
// points are run with it, through tsx and through Prisma's `prisma db seed` as npx would.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { MIN_NODE_MAJOR, nodeVersionProblem, npmScriptsFor, requireSupportedNode } from "../../src/admin/node-version";
import { runCommand } from "../support/fixtures";
import { ROOT } from "../support/paths";

jest.setTimeout(60_000);

const { scripts } = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };

/** The files the npm scripts run with tsx from src/admin/ or prisma/: every admin entry point. */
const ENTRY_POINTS = [...new Set(Object.values(scripts).flatMap((c) => /\btsx ((?:src\/admin|prisma)\/\S+\.ts)\b/.exec(c)?.slice(1, 2) ?? []))];

/** A process stand-in: what it wrote and how it exited (exit throws, as the real one never returns). */
function fakeProcess(version: string, argv: string[]) {
  const out = { stderr: "", code: undefined as number | undefined };
  const proc = {
    version,
    argv,
    stderr: { write: (text: string) => (out.stderr += text) },
    exit: (code: number): never => {
      out.code = code;
      throw new Error(`exit ${code}`);
    },
  };
  return { proc, out };
}

describe("the guard's logic", () => {
  test.each(["v20.20.2", "v22.12.0", "v23.11.1", "v18.0.0"])("%s is refused, naming the npm script", (version) => {
    expect(nodeVersionProblem(version, ["seed"])).toBe(
      `needs Node.js 24 or newer, and this is Node.js ${version}; run it through npm run seed, which uses Node.js 24 (scripts/node.sh)`,
    );
  });

  test.each(["v24.0.0", "v24.22.3", "v25.1.0", "v30.0.0"])("%s is accepted", (version) => {
    expect(nodeVersionProblem(version, ["seed"])).toBeNull();
  });

  test("the minimum is the one package.json's engines and scripts/ensure-node.sh declare", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { engines: { node: string } };
    expect(pkg.engines.node).toBe(`>=${MIN_NODE_MAJOR}`);
    expect(fs.readFileSync(path.join(ROOT, "scripts", "ensure-node.sh"), "utf8")).toContain(`MIN_MAJOR=${MIN_NODE_MAJOR}`);
  });

  test("each entry point maps to its own npm scripts", () => {
    expect(ENTRY_POINTS.sort()).toEqual(["prisma/seed.ts", "src/admin/create-invitation.ts", "src/admin/create-user.ts", "src/admin/export-user.ts", "src/admin/manage-user.ts", "src/admin/mfa-reset.ts", "src/admin/reset-password.ts"]);
    expect(npmScriptsFor(scripts, "prisma/seed.ts", ["--dry-run"])).toEqual(["seed"]);
    expect(npmScriptsFor(scripts, "src/admin/create-user.ts", ["--email", "a@example.com"])).toEqual(["user:create"]);
    expect(npmScriptsFor(scripts, "src/admin/manage-user.ts", ["delete", "--email", "a@example.com"])).toEqual(["user:delete"]);
    expect(npmScriptsFor(scripts, "src/admin/manage-user.ts", [])).toEqual(["user:disable", "user:enable", "user:delete"]);
    expect(npmScriptsFor(scripts, "src/admin/reset-password.ts", [])).toEqual(["user:reset-password"]);
    expect(npmScriptsFor(scripts, "src/admin/mfa-reset.ts", [])).toEqual(["user:mfa-reset"]);
    expect(npmScriptsFor(scripts, "src/admin/export-user.ts", [])).toEqual(["user:export"]);
    expect(npmScriptsFor(scripts, "src/admin/create-invitation.ts", [])).toEqual(["invitation:create"]);
    expect(npmScriptsFor(scripts, "src/server.ts", [])).toEqual([]);
  });

  test("on an old version it writes one line and exits with 1; on 24 it does nothing", () => {
    const old = fakeProcess("v20.20.2", ["/usr/bin/node", path.join(ROOT, "src/admin/manage-user.ts"), "disable", "--email", "a@example.com"]);
    expect(() => requireSupportedNode(old.proc, ROOT)).toThrow("exit 1");
    expect(old.out).toEqual({
      code: 1,
      stderr: "user:disable: needs Node.js 24 or newer, and this is Node.js v20.20.2; run it through npm run user:disable, which uses Node.js 24 (scripts/node.sh)\n",
    });

    const unknown = fakeProcess("v20.20.2", ["/usr/bin/node", "/elsewhere/tool.js"]);
    expect(() => requireSupportedNode(unknown.proc, ROOT)).toThrow("exit 1");
    expect(unknown.out.stderr).toBe("tool.js: needs Node.js 24 or newer, and this is Node.js v20.20.2; run it through its npm script (package.json), which uses Node.js 24 (scripts/node.sh)\n");

    const current = fakeProcess("v24.22.3", ["/usr/bin/node", path.join(ROOT, "prisma/seed.ts")]);
    requireSupportedNode(current.proc, ROOT);
    expect(current.out).toEqual({ stderr: "", code: undefined });
  });

  test.each(ENTRY_POINTS)("%s imports the guard before anything else", (file) => {
    const firstImport = fs.readFileSync(path.join(ROOT, file), "utf8").split("\n").find((l) => /^import\b/.test(l));
    expect(firstImport).toMatch(/^import "(\.\/|\.\.\/src\/admin\/)node-version";/);
  });
});

/** A `node` on this machine older than 24 (the system's, typically), or undefined. */
function olderNode(): { bin: string; version: string } | undefined {
  const candidates = ["/usr/bin/node", "/usr/local/bin/node", ...(process.env.PATH ?? "").split(":").map((d) => path.join(d, "node"))];
  for (const bin of [...new Set(candidates)]) {
    if (!fs.existsSync(bin)) continue;
    try {
      const version = execFileSync(bin, ["-v"], { encoding: "utf8" }).trim();
      if (nodeVersionProblem(version, []) !== null) return { bin, version };
    } catch {
      // not runnable: try the next
    }
  }
  return undefined;
}

const OLD = olderNode();
const onOldNode = OLD ? test : test.skip;
const OLD_LABEL = OLD ? `${OLD.bin} (${OLD.version})` : "no Node.js older than 24 on this machine; the stand-in tests above cover the guard";

onOldNode(`the real entry points on ${OLD_LABEL} stop with the message and exit code 1`, async () => {
  const env = { ...process.env, DATABASE_URL: "postgresql://127.0.0.1:9/unused", HYDRA_ADMIN_URL: "http://127.0.0.1:9" };
  const tsx = path.join(ROOT, "node_modules", "tsx", "dist", "cli.mjs");
  const cases: [string[], string][] = [
    [["prisma/seed.ts", "--dry-run"], "seed"],
    [["src/admin/create-user.ts", "--email", "a@example.com"], "user:create"],
    [["src/admin/manage-user.ts", "enable", "--email", "a@example.com"], "user:enable"],
    [["src/admin/reset-password.ts", "--email", "a@example.com"], "user:reset-password"],
    [["src/admin/mfa-reset.ts", "--email", "a@example.com"], "user:mfa-reset"],
    [["src/admin/export-user.ts", "--email", "a@example.com"], "user:export"],
    [["src/admin/create-invitation.ts", "--audience", "org.example.demo"], "invitation:create"],
  ];
  for (const [args, script] of cases) {
    const r = await runCommand(OLD!.bin, [tsx, ...args], env);
    expect({ args, code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
      args,
      code: 1,
      stdout: "",
      stderr: `${script}: needs Node.js 24 or newer, and this is Node.js ${OLD!.version}; run it through npm run ${script}, which uses Node.js 24 (scripts/node.sh)\n`,
    });
  }
});

onOldNode(`Prisma's seed command (what npx prisma db seed runs) on ${OLD_LABEL} says why the seed stopped`, async () => {
  const env = { ...process.env, PATH: `${path.dirname(OLD!.bin)}:${process.env.PATH}`, DATABASE_URL: "postgresql://127.0.0.1:9/unused", HYDRA_ADMIN_URL: "http://127.0.0.1:9" };
  const r = await runCommand(path.join(ROOT, "node_modules", ".bin", "prisma"), ["db", "seed", "--", "--dry-run"], env);
  expect(r.code).toBe(1);
  expect(`${r.stdout}${r.stderr}`).toContain(`seed: needs Node.js 24 or newer, and this is Node.js ${OLD!.version}; run it through npm run seed`);
  expect(`${r.stdout}${r.stderr}`).not.toContain("exit code 139");
});
