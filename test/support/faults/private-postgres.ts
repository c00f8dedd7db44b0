import { execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../../../src/database/data-source-options';
import { runMigrationsExclusively } from '../../../src/database/run-migrations';
import { freePort } from '../ports';

/** The newest PostgreSQL server installed the Debian way (/usr/lib/postgresql/<major>/bin). */
function serverBinaries(): string {
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root)
    ? readdirSync(root)
        .filter((major) => existsSync(join(root, major, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const [newest] = majors;
  if (!newest) {
    throw new Error(
      'no PostgreSQL server under /usr/lib/postgresql (bash scripts/services.sh installs one)',
    );
  }
  return join(root, newest, 'bin');
}

/** initdb and the server refuse to run as root; as root we run them as the `postgres` user. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string): number =>
    Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

/**
 * A throwaway PostgreSQL cluster of its own (initdb in a temp directory, a free port), so the
 * fault tests can stop, kill and restart PostgreSQL without touching anything shared. Durability
 * settings are off: the tests kill the server, never the machine.
 */
export class PrivatePostgres {
  readonly database = 'couponlock';
  private readonly dir = mkdtempSync(join(tmpdir(), 'couponlock-faults-pg-'));
  private readonly bin = serverBinaries();
  private readonly user = serverUser();

  private constructor(readonly port: number) {}

  /** Creates the cluster, starts it, and migrates a fresh database. */
  static async start(): Promise<PrivatePostgres> {
    const cluster = new PrivatePostgres(await freePort());
    if (cluster.user) chownSync(cluster.dir, cluster.user.uid, cluster.user.gid);
    await cluster.run('initdb', [
      '-D',
      cluster.dataDir,
      '-U',
      'postgres',
      '-A',
      'trust',
      '-E',
      'UTF8',
      '--no-sync',
    ]);
    await cluster.startServer();
    const admin = new Client({ connectionString: cluster.urlFor('postgres') });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${cluster.database}`);
    await admin.end();
    const dataSource = await new DataSource(
      dataSourceOptions({ url: cluster.url, poolSize: 2, applicationName: 'faults-migrate' }),
    ).initialize();
    try {
      await runMigrationsExclusively(dataSource);
    } finally {
      await dataSource.destroy();
    }
    return cluster;
  }

  get url(): string {
    return this.urlFor(this.database);
  }

  private urlFor(database: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  private get dataDir(): string {
    return join(this.dir, 'data');
  }

  async startServer(): Promise<void> {
    const settings = [
      `-p ${this.port}`,
      `-k ${this.dir}`,
      '-c listen_addresses=127.0.0.1',
      '-c fsync=off',
      '-c synchronous_commit=off',
      '-c full_page_writes=off',
      '-c max_connections=100',
    ].join(' ');
    await this.run('pg_ctl', [
      '-D',
      this.dataDir,
      '-l',
      join(this.dir, 'server.log'),
      '-o',
      settings,
      '-w',
      'start',
    ]);
  }

  /**
   * `fast` is what `pg_ctlcluster ... stop -m fast` does: sessions are terminated (their
   * statements fail with 57P01) and the server shuts down cleanly. `immediate` is a crash.
   */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    await this.run('pg_ctl', ['-D', this.dataDir, '-m', mode, '-w', 'stop']);
  }

  /** A client of the cluster's database, for the tests' own checks and fixtures. */
  async client(): Promise<Client> {
    const client = new Client({ connectionString: this.url });
    await client.connect();
    return client;
  }

  async destroy(): Promise<void> {
    await this.stop('immediate').catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private run(tool: string, args: string[]): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn(join(this.bin, tool), args, {
        stdio: ['ignore', 'ignore', 'pipe'],
        ...(this.user ?? {}),
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', reject);
      child.on('exit', (code) =>
        code === 0
          ? resolve()
          : reject(new Error(`${tool} ${args.join(' ')} failed (${code}): ${stderr}`)),
      );
    });
  }
}
