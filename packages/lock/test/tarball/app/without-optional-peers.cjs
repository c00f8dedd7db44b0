// Installed with the required peers only (no ioredis, pg, node-zookeeper-client or prom-client):
// the memory backend must work, because each backend's client is loaded only when that backend
// is selected.
require('reflect-metadata');
const { LockService } = require('@couponlock/lock');

const missing = ['ioredis', 'pg', 'node-zookeeper-client', 'prom-client'].filter((name) => {
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
  // Each backend needing a missing client must fail to construct, naming the library.
  const attempt = (options) => {
    try {
      new LockService(options);
      return 'created';
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
  };
  const redis = attempt({ backend: 'redis', redis: { urls: ['redis://127.0.0.1:1'] } });
  const postgres = attempt({
    backend: 'postgres',
    postgres: { connectionString: 'postgres://x@127.0.0.1:1/x' },
  });
  const zookeeper = attempt({ backend: 'zookeeper' });
  await service.close();
  process.stdout.write(`${JSON.stringify({ missing, fence, redis, postgres, zookeeper })}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
