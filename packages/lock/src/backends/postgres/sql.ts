/**
 * The lease table and the three functions that decide a lock, one statement each. Kept free of
 * I/O so the names and the SQL can be checked without a server.
 *
 * Every function locks the rows it touches in one order, the `"C"` (byte) order of the key
 * column, so acquire/extend/release calls for overlapping key sets never wait on each other in a
 * cycle: `[a, b]` against `[b, a]` cannot deadlock in the database.
 */

/** Bump when a function body changes: objects carry it in their names, so old and new coexist. */
export const SCHEMA_VERSION = 1;

/** An identifier the backend creates from: lower case, digits, `_`; PostgreSQL's 63-byte limit. */
const NAME = /^[a-z_][a-z0-9_]*$/;

/** Longest key (UTF-8 bytes) sent as a NOTIFY payload as is; longer ones are sent as md5. */
export const MAX_PLAIN_PAYLOAD_BYTES = 1000;

export interface LockTableNames {
  readonly schema: string;
  readonly table: string;
  /** `"schema"."table"`. */
  readonly qualifiedTable: string;
  readonly acquireFn: string;
  readonly extendFn: string;
  readonly releaseFn: string;
  /** The NOTIFY channel releases wake waiters on (one per table: payload = key). */
  readonly channel: string;
}

function quote(name: string): string {
  return `"${name}"`;
}

/**
 * Names of the objects for `schema`.`table`.
 *
 * @throws TypeError a name that is not a plain lower-case identifier, or too long for its
 *   derived function and channel names.
 */
export function lockTableNames(schema: string, table: string): LockTableNames {
  for (const [what, name] of [
    ['schema', schema],
    ['table', table],
  ] as const) {
    if (!NAME.test(name)) {
      throw new TypeError(`postgres lock ${what} "${name}" must match ${String(NAME)}`);
    }
  }
  // The longest derived name is `<table>_release_v<version>`.
  if (table.length > 48) throw new TypeError(`postgres lock table "${table}" is too long (> 48)`);
  const fn = (what: string): string =>
    `${quote(schema)}.${quote(`${table}_${what}_v${SCHEMA_VERSION}`)}`;
  return {
    schema,
    table,
    qualifiedTable: `${quote(schema)}.${quote(table)}`,
    acquireFn: fn('acquire'),
    extendFn: fn('extend'),
    releaseFn: fn('release'),
    channel: `${table}_released`,
  };
}

/** The string a release NOTIFYs for `key` (and a waiter listens for). */
export function payloadFor(key: string, md5: (s: string) => string): string {
  return Buffer.byteLength(key, 'utf8') <= MAX_PLAIN_PAYLOAD_BYTES ? key : `md5:${md5(key)}`;
}

/**
 * DDL, idempotent. Run inside one transaction under an advisory lock (concurrent
 * `CREATE TABLE IF NOT EXISTS` can still collide on the catalog otherwise).
 *
 * One row per key ever locked, kept after release: its `fence` is the key's counter, so fences
 * stay strictly increasing for the life of the table. A free key has `token` NULL.
 * `expires_at` is set from the database clock, so a lease ends by itself when its holder dies,
 * and all processes judge it by one clock. `waiter` holds the client id of the last attempt that
 * found the key taken: a release notifies only when someone waits, and tells the releasing
 * process whether that someone is another process.
 */
