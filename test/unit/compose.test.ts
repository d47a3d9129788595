// docker-compose.yml cannot run here (no Docker engine), so what can go wrong in it without Docker
// is checked: the secrets its header tells people to generate are exactly those it requires, the
// app gets every client secret config/demo.yaml names (the seed needs them all), and the demo
// client gets only settings scripts/demo-client.ts reads.
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";

const ROOT = path.resolve(__dirname, "../..");
const text = fs.readFileSync(path.join(ROOT, "docker-compose.yml"), "utf8");
const compose = YAML.parse(text) as { services: Record<string, { environment?: Record<string, string>; command?: string[] }> };

test("the .env the header generates holds every variable compose requires, and no other", () => {
  const required = new Set([...text.matchAll(/\$\{([A-Z][A-Z0-9_]*):\?/g)].map((m) => m[1]!));
  const printf = /printf '([^']*)'/.exec(text)?.[1] ?? "";
  const generated = new Set([...printf.matchAll(/([A-Z][A-Z0-9_]*)=%s/g)].map((m) => m[1]!));
  expect([...generated].sort()).toEqual([...required].sort());
});

test("the app gets every client secret config/demo.yaml names, and applies that file", () => {
  const demo = YAML.parse(fs.readFileSync(path.join(ROOT, "config", "demo.yaml"), "utf8")) as { clients: { "secret-env"?: string }[] };
  const app = compose.services.app!.environment!;
  expect(app.AUDIENCES_CONFIG).toBe("config/demo.yaml");
  for (const name of demo.clients.flatMap((c) => (c["secret-env"] ? [c["secret-env"]] : []))) expect([name, app[name]]).toEqual([name, expect.stringContaining(`\${${name}:?`)]);
});

test("the demo client runs scripts/demo-client.ts with settings it reads", () => {
  const client = compose.services["demo-client"]!;
  expect(client.command).toEqual(["npx", "tsx", "scripts/demo-client.ts"]);
  const source = fs.readFileSync(path.join(ROOT, "scripts", "demo-client.ts"), "utf8");
  const reads = new Set([...source.matchAll(/process\.env\.([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]!));
  expect(Object.keys(client.environment!).filter((k) => !reads.has(k))).toEqual([]);
});
