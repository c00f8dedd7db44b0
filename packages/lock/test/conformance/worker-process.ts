import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { LockServiceOptions } from '../../src';

/** Drives one `lock-worker.ts` process: one command in, one answer line out. */
export class WorkerProcess {
  private readonly answers: string[] = [];
  private readonly waiting: ((line: string) => void)[] = [];
  private stderr = '';
  private readonly exited: Promise<number | null>;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const next = this.waiting.shift();
      if (next) next(line);
      else this.answers.push(line);
    });
    child.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static start(
    options: LockServiceOptions,
    files: { counter: string; fences: string },
  ): WorkerProcess {
    const child = spawn(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', join(__dirname, 'lock-worker.ts')],
      {
        cwd: join(__dirname, '..', '..'),
        env: {
          ...process.env,
          LOCK_OPTIONS: JSON.stringify(options),
          COUNTER_FILE: files.counter,
          FENCE_LOG: files.fences,
        },
      },
    );
    return new WorkerProcess(child);
  }

  /** Sends a command and resolves with its one-line answer. */
  send(command: string, timeoutMs = 60_000): Promise<string> {
    const answer = new Promise<string>((resolve, reject) => {
      const queued = this.answers.shift();
      if (queued !== undefined) {
        resolve(queued);
        return;
      }
      const timer = setTimeout(
        () => reject(new Error(`worker gave no answer to "${command}": ${this.stderr}`)),
        timeoutMs,
      );
      timer.unref();
      this.waiting.push((line) => {
        clearTimeout(timer);
        resolve(line);
      });
      void this.exited.then((code) =>
        reject(new Error(`worker exited (${code}) before answering "${command}": ${this.stderr}`)),
      );
    });
    this.child.stdin.write(`${command}\n`);
    return answer;
  }

  /** SIGKILLs the worker (a holder that crashes); resolves when it is gone. */
  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** Asks the worker to close its service and exit; resolves with the exit code. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null) this.child.stdin.end('exit\n');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}
