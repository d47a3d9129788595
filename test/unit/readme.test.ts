// The README stays true to the code: every setting the app reads is in its configuration table,
// every variable the two commands read is in "Demo and test settings", and no link leaves the
// repository or points at a file that is not there.
import fs from "node:fs";
import path from "node:path";

const ROOT = path.resolve(__dirname, "../..");
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");
const README = read("README.md");

/** The backticked variable names in the first column of the table under `heading`. */
function tableVariables(heading: string): Set<string> {
  const start = README.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`README.md has no "${heading}"`);
  const rest = README.slice(start + heading.length + 2);
  const end = rest.search(/\n#{2,3} /);
  const names = new Set<string>();
  for (const line of (end < 0 ? rest : rest.slice(0, end)).split("\n")) {
    const first = /^\|([^|]*)\|/.exec(line)?.[1];
    for (const m of first?.matchAll(/`([A-Z][A-Z0-9_]*)`/g) ?? []) names.add(m[1]!);
  }
  return names;
}

const sorted = (s: Iterable<string>) => [...s].sort();

test("every variable of src/config/env.ts is in the README's application settings, and nothing else", () => {
  const schema = read("src/config/env.ts").slice(read("src/config/env.ts").indexOf("const EnvSchema"));
  const inCode = new Set([...schema.matchAll(/^ {4}([A-Z][A-Z0-9_]*): /gm)].map((m) => m[1]!));
  expect(inCode.size).toBeGreaterThan(40);
  expect(sorted(tableVariables("### Application settings"))).toEqual(sorted(inCode));
});

test("every variable npm run dev and npm test read is in the README's demo and test settings", () => {
  const table = tableVariables("### Demo and test settings");
  const read_ = new Set<string>();
  for (const file of ["scripts/dev.sh", "scripts/test.sh", "scripts/ensure-node.sh", "scripts/ensure-go.sh", "scripts/ensure-chromium.sh"]) {
    for (const m of read(file).matchAll(/\$\{([A-Z][A-Z0-9_]*):[-?]/g)) read_.add(m[1]!);
  }
  for (const file of ["test/support/stack.ts", "test/support/pg.ts", "test/support/chromium.ts", "test/e2e/browser-flows.test.ts", "jest.config.js"]) {
    for (const m of read(file).matchAll(/process\.env\.([A-Z][A-Z0-9_]*)/g)) read_.add(m[1]!);
  }
  // Besides the app's own settings (passed on), these are set by the shell, by jest or by the global
  // setup for the test files, never by a person.
  const internal = ["PATH", "HOME", "JEST_WORKER_ID", "TEST_APP_DB_TEMPLATE", "TEST_HYDRA_DB_TEMPLATE"];
  const appSettings = tableVariables("### Application settings");
  const missing = sorted([...read_].filter((v) => !table.has(v) && !appSettings.has(v) && !internal.includes(v)));
  expect(missing).toEqual([]);
});

test("README and docs/ link nothing outside the repository, and every file they link exists", () => {
  const files = ["README.md", ...fs.readdirSync(path.join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];
  const broken: string[] = [];
  for (const file of files) {
    for (const m of read(file).matchAll(/\]\(([^)\s]+)\)|src="([^"]+)"/g)) {
      const target = (m[1] ?? m[2])!.split("#")[0]!;
      if (!target || /^(https?|mailto):/.test(target)) continue;
      const resolved = path.resolve(path.dirname(path.join(ROOT, file)), target);
      if (!resolved.startsWith(ROOT + path.sep) || !fs.existsSync(resolved)) broken.push(`${file}: ${target}`);
    }
  }
  expect(broken).toEqual([]);
  expect(README).not.toMatch(/\.\.\/shared/);
});

test("the README starts with the two commands and has a table of contents", () => {
  const firstBlock = /```sh\n([\s\S]*?)```/.exec(README)?.[1] ?? "";
  expect(firstBlock).toMatch(/^npm run dev\b/m);
  expect(firstBlock).toMatch(/^npm test\b/m);
  expect(README.indexOf("## Contents")).toBeGreaterThan(0);
  expect(README.indexOf("## Contents")).toBeLessThan(README.indexOf("## What it is"));
  // Every entry of the table of contents points at a heading of the README.
  const contents = README.slice(README.indexOf("## Contents"), README.indexOf("\n## ", README.indexOf("## Contents") + 3));
  const anchors = new Set(
    [...README.matchAll(/^#{2,4} (.+)$/gm)].map((m) =>
      m[1]!
        .toLowerCase()
        .replace(/[^\p{L}\p{N} -]/gu, "")
        .replace(/ /g, "-"),
    ),
  );
  const missing = [...contents.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]!).filter((a) => !anchors.has(a));
  expect(missing).toEqual([]);
});
