import { describeStorms } from '../support/load/storm-suite';

// The default deployment: LOCK_BACKEND=redis, two instances.
describeStorms('storms', {}, 2);
