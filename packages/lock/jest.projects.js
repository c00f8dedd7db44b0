/**
 * The package's two jest projects, shared by its own jest.config.js and the app's root config
 * (which runs the integration project as `lock`).
 */
const transform = { '^.+\\.ts$': 'ts-jest' };

const base = {
  rootDir: __dirname,
  testEnvironment: 'node',
  transform,
  moduleFileExtensions: ['ts', 'js', 'json'],
};

module.exports = {
  unit: { ...base, displayName: 'unit', testMatch: ['<rootDir>/src/**/*.spec.ts'] },
  integration: {
    ...base,
    displayName: 'integration',
    testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
  },
};