export function schemaStatements(n: LockTableNames): string[] {
  const t = n.qualifiedTable;
  const payload = `CASE WHEN octet_length(r.key) <= ${MAX_PLAIN_PAYLOAD_BYTES} THEN r.key ELSE 'md5:' || md5(r.key) END`;
  return [
    `CREATE SCHEMA IF NOT EXISTS ${quote(n.schema)}`,
    // fillfactor leaves room on each page so updates stay HOT (no index write, quick pruning):
    // the rows of hot keys are rewritten on every acquire and release.
    `CREATE TABLE IF NOT EXISTS ${t} (
      key text COLLATE "C" PRIMARY KEY,
      token text,
      expires_at timestamptz,
      fence bigint NOT NULL DEFAULT 0 CHECK (fence >= 0),
      waiter text
    ) WITH (fillfactor = 50)`,
    // Returns the fences in the order of p_keys, or {'-', remaining ms of the longest blocking
    // lease}. ON CONFLICT DO UPDATE ... WHERE false inserts missing rows and locks existing ones
    // in one pass in key order, without writing them (the docs: rows are locked even when the
    // WHERE is false).
    `CREATE OR REPLACE FUNCTION ${n.acquireFn}(p_keys text[], p_token text, p_ttl_ms integer, p_client text)
    RETURNS text[] LANGUAGE plpgsql AS $fn$
    DECLARE
      v_now timestamptz;
      v_blocked_ms bigint;
      v_fences text[];
    BEGIN
      INSERT INTO ${t} AS l (key)
        SELECT k FROM unnest(p_keys) AS k ORDER BY k COLLATE "C"
        ON CONFLICT (key) DO UPDATE SET fence = l.fence WHERE false;
      v_now := clock_timestamp();
      SELECT max(ceil(extract(epoch FROM (l.expires_at - v_now)) * 1000))::bigint INTO v_blocked_ms
        FROM ${t} AS l
        WHERE l.key = ANY (p_keys) AND l.token IS NOT NULL AND l.expires_at > v_now;
      IF v_blocked_ms IS NOT NULL THEN
        -- Losing this flag in a crash costs a wake-up at most: no need to wait for the disk.
        PERFORM set_config('synchronous_commit', 'off', true);
        UPDATE ${t} AS l SET waiter = p_client
          WHERE l.key = ANY (p_keys) AND l.token IS NOT NULL AND l.expires_at > v_now
            AND l.waiter IS DISTINCT FROM p_client;
        RETURN ARRAY['-', greatest(v_blocked_ms, 1)::text];
      END IF;
      -- The holder acts on this fence once we answer: it must survive a crash (and a failover
      -- to a synchronous standby) first, whatever the server's default.
      PERFORM set_config('synchronous_commit', 'on', true);
      WITH taken AS (
        UPDATE ${t} AS l
          SET token = p_token, expires_at = v_now + p_ttl_ms * interval '1 millisecond',
              fence = l.fence + 1
          WHERE l.key = ANY (p_keys)
          RETURNING l.key, l.fence
      )
      SELECT array_agg(taken.fence::text ORDER BY u.i) INTO v_fences
        FROM unnest(p_keys) WITH ORDINALITY AS u(k, i) JOIN taken ON taken.key = u.k;
      RETURN v_fences;
    END
    $fn$`,
    // true when p_token owned every key with a live lease; each then runs p_ttl_ms from now.
    `CREATE OR REPLACE FUNCTION ${n.extendFn}(p_keys text[], p_token text, p_ttl_ms integer)
    RETURNS boolean LANGUAGE plpgsql AS $fn$
    DECLARE
      v_now timestamptz;
      v_owned integer;
    BEGIN
      PERFORM 1 FROM ${t} AS l WHERE l.key = ANY (p_keys) AND l.token = p_token
        ORDER BY l.key FOR UPDATE;
      v_now := clock_timestamp();
      SELECT count(*) INTO v_owned FROM ${t} AS l
        WHERE l.key = ANY (p_keys) AND l.token = p_token AND l.expires_at > v_now;
      IF v_owned <> cardinality(p_keys) THEN
        RETURN false;
      END IF;
      UPDATE ${t} AS l SET expires_at = v_now + p_ttl_ms * interval '1 millisecond'
        WHERE l.key = ANY (p_keys) AND l.token = p_token;
      RETURN true;
    END
    $fn$`,
    // Frees what p_token still owns, NOTIFYs the keys somebody waits for (delivered at commit)
    // and says whether one of those waiters is another client. The commit need not reach disk
    // before the answer: a release lost in a crash only leaves a lease that runs out by itself.
    `CREATE OR REPLACE FUNCTION ${n.releaseFn}(p_keys text[], p_token text, p_client text)
    RETURNS boolean LANGUAGE plpgsql AS $fn$
    DECLARE
      r record;
      v_remote boolean := false;
    BEGIN
      PERFORM set_config('synchronous_commit', 'off', true);
      FOR r IN
        SELECT l.key, l.waiter FROM ${t} AS l
          WHERE l.key = ANY (p_keys) AND l.token = p_token ORDER BY l.key FOR UPDATE
      LOOP
        IF r.waiter IS NOT NULL THEN
          PERFORM pg_notify('${n.channel}', ${payload});
          v_remote := v_remote OR r.waiter <> p_client;
        END IF;
      END LOOP;
      UPDATE ${t} AS l SET token = NULL, expires_at = NULL, waiter = NULL
        WHERE l.key = ANY (p_keys) AND l.token = p_token;
      RETURN v_remote;
    END
    $fn$`,
  ];
}

/** True when this version's functions exist (then no DDL runs at start-up). */
export function schemaPresentQuery(): string {
  return (
    `SELECT to_regprocedure($1) IS NOT NULL AND to_regprocedure($2) IS NOT NULL ` +
    `AND to_regprocedure($3) IS NOT NULL AND to_regclass($4) IS NOT NULL AS present`
  );
}

export function schemaPresentParams(n: LockTableNames): string[] {
  return [
    `${n.acquireFn}(text[],text,integer,text)`,
    `${n.extendFn}(text[],text,integer)`,
    `${n.releaseFn}(text[],text,text)`,
    n.qualifiedTable,
  ];
}
