/** ioredis plumbing shared by the single/cluster and Redlock modes. */
import type { Cluster, Redis } from 'ioredis';
import type { AcquireOutcome, HandOffOutcome } from '../../core/backend';
import { LockBackendUnavailableError } from '../../core/errors';
import { isFence } from '../../core/fence';
import type { LuaScript } from './scripts';

export type RedisClientLike = Redis | Cluster;

export type ScriptArg = string | number;

/** EVALSHA, falling back to EVAL (which also caches the script) when the node does not know it. */
export function runScript(
  client: RedisClientLike,
  script: LuaScript,
  keys: readonly string[],
  args: readonly ScriptArg[],
): Promise<unknown> {
  batchWrites(client);
  return client.evalsha(script.sha, keys.length, ...keys, ...args).catch((err: unknown) => {
    if (err instanceof Error && err.message.startsWith('NOSCRIPT')) {
      return client.eval(script.lua, keys.length, ...keys, ...args);
    }
    throw err;
  });
}

/** Sockets corked until the end of the current tick (see `batchWrites`). */
const corked = new WeakSet<object>();

function uncork(stream: Redis['stream']): void {
  corked.delete(stream);
  stream.uncork();
}

/**
 * Lock commands issued in the same tick (many requests' acquires and releases after one batch
 * of replies) leave in one socket write: the socket is corked until process.nextTick, which
 * runs once the current callback and its promise jobs are done. ioredis' auto-pipelining does
 * the same with setImmediate, which delays every command, even a lone one, by a turn of the
 * event loop: a third of an uncontended acquire + release on loopback. Cluster clients (one
 * socket per node, chosen inside ioredis) and clients with auto-pipelining on are left alone.
 */
function batchWrites(client: RedisClientLike): void {
  if (!('stream' in client)) return;
  if (client.options.enableAutoPipelining) return;
  const stream = client.stream;
  if (!stream || corked.has(stream) || client.status !== 'ready') return;
  corked.add(stream);
  stream.cork();
  process.nextTick(uncork, stream);
}

export function parseAcquireReply(reply: unknown, keyCount: number): AcquireOutcome {
  if (keyCount === 1 && !Array.isArray(reply)) {
    // Integers below 2^53 arrive as numbers (exact), larger fences as strings; a negative
    // number is -2 - PTTL of the holder. (Strings too, for clients with stringNumbers.)
    const value = typeof reply === 'string' && reply.startsWith('-') ? Number(reply) : reply;
    if (typeof value === 'number' && Number.isSafeInteger(value)) {
      if (value < 0) return { ok: false, pttlMs: -2 - value };
      const fence = String(value);
      if (isFence(fence)) return { ok: true, fences: [fence] };
    } else if (isFence(value)) {
      return { ok: true, fences: [value] };
    }
  } else if (Array.isArray(reply) && reply.length > 0) {
    const status = Number(reply[0]);
    if (status === 1 && reply.length === keyCount + 1) {
      return { ok: true, fences: fencesOf(reply, keyCount) };
    } else if (status === 0 && reply.length === 3) {
      return { ok: false, pttlMs: Number(reply[2]) };
    }
  }
  throw new LockBackendUnavailableError('unexpected reply from the lock acquire script');
}

/** Reply of the HAND_OFF script (see there). */
export function parseHandOffReply(reply: unknown, keyCount: number): HandOffOutcome {
  if (reply === 0) return { kind: 'lost' };
  if (reply === -1) return { kind: 'released', remote: true };
  if (Array.isArray(reply) && reply.length === keyCount + 1) {
    return { kind: 'handed', fences: fencesOf(reply, keyCount), remote: Number(reply[0]) === 1 };
  }
  throw new LockBackendUnavailableError('unexpected reply from the lock hand-off script');
}

/**
 * The fences of a `{status, fence1, ..., fenceN}` reply (nextFence in scripts.ts): integers
 * while exact, decimal strings beyond 2^53.
 */
function fencesOf(reply: readonly unknown[], keyCount: number): string[] {
  const fences = new Array<string>(keyCount);
  for (let i = 0; i < keyCount; i++) {
    const f = reply[i + 1];
    const fence = typeof f === 'number' && Number.isSafeInteger(f) ? String(f) : f;
    if (!isFence(fence)) throw new LockBackendUnavailableError('malformed fence from Redis');
    fences[i] = fence;
  }
  return fences;
}

export function toBackendError(err: unknown, what: string): LockBackendUnavailableError {
  if (err instanceof LockBackendUnavailableError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new LockBackendUnavailableError(`lock backend unavailable (${what}): ${detail}`, {
    cause: err,
  });
}

/**
 * Resolves when the client is ready, rejects after `timeoutMs` otherwise. Lock connections run
 * without an offline queue (fail closed), so a command sent while (re)connecting would fail at
 * once; a short grace period lets boot-time and just-reconnected callers through.
 */
export function whenReady(client: RedisClientLike, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  if (client.status === 'end' || timeoutMs <= 0) {
    return Promise.reject(new LockBackendUnavailableError(`redis connection is ${client.status}`));
  }
  return new Promise<void>((resolve, reject) => {
    const onReady = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      reject(
        new LockBackendUnavailableError(
          `redis connection not ready after ${timeoutMs} ms (status ${client.status})`,
        ),
      );
    }, timeoutMs);
    timer.unref();
    client.once('ready', onReady);
  });
}

/** QUIT politely, but never let a dead server hold shutdown hostage. */
export async function closeClient(client: RedisClientLike, timeoutMs = 1000): Promise<void> {
  if (client.status === 'end') return;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.quit().then(() => undefined),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
        timer.unref();
      }),
    ]);
  } catch {
    // Already closing or never connected: disconnect below is all that is left to do.
  } finally {
    if (timer) clearTimeout(timer);
    client.disconnect();
  }
}
