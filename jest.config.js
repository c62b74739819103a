/** Unit tests (pure logic) and end-to-end tests (real Temporal + Mosquitto) in one run. */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', {}] },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  globalSetup: '<rootDir>/test/setup/global-setup.ts',
  globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
  setupFiles: ['<rootDir>/test/setup/quiet-runtime.ts'],
  testTimeout: 120_000,
  // 2 cores: the servers need one; tests run one file at a time.
  maxWorkers: 1,
};
