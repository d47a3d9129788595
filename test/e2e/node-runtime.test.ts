// The project runs on Node.js 24 (Node 20 is past its end of life and measurably slower for this
// app: bench/README.md, "The runtime"). scripts/ensure-node.sh picks the system's node when it is 24
// or newer, else fetches the pinned official build into .bin/; scripts/node.sh puts it first on PATH
// for the npm scripts (start, bench, seed, the admin commands); `npm test` (scripts/test.sh) and
// `npm run dev` use it the same way.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { runCommand } from "../support/fixtures";
import { ROOT } from "../support/paths";

jest.setTimeout(120_000);

const major = (version: string) => Number(version.replace(/^v/, "").split(".")[0]);

let oldNodeDir: string;
beforeAll(() => {
  // A `node` that claims to be Node 20 when asked its version, as an older system's would, and runs
  // anything else (npm, should the build have to be fetched) with this node.
  oldNodeDir = fs.mkdtempSync(path.join(os.tmpdir(), "old-node-"));
  fs.writeFileSync(path.join(oldNodeDir, "node"), `#!/bin/sh\nif [ "$1" = "-p" ]; then echo 20; else exec "${process.execPath}" "$@"; fi\n`, { mode: 0o755 });
});
afterAll(() => fs.rmSync(oldNodeDir, { recursive: true, force: true }));

test("the tests themselves run on Node.js 24 or newer (npm test puts it first on PATH)", () => {
  expect(major(process.version)).toBeGreaterThanOrEqual(24);
});

test("ensure-node.sh uses the system's node when it is 24 or newer", async () => {
  const res = await runCommand("bash", ["scripts/ensure-node.sh"], { PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin` });
  expect(res).toEqual({ code: 0, stdout: `${path.dirname(process.execPath)}\n`, stderr: "" });
});

test("with an older system node, node.sh runs the command on the pinned Node.js 24 build from .bin/", async () => {
  const npmDir = path.dirname(
    (await runCommand("bash", ["-c", "command -v npm"], process.env)).stdout.trim(), // npm fetches the build when .bin/ lacks it
  );
  const res = await runCommand("bash", ["scripts/node.sh", "node", "-p", "process.version + ' ' + process.execPath"], {
    PATH: `${oldNodeDir}:${npmDir}:/usr/bin:/bin`,
    HOME: process.env.HOME,
  });
  expect(res.code).toBe(0);
  const [version, execPath] = res.stdout.trim().split(" ");
  expect(version).toBe("v24.22.3");
  expect(execPath).toBe(path.join(ROOT, ".bin", "node-v24.22.3", "bin", "node"));
});

test("npm run scripts that execute the app's code go through node.sh", () => {
  const { scripts } = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
  for (const name of ["start", "bench", "seed", "user:create", "user:disable", "user:enable", "user:delete", "user:reset-password", "user:mfa-reset", "user:export", "invitation:create"]) {
    expect([name, scripts[name]]).toEqual([name, expect.stringMatching(/^bash scripts\/node\.sh /)]);
  }
  expect(fs.readFileSync(path.join(ROOT, "scripts", "test.sh"), "utf8")).toContain('PATH="$(bash scripts/ensure-node.sh):$PATH"');
  expect(fs.readFileSync(path.join(ROOT, "Dockerfile"), "utf8")).toMatch(/^FROM node:24-bookworm-slim AS base$/m);
});
