// `--profile`: where the app's CPU time goes. The app is restarted with `node --cpu-prof`, runs one
// scenario at C=1 for a cell, is stopped (V8 writes the profile on exit), and the samples' self time
// is summed per package (node_modules/<name>), per file of the app, and per function.
import fs from "node:fs";
import path from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Sampled busy time (everything but "(idle)"), ms. */
  busyMs: number;
  /** Share of busy time per bucket: a package, "app: <file>", "node internals", "(garbage collector)", "(program)". */
  buckets: { name: string; ms: number; share: number }[];
  functions: { name: string; where: string; ms: number; share: number }[];
}

function bucketOf(url: string, fn: string): { bucket: string; where: string } {
  if (!url) return { bucket: fn.startsWith("(") ? fn : "native (V8 builtins, I/O syscalls)", where: "" };
  if (url.startsWith("wasm://")) return { bucket: "WebAssembly (Prisma's query compiler)", where: url };
  const u = url.replace(/^file:\/\//, "");
  const nm = u.lastIndexOf("node_modules/");
  if (nm >= 0) {
    const rest = u.slice(nm + "node_modules/".length).split("/");
    const pkg = rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
    return { bucket: pkg, where: `${pkg}/${rest.slice(rest[0]!.startsWith("@") ? 2 : 1).join("/")}` };
  }
  if (u.startsWith("node:")) return { bucket: "node internals", where: u };
  const m = /\/(src\/.*)$/.exec(u);
  if (m) {
    const file = m[1]!;
    const bucket = file.startsWith("src/generated/") ? "app: src/generated (Prisma client)" : `app: ${file.replace(/\.js$/, "")}`;
    return { bucket, where: file };
  }
  return { bucket: path.basename(u), where: u };
}

/**
 * Self time per package, file and function of the samples taken within [fromUs, toUs] (microseconds
 * of the monotonic clock, which V8's profile timestamps and process.hrtime share on Linux): the
 * measured cell only, not the start-up's module loading.
 */
export function summarizeProfile(file: string, window: { fromUs: number; toUs: number }, top = 25): ProfileSummary {
  const prof = JSON.parse(fs.readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let t = prof.startTime;
  for (let i = 0; i < prof.samples.length; i++) {
    const dt = prof.timeDeltas[i] ?? 0;
    t += dt;
    if (t < window.fromUs || t > window.toUs) continue;
    const id = prof.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + dt / 1000);
  }
  const buckets = new Map<string, number>();
  const functions = new Map<string, { name: string; where: string; ms: number }>();
  let busy = 0;
  for (const [id, ms] of self) {
    const n = byId.get(id)!;
    const fn = n.callFrame.functionName || "(anonymous)";
    if (fn === "(idle)") continue;
    busy += ms;
    const { bucket, where } = bucketOf(n.callFrame.url, fn);
    buckets.set(bucket, (buckets.get(bucket) ?? 0) + ms);
    const key = `${fn}@${where}:${n.callFrame.lineNumber}`;
    const f = functions.get(key) ?? { name: fn, where: where ? `${where}:${n.callFrame.lineNumber + 1}` : "", ms: 0 };
    f.ms += ms;
    functions.set(key, f);
  }
  const share = (ms: number) => (busy ? ms / busy : 0);
  return {
    busyMs: busy,
    buckets: [...buckets].map(([name, ms]) => ({ name, ms, share: share(ms) })).sort((a, b) => b.ms - a.ms).slice(0, top),
    functions: [...functions.values()].map((f) => ({ ...f, share: share(f.ms) })).sort((a, b) => b.ms - a.ms).slice(0, top),
  };
}

export const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

/** The newest .cpuprofile in a folder. */
export function newestProfile(dir: string): string | undefined {
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(".cpuprofile")) : [];
  return files.map((f) => path.join(dir, f)).sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)[0];
}
