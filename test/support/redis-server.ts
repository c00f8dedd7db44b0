// One throwaway redis-server helper for every suite: the lock package's.
export { freePorts, ping, RedisServerProcess } from '../../packages/lock/test/support/redis-server';
