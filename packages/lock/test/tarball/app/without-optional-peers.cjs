// Installed with the required peers only (no ioredis, prom-client, node-zookeeper-client): the
// memory backend must work, because each backend's client is loaded only when that backend is
// selected.
require('reflect-metadata');
const { LockService } = require('@couponlock/lock');

const missing = ['ioredis', 'prom-client', 'node-zookeeper-client'].filter((name) => {
  try {
    require.resolve(name);
    return false;
  } catch {
    return true;
  }
});

async function main() {
  const service = new LockService({
    backend: 'memory',
    logger: { log: () => undefined, warn: () => undefined },
  });
  const lock = await service.acquire('solo');
  const fence = lock.fence;
  await lock.release();
  const redis = (() => {
    try {
      new LockService({ backend: 'redis', redis: { urls: ['redis://127.0.0.1:1'] } });
      return 'created';
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
  })();
  const zookeeper = (() => {
    try {
      new LockService({ backend: 'zookeeper' });
      return 'created';
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
  })();
  await service.close();
  process.stdout.write(`${JSON.stringify({ missing, fence, redis, zookeeper })}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
