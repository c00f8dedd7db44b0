import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TEST_POSTGRES_URL } from '../conformance/backends';
import { SHARED_REDIS_URL } from '../support/lock-test-kit';

const run = promisify(execFile);

const PACKAGE_DIR = join(__dirname, '..', '..');
const APP_SOURCE = join(__dirname, 'app');

interface PackResult {
  readonly filename: string;
  readonly files: readonly { readonly path: string }[];
}

interface AppOutput {
  readonly backend: string;
  readonly value: number;
  readonly fences: readonly string[];
  readonly fence: string;
  readonly health: { up: boolean };
  readonly acquiredCount: string;
}

/**
 * `npm pack` must give a tarball that installs and works in an empty Nest app: this packs the
 * package (prepack builds it), installs the tarball with its peers into a temporary app,
 * compiles the app against the published type declarations and runs it on the memory and the
 * redis backends.
 */
describe('the npm tarball', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lock-tarball-'));
  let pack: PackResult;
  let required: Record<string, string>;
  let appDir: string;

  beforeAll(async () => {
    const { stdout } = await run('npm', ['pack', '--pack-destination', dir, '--json', '--silent'], {
      cwd: PACKAGE_DIR,
      maxBuffer: 16 * 1024 * 1024,
    });
    pack = (JSON.parse(stdout.slice(stdout.indexOf('['))) as PackResult[])[0];

    const own = JSON.parse(readFileSync(join(PACKAGE_DIR, 'package.json'), 'utf8')) as {
      devDependencies: Record<string, string>;
    };
    const version = (name: string): string => {
      const v = own.devDependencies[name];
      if (!v) throw new Error(`no devDependency ${name} to take the version from`);
      return v;
    };
    const pinned = (names: readonly string[]): Record<string, string> =>
      Object.fromEntries(names.map((name) => [name, version(name)]));
    required = {
      '@couponlock/lock': `file:${join(dir, pack.filename)}`,
      ...pinned(['@nestjs/common', '@nestjs/core', 'reflect-metadata', 'rxjs']),
    };
    appDir = join(dir, 'app');
    mkdirSync(appDir);
    await install(appDir, {
      ...required,
      ...pinned(['ioredis', 'pg', 'prom-client', '@types/node']),
    });
    copyFileSync(join(APP_SOURCE, 'main.ts'), join(appDir, 'main.ts'));
    copyFileSync(join(APP_SOURCE, 'tsconfig.json'), join(appDir, 'tsconfig.json'));
    const tsc = require.resolve('typescript/bin/tsc');
    await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: appDir }).catch(
      (err: { stdout?: string }) => {
        throw new Error(`the app does not compile against the tarball:\n${err.stdout ?? ''}`);
      },
    );
  }, 180_000);

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  async function install(cwd: string, dependencies: Record<string, string>): Promise<void> {
    writeFileSync(
      join(cwd, 'package.json'),
      JSON.stringify({ name: 'lock-tarball-app', private: true, dependencies }),
    );
    // The cache already holds these versions (the repo installed them): no registry round
    // trips unless something is missing.
    await run(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--silent'],
      { cwd, maxBuffer: 16 * 1024 * 1024 },
    );
  }

  it('ships the compiled code, its type declarations, README and LICENSE, and nothing else', () => {
    const paths = pack.files.map((f) => f.path);
    for (const path of [
      'package.json',
      'README.md',
      'LICENSE',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/prometheus/index.js',
      'dist/prometheus/index.d.ts',
      'dist/backends/memory/memory.backend.js',
      'dist/backends/redis/redis.backend.js',
      'dist/backends/postgres/postgres.backend.js',
    ]) {
      expect(paths).toContain(path);
    }
    const unexpected = paths.filter(
      (p) =>
        !['package.json', 'README.md', 'LICENSE'].includes(p) && !/^dist\/.+\.(js|d\.ts)$/.test(p),
    );
    expect(unexpected).toEqual([]);
    expect(paths.filter((p) => p.includes('.spec.'))).toEqual([]);
  });

  it.each(['memory', 'redis', 'postgres'])(
    'an empty Nest app takes locks on the %s backend',
    async (backend) => {
      const { stdout } = await run(process.execPath, [join('dist', 'main.js')], {
        cwd: appDir,
        env: {
          ...process.env,
          BACKEND: backend,
          REDIS_URL: SHARED_REDIS_URL,
          DATABASE_URL: TEST_POSTGRES_URL,
          PREFIX: `test:tarball:${randomUUID()}:`,
        },
      });
      const output = JSON.parse(stdout) as AppOutput;
      expect(output.backend).toBe(backend);
      // 20 concurrent non-atomic increments under @Locked: exact, with increasing fences.
      expect(output.value).toBe(20);
      expect(output.fences).toHaveLength(20);
      const fences = output.fences.map((f) => BigInt(f));
      expect(fences.every((f, i) => i === 0 || f > fences[i - 1])).toBe(true);
      expect(output.fence).toMatch(/^[1-9][0-9]*$/);
      expect(output.health).toEqual({ up: true });
      // The prom-client adapter from the subpath export saw every acquisition.
      expect(output.acquiredCount).toBe('20');
    },
  );

  it('works without the optional peers (ioredis, pg, node-zookeeper-client, prom-client) when they are not selected', async () => {
    const bare = join(dir, 'bare');
    mkdirSync(bare);
    await install(bare, required);
    copyFileSync(
      join(APP_SOURCE, 'without-optional-peers.cjs'),
      join(bare, 'without-optional-peers.cjs'),
    );
    const { stdout } = await run(process.execPath, ['without-optional-peers.cjs'], { cwd: bare });
    const output = JSON.parse(stdout) as {
      missing: string[];
      fence: string;
      redis: string;
      postgres: string;
      zookeeper: string;
    };
    expect(output.missing).toEqual(['ioredis', 'pg', 'node-zookeeper-client', 'prom-client']);
    expect(output.fence).toBe('1');
    // Selecting redis without its client fails at construction, naming the missing module.
    expect(output.redis).toMatch(
      /^lock backend "redis" needs its client library .*Cannot find module 'ioredis'/,
    );
    expect(output.postgres).toMatch(
      /^lock backend "postgres" needs its client library .*Cannot find module 'pg'/,
    );
    expect(output.zookeeper).toMatch(
      /^lock backend "zookeeper" needs its client library .*Cannot find module 'node-zookeeper-client'/,
    );
  });
});
