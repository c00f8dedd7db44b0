import { describeStorms } from '../support/load/storm-suite';

// LOCK_BACKEND=postgres: leases in the app's own PostgreSQL, two instances, no Redis at all.
describeStorms('storms-postgres', { LOCK_BACKEND: 'postgres', REDIS_URL: '' }, 2);
