import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import Redis from 'ioredis';
import { compareFences } from '../../src';
import { SHARED_REDIS_URL, uniquePrefix } from '../support/lock-test-kit';

const PROCESSES = 2;
const WORKERS_PER_PROCESS = 50;
const TOTAL = 2000;

interface Child {
  readonly proc: ChildProcessWithoutNullStreams;
  readonly lines: string[];
  readonly exited: Promise<number | null>;
}

function spawnWorker(prefix: string, lock: boolean): Child {
  const proc = spawn(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', join(__dirname, 'fixtures', 'worker.ts')],
    {
      cwd: join(__dirname, '..', '..'),
      env: {
        ...process.env,
        REDIS_URL: SHARED_REDIS_URL,
        PREFIX: prefix,
        WORKERS: String(WORKERS_PER_PROCESS),
        INCREMENTS: String(TOTAL / PROCESSES),
        LOCK: lock ? 'on' : 'off',
      },
    },
  );
  const lines: string[] = [];
  let buffer = '';
  proc.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    lines.push(...parts);
  });
  let stderr = '';
  proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    proc.once('exit', (code) => {
      if (code !== 0) process.stderr.write(stderr);
      resolve(code);
    }),
  );
  return { proc, lines, exited };
}

async function runHarness(lock: boolean): Promise<{ counter: number; fences: string[] }> {
  const prefix = uniquePrefix(lock ? 'mutex' : 'nolock');
  const redis = new Redis(SHARED_REDIS_URL);
  const children = Array.from({ length: PROCESSES }, () => spawnWorker(prefix, lock));
  try {
    const deadline = Date.now() + 30_000;
    while (!children.every((c) => c.lines.includes('ready'))) {
      if (Date.now() > deadline) throw new Error('workers did not get ready');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    for (const child of children) child.proc.stdin.end('go\n');
    // The workers must also exit on their own: a lingering handle would show up here.
    const codes = await Promise.race([
      Promise.all(children.map((c) => c.exited)),
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('workers did not finish/exit in 60 s')), 60_000).unref(),
      ),
    ]);
    expect(codes).toEqual(children.map(() => 0));
    const counter = Number(await redis.get(`${prefix}counter`));
    const fences = await redis.lrange(`${prefix}fences`, 0, -1);
    return { counter, fences };
  } finally {
    for (const child of children) if (child.proc.exitCode === null) child.proc.kill('SIGKILL');
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  }
}

describe('mutual exclusion across processes', () => {
  it(`${PROCESSES} processes x ${WORKERS_PER_PROCESS} workers: exactly ${TOTAL} increments under the lock`, async () => {
    const { counter, fences } = await runHarness(true);
    expect(counter).toBe(TOTAL);
    // Fences were appended inside the critical section, i.e. in holder order.
    expect(fences).toHaveLength(TOTAL);
    const firstNotIncreasing = fences.findIndex(
      (fence, i) => i > 0 && compareFences(fence, fences[i - 1]) <= 0,
    );
    expect(firstNotIncreasing).toBe(-1);
  });

  it('the same harness without the lock loses updates (the test can fail)', async () => {
    const { counter } = await runHarness(false);
    expect(counter).toBeLessThan(TOTAL);
    expect(counter).toBeGreaterThan(0);
  });
});
