// The import graph of src/ keeps its shape: no circle, and no import that runs back up a layer
// (.dependency-cruiser.cjs names the layers and the rules; dependency-cruiser reads the real imports).
import { spawnSync } from "node:child_process";
import path from "node:path";

const ROOT = path.resolve(__dirname, "../..");

test("src/ has no circle and no import that runs back up (dependency-cruiser)", () => {
  const run = spawnSync(path.join(ROOT, "node_modules", ".bin", "depcruise"), ["src", "--config", ".dependency-cruiser.cjs", "--output-type", "err"], { cwd: ROOT, encoding: "utf8" });
  expect({ status: run.status, violations: run.stdout.trim() }).toEqual({ status: 0, violations: expect.stringMatching(/^✔ no dependency violations found/) });
}, 60_000);
