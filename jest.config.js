// Two projects: unit tests of pure logic (no servers) and end-to-end tests against the real
// Ory Hydra v2.3.0 and PostgreSQL (test/support/global-setup.ts builds/prepares them once).
const fs = require("node:fs");

const transform = { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.json" }] };
// The browser tests (test/e2e/browser-*.test.ts) drive Chromium. Where it is missing and cannot be
// installed (not root, no apt-get), the rest of the suite still runs and scripts/test.sh says so; CI
// always runs them (the global setup fails there without Chromium).
const chromiumMissing = !process.env.CI && !fs.existsSync(process.env.CHROMIUM_PATH ?? "/usr/bin/chromium");

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    {
      displayName: "unit",
      testEnvironment: "node",
      transform,
      testMatch: ["<rootDir>/test/unit/**/*.test.ts"],
    },
    {
      displayName: "e2e",
      testEnvironment: "node",
      transform,
      testMatch: ["<rootDir>/test/e2e/**/*.test.ts"],
      testPathIgnorePatterns: ["/node_modules/", ...(chromiumMissing ? ["<rootDir>/test/e2e/browser-"] : [])],
      globalSetup: "<rootDir>/test/support/global-setup.ts",
      globalTeardown: "<rootDir>/test/support/global-teardown.ts",
      slowTestThreshold: 30,
    },
  ],
};
