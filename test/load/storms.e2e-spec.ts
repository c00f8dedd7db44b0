import { describeStorms } from './support/storm-suite';

// The default deployment: LOCK_BACKEND=redis, two instances.
describeStorms('storms', {}, 2);
