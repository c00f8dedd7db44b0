/**
 * A separate process holding one LockService for the conformance suite. It reads commands from
 * stdin, one per line, and answers each on stdout with one line:
 *
 *   hold <key>               -> "held <fence>"      (acquire and keep it)
 *   try <key>                -> "got <fence>" | "busy"   (tryAcquire, released again at once)
 *   release                  -> "released"          (releases what `hold` took)
 *   count <workers> <n> <on|off>
 *                            -> "counted"           (workers x n non-atomic increments of the
 *                               counter file, under the lock unless "off"; each fence is
 *                               appended to the fence log inside the critical section)
 *
 * Env: LOCK_OPTIONS (JSON service options), COUNTER_FILE, FENCE_LOG.
 */
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { LockService, type Lock, type LockServiceOptions } from '../../src';

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`missing env ${name}`);
  return value;
};

async function increment(counterFile: string, fenceLog: string, fence?: string): Promise<void> {
  const value = Number(await readFile(counterFile, 'utf8'));
  // Yield between read and write: without the lock, others interleave here.
  await new Promise((resolve) => setImmediate(resolve));
  await writeFile(counterFile, String(value + 1));
  if (fence !== undefined) await appendFile(fenceLog, `${fence}\n`);
}

async function main(): Promise<void> {
  const options = JSON.parse(env('LOCK_OPTIONS')) as LockServiceOptions;
  const counterFile = env('COUNTER_FILE');
  const fenceLog = env('FENCE_LOG');
  const service = new LockService({
    ...options,
    waitMs: 60_000,
    logger: { log: () => undefined, warn: () => undefined },
  });
  let held: Lock | undefined;
  const answer = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };

  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    const [command, ...args] = line.trim().split(/\s+/);
    if (command === 'hold') {
      held = await service.acquire(args[0]);
      answer(`held ${held.fence}`);
    } else if (command === 'try') {
      const lock = await service.tryAcquire(args[0]);
      answer(lock ? `got ${lock.fence}` : 'busy');
      await lock?.release();
    } else if (command === 'release') {
      await held?.release();
      held = undefined;
      answer('released');
    } else if (command === 'count') {
      const [workers, n, mode] = [Number(args[0]), Number(args[1]), args[2]];
      await Promise.all(
        Array.from({ length: workers }, async () => {
          for (let i = 0; i < n; i++) {
            if (mode === 'off') await increment(counterFile, fenceLog);
            else {
              await service.withLock('counter', (lock) =>
                increment(counterFile, fenceLog, lock.fence),
              );
            }
          }
        }),
      );
      answer('counted');
    } else if (command === 'exit') {
      break;
    }
  }
  await service.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
