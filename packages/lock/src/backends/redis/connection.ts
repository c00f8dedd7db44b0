/** ioredis plumbing shared by the single/cluster and Redlock modes. */
import { Command, type Cluster, type Redis } from 'ioredis';
import type { AcquireOutcome, HandOffOutcome } from '../../core/backend';
import { LockBackendUnavailableError } from '../../core/errors';
import { isFence } from '../../core/fence';
import type { LuaScript } from './scripts';

export type RedisClientLike = Redis | Cluster;

export type ScriptArg = string | number;

/** Replies as strings, as ioredis' own command methods ask for them. */
const UTF8 = { replyEncoding: 'utf8' } as const;

/**
 * EVALSHA, falling back to EVAL (which also caches the script) when the node does not know it.
 * With `deadlines`, the command is bounded by them instead of by a timer of its own.
 */
export function runScript(
  client: RedisClientLike,
  script: LuaScript,
  keys: readonly string[],
  args: readonly ScriptArg[],
  deadlines?: CommandDeadlines,
): Promise<unknown> {
  batchWrites(client);
  const command = new Command('evalsha', [script.sha, keys.length, ...keys, ...args], UTF8);
  deadlines?.track(command);
  client.sendCommand(command);
  return command.promise.catch((err: unknown) => {
    if (err instanceof Error && err.message.startsWith('NOSCRIPT')) {
      const retry = new Command('eval', [script.lua, keys.length, ...keys, ...args], UTF8);
      deadlines?.track(retry);
      client.sendCommand(retry);
      return retry.promise;
    }
    throw err;
  });
}

/**
 * Command timeouts without a timer per command. ioredis' `commandTimeout` arms and clears a
 * timer for every command; on an otherwise idle process that creates and drops a timer list
 * twice per acquire + release (a sixth of the uncontended cycle on loopback). Here commands are
 * kept in the order they were sent, each with its deadline, and one interval (every quarter of
 * the timeout, unref'd) rejects those past it with ioredis' own "Command timed out" error. A
 * command is therefore failed between 1 and 1.25 timeouts after it was sent.
 */
export class CommandDeadlines {
  private readonly commands: Command[] = [];
  private readonly due: number[] = [];
  private head = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(readonly timeoutMs: number) {
    this.timer = setInterval(() => this.sweep(), Math.max(5, Math.floor(timeoutMs / 4)));
    this.timer.unref();
  }

  track(command: Command): void {
    // Settled commands at the front are dropped as new ones come: the queue stays short.
    while (this.head < this.commands.length && settled(this.commands[this.head])) this.head++;
    if (this.head > 64 && this.head * 2 > this.commands.length) this.compact();
    this.commands.push(command);
    this.due.push(performance.now() + this.timeoutMs);
  }

  /** Rejects every command past its deadline that is still waiting for its reply. */
  sweep(): void {
    const now = performance.now();
    while (this.head < this.commands.length) {
      const command = this.commands[this.head];
      if (!settled(command)) {
        if (this.due[this.head] > now) break;
        command.reject(new Error('Command timed out'));
      }
      this.head++;
    }
    this.compact();
  }

  close(): void {
    clearInterval(this.timer);
  }

  private compact(): void {
    this.commands.splice(0, this.head);
    this.due.splice(0, this.head);
    this.head = 0;
  }
}

function settled(command: Command): boolean {
  return command.isResolved || command.isSettled;
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

/**
 * Reply of the ACQUIRE script (see there). With a `block` of fences, the script answers with the
 * last fence of each key's block and the outcome carries the first.
 */
export function parseAcquireReply(reply: unknown, keyCount: number, block = 1): AcquireOutcome {
  if (keyCount === 1 && !Array.isArray(reply)) {
    // Integers below 2^53 arrive as numbers (exact), larger fences as strings; a negative
    // number is -2 - PTTL of the holder. (Strings too, for clients with stringNumbers.)
    const value = typeof reply === 'string' && reply.startsWith('-') ? Number(reply) : reply;
    if (typeof value === 'number' && Number.isSafeInteger(value)) {
      if (value < 0) return { ok: false, pttlMs: -2 - value };
      if (value >= block) return granted([String(value - block + 1)], block);
    } else if (isFence(value)) {
      return granted([firstOfBlock(value, block)], block);
    }
  } else if (Array.isArray(reply) && reply.length > 0) {
    const status = Number(reply[0]);
    if (status === 1 && reply.length === keyCount + 1) {
      const fences = fencesOf(reply, keyCount);
      if (block > 1) for (let i = 0; i < keyCount; i++) fences[i] = firstOfBlock(fences[i], block);
      return granted(fences, block);
    } else if (status === 0 && reply.length === 3) {
      return { ok: false, pttlMs: Number(reply[2]) };
    }
  }
  throw new LockBackendUnavailableError('unexpected reply from the lock acquire script');
}

function granted(fences: readonly string[], block: number): AcquireOutcome {
  return block > 1 ? { ok: true, fences, fenceBlock: block } : { ok: true, fences };
}

/** The first fence of a block that ends at `last` (a fence). */
function firstOfBlock(last: string, block: number): string {
  if (block === 1) return last;
  const first = BigInt(last) - BigInt(block - 1);
  if (first < 1n) throw new LockBackendUnavailableError('fence block below 1 from Redis');
  return first.toString();
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
