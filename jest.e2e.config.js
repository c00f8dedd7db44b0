/** Integration and end-to-end tests: real PostgreSQL, real Redis, real app processes. */
module.exports = {
  rootDir: '.',
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  moduleFileExtensions: ['ts', 'js', 'json'],
  // The lock package's sources, as in tsconfig.json "paths" (the build uses its compiled dist).
  moduleNameMapper: {
    '^@couponlock/lock$': '<rootDir>/packages/lock/src/index.ts',
    '^@couponlock/lock/prometheus$': '<rootDir>/packages/lock/src/prometheus/index.ts',
  },
  globalSetup: '<rootDir>/test/setup/global-setup.ts',
  testTimeout: 120000,
};
