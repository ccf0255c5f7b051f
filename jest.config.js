/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "test/tsconfig.json" }] },
  // Kernel and pulumi tests are slow by nature; each file sets tighter limits where it can.
  testTimeout: 60_000,
  // Two cores: one worker per core; each e2e file runs several pulumi processes itself.
  maxWorkers: 2,
};
