import { describeStorms } from './support/storm-suite';

// LOCK_BACKEND=zookeeper on the shared ZooKeeper (scripts/services.sh), two instances.
describeStorms(
  'storms-zookeeper',
  {
    LOCK_BACKEND: 'zookeeper',
    LOCK_ZOOKEEPER_HOSTS: process.env.TEST_ZOOKEEPER_HOSTS ?? '127.0.0.1:2181',
  },
  2,
);
