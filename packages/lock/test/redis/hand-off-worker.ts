/**
 * A second process for the hand-off tests: on `go <key> <log>` it pushes `B-asked` to the Redis
 * list `log`, acquires `key`, pushes `B:<fence>` while holding it, releases, and answers `done`.
 * The list is written only inside critical sections (and just before asking), so its order is
 * the order in which the lock was held.
 */
import { createInterface } from 'node:readline';
import Redis from 'ioredis';
import { LockService, type LockServiceOptions } from '../../src';

async function main(): Promise<void> {
  const options = JSON.parse(process.env.LOCK_OPTIONS ?? '{}') as LockServiceOptions;
  const service = new LockService({ ...options, logger: { log: () => {}, warn: () => {} } });
  const raw = new Redis(process.env.LOG_REDIS_URL ?? '');
  process.stdout.write('ready\n');
  for await (const line of createInterface({ input: process.stdin })) {
    const [command, key, log] = line.split(' ');
    if (command !== 'go') break;
    await raw.rpush(log, 'B-asked');
    const lock = await service.acquire(key, { waitMs: 20_000 });
    await raw.rpush(log, `B:${lock.fence}`);
    await lock.release();
    process.stdout.write('done\n');
  }
  process.stdin.destroy();
  await service.close();
  raw.disconnect();
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
