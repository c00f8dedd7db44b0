import { WakeListeners } from '../wake-listeners';
import { createHash } from 'node:crypto';
import { Client, Pool, type ClientConfig, type Notification, type PoolConfig } from 'pg';
import type {
  AcquireOutcome,
  BackendContext,
  KeyWatch,
  LockBackend,
  LockBackendFactory,
  WakeListener,
} from '../../core/backend';
import { LockBackendUnavailableError } from '../../core/errors';
import { isFence } from '../../core/fence';
import {
  lockTableNames,
  payloadFor,
  schemaPresentParams,
  schemaPresentQuery,
  schemaStatements,
  type LockTableNames,
} from './sql';

export interface PostgresBackendOptions {
  /**
   * Where the lease table lives, e.g. `postgres://user:pass@host:5432/db` (libpq URL; `sslmode`
   * and the other URL parameters node-postgres understands apply). Default: node-postgres'
   * own defaults (the PG* environment variables).
   */
  readonly connectionString?: string;
  /**
   * Connections of the lock's own pool (default 4), plus one dedicated LISTEN connection. The
   * lock never borrows a connection from the app's pool, so a business transaction never waits
   * for a lock call or the other way round. Every lock call is one short statement (well under
   * a millisecond on a LAN), so a few connections serve thousands of calls per second.
   */
  readonly poolSize?: number;
  /** Schema of the lease table and its functions (default `public`). */
  readonly schema?: string;
  /** Name of the lease table (default `couponlock_locks`); functions are named after it. */
  readonly table?: string;
  /**
   * `application_name` of the lock's connections (default `couponlock-lock`; the LISTEN
   * connection adds `-listen`): tells them apart in `pg_stat_activity`.
   */
  readonly applicationName?: string;
  /**
   * Create the schema, table and functions when missing, at the first call (default true;
   * idempotent, serialised by an advisory lock). Set false when the role may not run DDL and the
   * objects were created beforehand.
   */
  readonly createTable?: boolean;
}

const DEFAULT_POOL_SIZE = 4;
/** Reconnect delays of the LISTEN connection: quick, so the lock recovers on its own. */
const RECONNECT_MIN_MS = 50;
const RECONNECT_MAX_MS = 500;
/** Key of the advisory lock that serialises the DDL of concurrent first starts. */
const SETUP_LOCK_KEY = 0x636c6f63; // 'cloc'

function md5(s: string): string {
  return createHash('md5').update(s).digest('hex');
}

function toBackendError(err: unknown, what: string): LockBackendUnavailableError {
  if (err instanceof LockBackendUnavailableError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new LockBackendUnavailableError(`lock backend unavailable (postgres ${what}): ${detail}`, {
    cause: err,
  });
}

/**
 * The dedicated LISTEN connection: one per backend instance, listening on the table's one
 * channel; releases NOTIFY the key, and the listener fans it out to this process's waiters.
 * Reports its losses and returns to the core (circuit breaker) and reconnects by itself.
 */
class ReleaseListener {
  private client: Client | undefined;
  private connected = false;
  private closed = false;
  private attempts = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  /** Whether `disconnected` was reported since the last successful connect. */
  private reportedDown = false;
  private readonly waiting = new Set<() => void>();
  private readonly listeners = new WakeListeners();

  constructor(
    private readonly config: ClientConfig,
    private readonly names: LockTableNames,
    private readonly context: BackendContext,
  ) {
    this.connect();
  }

  get isConnected(): boolean {
    return this.connected;
  }

  watch(payloads: readonly string[], listener: WakeListener): () => void {
    return this.listeners.add(payloads, listener);
  }

  /** Resolves true once connected and listening, false after `waitMs`. */
  whenConnected(waitMs: number): Promise<boolean> {
    if (this.connected) return Promise.resolve(true);
    if (this.closed || waitMs <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiting.delete(done);
        resolve(this.connected);
      };
      const timer = setTimeout(done, waitMs);
      timer.unref();
      this.waiting.add(done);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.connected = false;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    for (const done of [...this.waiting]) done();
    this.listeners.clear();
    const client = this.client;
    this.client = undefined;
    if (client) await endQuietly(client);
  }

  private connect(): void {
    if (this.closed) return;
    const client = new Client(this.config);
    this.client = client;
    let lost = false;
    const onLost = (reason: unknown): void => {
      if (lost) return;
      lost = true;
      client.removeAllListeners('notification');
      void endQuietly(client);
      if (this.client === client) this.client = undefined;
      if (this.closed) return;
      this.connected = false;
      if (!this.reportedDown) {
        this.reportedDown = true;
        this.context.events.disconnected(reason);
      }
      this.scheduleReconnect();
    };
    client.on('error', (err) => {
      this.context.events.error(err, 'listen connection');
      onLost(err);
    });
    client.on('end', () => onLost(new Error('postgres LISTEN connection closed')));
    client.on('notification', this.onNotification);
    client
      .connect()
      .then(() => client.query(`LISTEN "${this.names.channel}"`))
      .then(
        () => {
          if (lost || this.closed) return;
          this.connected = true;
          this.attempts = 0;
          for (const done of [...this.waiting]) done();
          if (this.reportedDown) {
            this.reportedDown = false;
            this.context.events.reconnected();
          }
        },
        (err: unknown) => onLost(err),
      );
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    const base = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** Math.min(this.attempts, 8));
    this.attempts++;
    this.reconnectTimer = setTimeout(
      () => {
        this.reconnectTimer = undefined;
        this.connect();
      },
      base + Math.floor(Math.random() * 50),
    );
    this.reconnectTimer.unref();
  }

  private readonly onNotification = (message: Notification): void => {
    if (message.channel !== this.names.channel || message.payload === undefined) return;
    this.listeners.wake(message.payload);
  };
}

