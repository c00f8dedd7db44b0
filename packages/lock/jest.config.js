/**
 * Unit specs sit next to the sources and need no services. Integration tests (test/) talk to a
 * real Redis (REDIS_URL, default 127.0.0.1:6379) and start their own redis-servers for faults.
 */
const { unit, integration } = require('./jest.projects');

module.exports = {
  // A global option: projects cannot set their own.
  testTimeout: 120000,
  projects: [unit, integration],
};
