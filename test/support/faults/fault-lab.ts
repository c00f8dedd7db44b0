import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { freePorts, RedisServerProcess } from '../redis-server';
import { AppProcess } from '../app-process';
import { expectInvariants } from './invariants';
import { PrivatePostgres } from './private-postgres';

/**
 * Everything a fault case breaks, owned by the case: a private PostgreSQL cluster, a private
 * redis-server, and real app processes started from the build (dist/main.js). Nothing shared
 * with other suites is ever stopped or killed.
 */
export class FaultLab {
  readonly keyPrefix = `faults:${randomUUID().slice(0, 8)}:`;
  private readonly apps: AppProcess[] = [];

  private constructor(
    readonly postgres: PrivatePostgres,
    readonly redis: RedisServerProcess,
    /** The tests' own connections, to arrange fixtures and read the truth; survive outages. */
    readonly db: Pool,
  ) {}

  static async start(): Promise<FaultLab> {
    const postgres = await PrivatePostgres.start();
    const [port] = await freePorts(1);
    const redis = new RedisServerProcess(port ?? 0);
    await redis.start();
    const db = new Pool({ connectionString: postgres.url, max: 2 });
    // An idle connection dies with every outage the tests cause; the pool replaces it.
    db.on('error', () => undefined);
    return new FaultLab(postgres, redis, db);
  }

  /**
   * An app instance on the private servers. Leases are short (1 s) so that a killed holder's
   * lock runs out quickly; everything else is the service's default.
   */
  async app(overrides: Record<string, string> = {}): Promise<AppProcess> {
    const app = await AppProcess.start({
      DATABASE_URL: this.postgres.url,
      REDIS_URL: this.redis.url,
      REDIS_KEY_PREFIX: this.keyPrefix,
      LOCK_TTL_MS: '1000',
      ...overrides,
    });
    this.apps.push(app);
    return app;
  }

  /** Checks the invariants (see expectInvariants); a killed holder's lease may take `lockMs`. */
  async expectInvariants(lockMs = 0): Promise<void> {
    await expectInvariants(this.db, this.redis.url, this.keyPrefix, lockMs);
  }

  async close(): Promise<void> {
    await Promise.all(this.apps.map((app) => app.stop().catch(() => undefined)));
    await this.db.end().catch(() => undefined);
    await this.redis.destroy();
    await this.postgres.destroy();
  }
}
