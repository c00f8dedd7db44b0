import { describeStorms } from '../support/load/storm-suite';

// LOCK_BACKEND=zookeeper on the shared ZooKeeper (scripts/services.sh), two instances. A request
// crosses five server threads in ZooKeeper (a JVM) against one in Redis: on a machine loaded far
// past its cores, some answers then take more than the default 1 s command timeout, which fails
// closed with 503s. The invariants are the point here, so the storm allows 5 s.
describeStorms(
  'storms-zookeeper',
  {
    LOCK_BACKEND: 'zookeeper',
    LOCK_ZOOKEEPER_HOSTS: process.env.TEST_ZOOKEEPER_HOSTS ?? '127.0.0.1:2181',
    LOCK_COMMAND_TIMEOUT_MS: '5000',
  },
  2,
);
