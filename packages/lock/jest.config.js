/**
 * Unit specs sit next to the sources and need no services. Integration tests (test/) talk to a
 * real Redis (REDIS_URL, default 127.0.0.1:6379) and start their own redis-servers for faults.
 */
const transform = { '^.+\\.ts$': 'ts-jest' };

module.exports = {
  // A global option: projects cannot set their own.
  testTimeout: 120000,
  projects: [
    {
      displayName: 'unit',
      rootDir: __dirname,
      testEnvironment: 'node',
      testMatch: ['<rootDir>/src/**/*.spec.ts'],
      transform,
      moduleFileExtensions: ['ts', 'js', 'json'],
    },
    {
      displayName: 'integration',
      rootDir: __dirname,
      testEnvironment: 'node',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      transform,
      moduleFileExtensions: ['ts', 'js', 'json'],
    },
  ],
};
