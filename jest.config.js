// Three projects: unit tests of pure logic (no servers), integration tests against the real
// PostgreSQL only, and end-to-end tests against the real Ory Hydra v2.3.0, PostgreSQL and Mailpit (test/support/global-setup.ts builds/prepares them once).
const fs = require("node:fs");
const path = require("node:path");

// otplib's default plugins (@scure/base, @noble/hashes) are ES modules only: Node 24 requires them
// as they are, jest's module loader does not, so jest compiles those two to CommonJS.
const transform = {
  "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.json" }],
  "node_modules/@(scure|noble)/.+\\.js$": ["ts-jest", { tsconfig: { allowJs: true, module: "commonjs", esModuleInterop: true }, isolatedModules: true }],
};
const transformIgnorePatterns = ["^(?!.*/node_modules/@(scure|noble)/).*/node_modules/"];
// The fetched and built tools (.bin/: Node, Go, Mailpit's UI build with its own node_modules) and
// the demo's data (.run/) are no modules of this project: jest's file map leaves them out.
const modulePathIgnorePatterns = ["<rootDir>/.bin/", "<rootDir>/.run/", "<rootDir>/dist/"];
// The browser tests (the e2e files that use test/support/chromium.ts) drive Chromium. Where it is
// missing and cannot be installed (not root, no apt-get), the rest of the suite still runs and
// scripts/test.sh says so; CI always runs them (the global setup fails there without Chromium).
const chromiumMissing = !process.env.CI && !fs.existsSync(process.env.CHROMIUM_PATH ?? "/usr/bin/chromium");
const e2eDir = path.join(__dirname, "test", "e2e");
const browserTests = chromiumMissing
  ? fs.readdirSync(e2eDir).filter((f) => f.endsWith(".test.ts") && fs.readFileSync(path.join(e2eDir, f), "utf8").includes("support/chromium"))
  : [];

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    {
      displayName: "unit",
      testEnvironment: "node",
      transform,
      transformIgnorePatterns,
      modulePathIgnorePatterns,
      testMatch: ["<rootDir>/test/unit/**/*.test.ts"],
    },
    {
      // The store and the flows in-process against the real PostgreSQL (no Hydra, Mailpit or
      // browser; a flow's call to Hydra's admin API, where it is not the point, answers from
      // test/support/fake-hydra.ts).
      displayName: "integration",
      testEnvironment: "node",
      transform,
      transformIgnorePatterns,
      modulePathIgnorePatterns,
      testMatch: ["<rootDir>/test/integration/**/*.test.ts"],
      globalSetup: "<rootDir>/test/support/db-setup.ts",
      globalTeardown: "<rootDir>/test/support/global-teardown.ts",
    },
    {
      displayName: "e2e",
      testEnvironment: "node",
      transform,
      transformIgnorePatterns,
      modulePathIgnorePatterns,
      testMatch: ["<rootDir>/test/e2e/**/*.test.ts"],
      testPathIgnorePatterns: ["/node_modules/", ...browserTests.map((f) => `<rootDir>/test/e2e/${f.replace(/\./g, "\\.")}$`)],
      globalSetup: "<rootDir>/test/support/global-setup.ts",
      globalTeardown: "<rootDir>/test/support/global-teardown.ts",
      slowTestThreshold: 30,
    },
  ],
};
