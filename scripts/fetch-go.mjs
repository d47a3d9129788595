// Fetches the Go toolchain from the Go module proxy, the way the go command itself does for
// GOTOOLCHAIN (module golang.org/toolchain, version v0.0.1-go<version>.<os>-<arch>), and unpacks it:
//   node scripts/fetch-go.mjs <version> <dest>      e.g. 1.26.8 .bin/go-1.26.8
// The zip is checked against the checksum database's h1: hash (read through the same proxy) before
// anything is unpacked. GOPROXY's first entry is used (default https://proxy.golang.org).
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import AdmZip from "adm-zip";

const [version, dest] = process.argv.slice(2);
if (!version || !dest) {
  console.error("usage: fetch-go.mjs <version> <dest>");
  process.exit(2);
}
const os = { linux: "linux", darwin: "darwin" }[process.platform];
const arch = { x64: "amd64", arm64: "arm64" }[process.arch];
if (!os || !arch) {
  console.error(`fetch-go: no Go toolchain module for ${process.platform}/${process.arch}; install Go ${version} yourself`);
  process.exit(1);
}
const proxy = (process.env.GOPROXY ?? "").split(/[,|]/)[0]?.replace(/\/$/, "") || "https://proxy.golang.org";
if (!/^https?:\/\//.test(proxy)) {
  console.error(`fetch-go: GOPROXY (${process.env.GOPROXY}) names no proxy URL to fetch Go from`);
  process.exit(1);
}
const mod = `golang.org/toolchain@v0.0.1-go${version}.${os}-${arch}`;

async function get(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return Buffer.from(await res.arrayBuffer());
}

/** golang.org/x/mod/sumdb/dirhash Hash1 of a module zip: what go.sum and the checksum database record. */
function hash1(zip) {
  const lines = zip
    .getEntries()
    .filter((e) => !e.isDirectory)
    .map((e) => e.entryName)
    .sort()
    .map((name) => `${createHash("sha256").update(zip.getEntry(name).getData()).digest("hex")}  ${name}\n`);
  return `h1:${createHash("sha256").update(lines.join("")).digest("base64")}`;
}

const [modPath, modVersion] = mod.split("@");
console.error(`fetch-go: fetching Go ${version} (${mod}) from ${proxy}`);
const [zipBytes, lookup] = await Promise.all([
  get(`${proxy}/${modPath}/@v/${modVersion}.zip`),
  get(`${proxy}/sumdb/sum.golang.org/lookup/${mod}`).then(String),
]);
const want = new RegExp(`^${modPath.replace(/\./g, "\\.")} ${modVersion} (h1:\\S+)$`, "m").exec(lookup)?.[1];
if (!want) throw new Error(`the checksum database has no hash for ${mod}`);
const zip = new AdmZip(zipBytes);
const got = hash1(zip);
if (got !== want) throw new Error(`${mod}: the zip's hash ${got} is not the checksum database's ${want}`);

const tmp = `${dest}.tmp`;
fs.rmSync(tmp, { recursive: true, force: true });
const prefix = `${mod}/`;
for (const e of zip.getEntries()) {
  if (e.isDirectory || !e.entryName.startsWith(prefix)) continue;
  const rel = e.entryName.slice(prefix.length);
  if (rel.split("/").includes("..")) throw new Error(`unsafe path in the zip: ${e.entryName}`);
  const file = path.join(tmp, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  // Module zips record no file modes: the commands in bin/ and pkg/tool/ are made executable, as go does.
  const exec = /^bin\/[^/]+$|^pkg\/tool\/[^/]+\/[^/]+$/.test(rel);
  fs.writeFileSync(file, e.getData(), { mode: exec ? 0o755 : 0o644 });
}
fs.rmSync(dest, { recursive: true, force: true });
fs.renameSync(tmp, dest);
console.error(`fetch-go: Go ${version} is in ${dest} (hash ${got} as the checksum database says)`);
