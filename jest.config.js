/**
 * One jest run, four projects (README: Tests):
 * - unit: specs beside the sources (`src/`, `packages/*\/src/`), no services;
 * - integration: `test/` against real PostgreSQL, Redis, ZooKeeper and app processes, plus the
 *   lock package's own integration tests (project `lock`);
 * - proofs: the multi-process storms and their detection power (`test/load`);
 * - faults: outages, kills and crash points (`test/faults`).
 * `npm test` builds once and runs them all; `npm run test:<project>` runs one.
 */
const lock = require('./packages/lock/jest.projects');

const transform = {
  '^.+\\.ts$': 'ts-jest',
  // k6/lib/outcome.js, the answer classifier the k6 scripts and load/harness.ts share, is a plain
  // ES module (what k6 runs); Node requires it as it is, jest's module loader needs it compiled.
  '^.+/k6/lib/.+\\.js$': ['ts-jest', { tsconfig: { allowJs: true } }],
};
const base = {
  rootDir: __dirname,
  testEnvironment: 'node',
  transform,
  moduleFileExtensions: ['ts', 'js', 'json'],
  // The lock package's sources, as in tsconfig.json "paths" (app processes use its compiled dist).
  moduleNameMapper: {
    '^@couponlock/lock$': '<rootDir>/packages/lock/src/index.ts',
    '^@couponlock/lock/prometheus$': '<rootDir>/packages/lock/src/prometheus/index.ts',
  },
};
// Drops and re-migrates the test database once per run, however many of these projects run.
const withServices = { ...base, globalSetup: '<rootDir>/test/setup/global-setup.ts' };

module.exports = {
  // Global options: projects cannot set their own.
  testTimeout: 120000,
  // The suites start real servers, clients and app processes. A test that fails half-way can
  // leave a client open, and CI must still end: jest then reports the leak and exits anyway
  // (find it with --detectOpenHandles).
  forceExit: true,
  reporters: ['default', '<rootDir>/test/support/duration-reporter.js'],
  projects: [
    {
      ...base,
      displayName: 'unit',
      testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/packages/*/src/**/*.spec.ts'],
    },
    {
      ...withServices,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/load/', '<rootDir>/test/faults/'],
    },
    { ...lock.integration, displayName: 'lock' },
    { ...withServices, displayName: 'proofs', testMatch: ['<rootDir>/test/load/**/*.e2e-spec.ts'] },
    {
      ...withServices,
      displayName: 'faults',
      testMatch: ['<rootDir>/test/faults/**/*.e2e-spec.ts'],
    },
  ],
};
