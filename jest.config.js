/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  // 151002: ts-jest's note that node16 modules want isolatedModules; we keep full type checks.
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "test/tsconfig.json", diagnostics: { ignoreCodes: [151002] } }] },
  // A limit only catches a hang: generous, so that a loaded machine never fails a test by its
  // clock (test/support/limits.ts, which the test files use, says the same).
  testTimeout: 20 * 60_000,
  // Two cores: one worker per core; each e2e file runs several pulumi processes itself.
  maxWorkers: 2,
};
