// One jest project per suite, so each npm script runs exactly one of them.
const base = { preset: "ts-jest", testEnvironment: "node" };

module.exports = {
  // Program runs under mocks take seconds each on a busy two-core machine.
  testTimeout: 60000,
  projects: [
    { ...base, displayName: "unit", testMatch: ["<rootDir>/test/unit/**/*.test.ts"] },
    { ...base, displayName: "integration", testMatch: ["<rootDir>/test/integration/**/*.test.ts"] },
    { ...base, displayName: "e2e", testMatch: ["<rootDir>/test/e2e/**/*.test.ts"] },
    { ...base, displayName: "faults", testMatch: ["<rootDir>/test/faults/**/*.test.ts"] },
  ],
};