/** Ends a client without letting a dead or hung server hold the caller. */
async function endQuietly(client: Client): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    client.end().catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, 1000);
      timer.unref();
    }),
  ]);
  clearTimeout(timer);
}

/**
 * The `postgres` backend: a lease table decided by three PL/pgSQL functions (one statement per
 * acquire, extend or release), leases on the database clock, fences from a per-key counter,
 * and LISTEN/NOTIFY wake-ups. See the package README for the design.
 */
class PostgresBackend implements LockBackend {
  readonly name = 'postgres';
  private readonly pool: Pool;
  private readonly listener: ReleaseListener;
  private readonly acquireSql: string;
  private readonly extendSql: string;
  private readonly releaseSql: string;
  /** Set once the table and functions are known to exist. */
  private schemaReady: boolean;
  private schemaPending: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly options: PostgresBackendOptions,
    private readonly names: LockTableNames,
    private readonly context: BackendContext,
  ) {
    const applicationName = options.applicationName ?? 'couponlock-lock';
    const timeout = context.commandTimeoutMs;
    const base: ClientConfig = {
      connectionString: options.connectionString,
      application_name: applicationName,
      // The server gives up on a slow statement (e.g. one waiting for row locks) ...
      statement_timeout: Math.ceil(timeout),
      // ... and the client on a server that does not answer at all (SIGSTOP, a black hole).
      query_timeout: Math.ceil(timeout),
      connectionTimeoutMillis: Math.ceil(Math.max(timeout, context.connectWaitMs)),
      idle_in_transaction_session_timeout: Math.ceil(Math.max(1000, 2 * timeout)),
      keepAlive: true,
    };
    const poolSize = options.poolSize ?? DEFAULT_POOL_SIZE;
    if (!Number.isInteger(poolSize) || poolSize < 1) {
      throw new TypeError('postgres lock poolSize must be an integer >= 1');
    }
    const poolConfig: PoolConfig = { ...base, max: poolSize, idleTimeoutMillis: 30_000 };
    this.pool = new Pool(poolConfig);
    // An idle connection the server or the network closed: pg-pool drops it and opens a new one
    // for the next call. Not an outage by itself (leases live in the table, not in sessions), but
    // worth a look: if the server is gone, a ping fails and the breaker opens.
    this.pool.on('error', (err) => {
      this.context.events.error(err, 'pool connection');
      if (this.closed) return;
      this.pool.query('SELECT 1').catch((pingErr: unknown) => {
        if (!this.closed) this.context.events.disconnected(pingErr);
      });
    });
    this.listener = new ReleaseListener(
      { ...base, application_name: `${applicationName}-listen` },
      names,
      context,
    );
    this.acquireSql = `SELECT ${names.acquireFn}($1::text[], $2::text, $3::integer, $4::text) AS r`;
    this.extendSql = `SELECT ${names.extendFn}($1::text[], $2::text, $3::integer) AS r`;
    this.releaseSql = `SELECT ${names.releaseFn}($1::text[], $2::text, $3::text) AS r`;
    this.schemaReady = false;
  }

  acquire(keys: readonly string[], token: string, ttlMs: number): Promise<AcquireOutcome> {
    return this.call(
      'acquire',
      this.acquireSql,
      [this.rows(keys), token, Math.ceil(ttlMs), this.context.clientId],
      (reply) => parseAcquire(reply, keys.length),
    );
  }

  extend(keys: readonly string[], token: string, ttlMs: number): Promise<boolean> {
    return this.call(
      'extend',
      this.extendSql,
      [this.rows(keys), token, Math.ceil(ttlMs)],
      (reply) => reply === true,
    );
  }

  release(keys: readonly string[], token: string): Promise<boolean> {
    return this.call(
      'release',
      this.releaseSql,
      [this.rows(keys), token, this.context.clientId],
      (reply) => reply === true,
    );
  }

  watch(keys: readonly string[], listener: WakeListener): KeyWatch {
    const unwatch = this.listener.watch(
      keys.map((key) => payloadFor(this.row(key), md5)),
      listener,
    );
    let open = true;
    return {
      // One channel for the whole table, listened to since the connection opened.
      subscribed: () => this.listener.isConnected,
      ready: () => this.listener.whenConnected(this.context.connectWaitMs),
      close: () => {
        if (!open) return;
        open = false;
        unwatch();
      },
    };
  }

  async ping(): Promise<void> {
    // Without the LISTEN connection waiters would miss releases: not healthy until it is back.
    if (!(await this.listener.whenConnected(this.context.connectWaitMs))) {
      throw new LockBackendUnavailableError('postgres LISTEN connection is down');
    }
    await this.pool.query('SELECT 1').catch((err: unknown) => {
      throw toBackendError(err, 'ping');
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([this.listener.close(), this.pool.end().catch(() => undefined)]);
  }

  private call<T>(
    what: string,
    sql: string,
    params: unknown[],
    parse: (reply: unknown) => T,
  ): Promise<T> {
    if (this.closed) {
      return Promise.reject(new LockBackendUnavailableError('postgres lock backend is closed'));
    }
    if (!this.schemaReady)
      return this.ensureSchema().then(() => this.call(what, sql, params, parse));
    return this.pool.query<{ r: unknown }>(sql, params).then(
      (result) => parse(result.rows[0]?.r),
      (err: unknown) => {
        throw toBackendError(err, what);
      },
    );
  }

  /** Creates the table and functions once per backend (and again after a failed try). */
  private ensureSchema(): Promise<void> {
    this.schemaPending ??= this.createSchema().then(
      () => {
        this.schemaReady = true;
      },
      (err: unknown) => {
        this.schemaPending = undefined;
        throw toBackendError(err, 'setup');
      },
    );
    return this.schemaPending;
  }

  private async createSchema(): Promise<void> {
    const present = await this.pool.query<{ present: boolean }>(
      schemaPresentQuery(),
      schemaPresentParams(this.names),
    );
    if (present.rows[0]?.present) return;
    if (this.options.createTable === false) {
      throw new Error(
        `the lock table ${this.names.qualifiedTable} or its functions are missing (createTable is false)`,
      );
    }
    const client = await this.pool.connect();
    let failed: unknown;
    try {
      // DDL may wait on a concurrent start's locks longer than one lock command may take.
      await client.query('BEGIN');
      await client.query(
        `SET LOCAL statement_timeout = ${Math.max(10_000, this.context.commandTimeoutMs)}`,
      );
      await client.query('SELECT pg_advisory_xact_lock($1)', [SETUP_LOCK_KEY]);
      for (const statement of schemaStatements(this.names)) await client.query(statement);
      await client.query('COMMIT');
    } catch (err) {
      failed = err;
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release(failed instanceof Error ? failed : undefined);
    }
  }

  /** The row key of a lock key: the service's prefix, then the key. */
  private row(key: string): string {
    return this.context.keyPrefix + key;
  }

  private rows(keys: readonly string[]): string[] {
    const prefix = this.context.keyPrefix;
    return prefix === '' ? [...keys] : keys.map((key) => prefix + key);
  }
}

function parseAcquire(reply: unknown, keyCount: number): AcquireOutcome {
  if (Array.isArray(reply)) {
    if (reply.length === 2 && reply[0] === '-') {
      const pttlMs = Number(reply[1]);
      if (Number.isSafeInteger(pttlMs) && pttlMs >= 0) return { ok: false, pttlMs };
    } else if (reply.length === keyCount && reply.every(isFence)) {
      return { ok: true, fences: reply };
    }
  }
  throw new LockBackendUnavailableError('unexpected reply from the postgres lock acquire function');
}

/**
 * The `postgres` backend on the service's own PostgreSQL: no Redis needed.
 *
 * @throws TypeError (when the service is created) on a schema/table name that is not a plain
 *   lower-case identifier, or a pool size below 1.
 */
export function create(options: PostgresBackendOptions | undefined): LockBackendFactory {
  const opts = options ?? {};
  const names = lockTableNames(opts.schema ?? 'public', opts.table ?? 'couponlock_locks');
  return (context) => new PostgresBackend(opts, names, context);
}
