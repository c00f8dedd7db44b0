import { describeStorms } from '../support/load/storm-suite';

// LOCK_BACKEND=memory locks within one process only, so its proof runs on one instance.
describeStorms('storms-memory', { LOCK_BACKEND: 'memory' }, 1);
