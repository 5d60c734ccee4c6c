// One jest project per suite, so each npm script runs exactly one of them.
const base = { preset: "ts-jest", testEnvironment: "node" };
// The suites that start simulated hosts build their root file systems first and name them at the end.
const hosts = {
  globalSetup: "<rootDir>/test/support/hostsSetup.ts",
  globalTeardown: "<rootDir>/test/support/hostsTeardown.ts",
};

module.exports = {
  // Program runs under mocks take seconds each on a busy two-core machine.
  testTimeout: 60000,
  // Every test file re-imports the Pulumi SDK in a fresh module registry, and a process that runs them all
  // grows by hundreds of MB per file (past 10 GB for the unit suite). Workers are recycled instead once
  // they hold more than this after a file; two of them, since one would run the suite in-band.
  maxWorkers: 2,
  workerIdleMemoryLimit: "1GB",
  projects: [
    { ...base, displayName: "unit", testMatch: ["<rootDir>/test/unit/**/*.test.ts"] },
    { ...base, ...hosts, displayName: "integration", testMatch: ["<rootDir>/test/integration/**/*.test.ts"] },
    { ...base, ...hosts, displayName: "e2e", testMatch: ["<rootDir>/test/e2e/**/*.test.ts"] },
    { ...base, ...hosts, displayName: "faults", testMatch: ["<rootDir>/test/faults/**/*.test.ts"] },
  ],
};
