// Imported first by the seed and the admin commands: on a Node.js older than the project's they stop
// at once with a message saying how to run them. Without it they crash without one: argon2's prebuilt
// addon declares Node-API 10, and Node.js 20 (Node-API 9) dies loading it (exit code 139, a segfault).
// `npm run …` gets Node.js 24 through scripts/node.sh; `npx`, `tsx` or `node` use whatever is on PATH.
import fs from "node:fs";
import path from "node:path";

export const MIN_NODE_MAJOR = 24;

/** The names of the npm scripts (name → command) that run `entry` (a path from the repository root) with `args`. */
export function npmScriptsFor(scripts: Record<string, string>, entry: string, args: readonly string[]): string[] {
  const running = Object.entries(scripts).flatMap(([name, command]) => {
    const words = command.split(/\s+/);
    const at = words.indexOf(entry);
    return at < 0 ? [] : [{ name, fixed: words.slice(at + 1) }];
  });
  // manage-user.ts is three scripts, told apart by the word after the file.
  const exact = running.filter((s) => s.fixed.every((w, i) => args[i] === w));
  return (exact.length ? exact : running).map((s) => s.name);
}

/** What to say on Node.js `version` (process.version), or null when it is new enough. */
export function nodeVersionProblem(version: string, scripts: readonly string[]): string | null {
  const major = Number(/^v?(\d+)\./.exec(version)?.[1] ?? NaN);
  if (major >= MIN_NODE_MAJOR) return null;
  const how = scripts.length ? scripts.map((s) => `npm run ${s}`).join(" or ") : "its npm script (package.json)";
  return `needs Node.js ${MIN_NODE_MAJOR} or newer, and this is Node.js ${version}; run it through ${how}, which ${scripts.length > 1 ? "use" : "uses"} Node.js ${MIN_NODE_MAJOR} (scripts/node.sh)`;
}

interface ProcessLike {
  version: string;
  argv: readonly string[];
  stderr: { write(text: string): unknown };
  exit(code: number): never;
}

/** Stops `proc` with the message and exit code 1 when its Node.js is too old. */
export function requireSupportedNode(proc: ProcessLike, root = path.resolve(__dirname, "..", "..")): void {
  if (nodeVersionProblem(proc.version, []) === null) return;
  const script = proc.argv[1] ?? "";
  const entry = path.relative(root, path.resolve(script)).split(path.sep).join("/");
  let scripts: string[] = [];
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { scripts?: Record<string, string> };
    scripts = npmScriptsFor(pkg.scripts ?? {}, entry, proc.argv.slice(2));
  } catch {
    // No package.json beside the code (e.g. a copied build): the message names no script.
  }
  const label = scripts.length === 1 ? scripts[0] : path.basename(script) || "this command";
  proc.stderr.write(`${label}: ${nodeVersionProblem(proc.version, scripts)}\n`);
  proc.exit(1);
}

requireSupportedNode(process);
