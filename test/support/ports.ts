// One implementation of the port and polling helpers for the whole suite: the app starter's
// freePort, and the lock library's test kit for the polling.
export { freePort } from '../../load/app-process';
export { sleep, waitFor } from '../../packages/lock/test/support/redis-server';
