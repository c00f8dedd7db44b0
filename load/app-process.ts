/**
 * The one way to run the app in a process of its own, for everything that needs real instances:
 * the multi-process tests (test/support/app-process.ts adds the test environment and API
 * clients), the load proofs' clusters, and the benchmarks (bench/http/harness.ts adds the
 * private build and the bench environment). It lives in load/ because tests and bench both
 * import the load harness already; it imports nothing from either.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { waitFor } from '../packages/lock/test/support/redis-server';

/** How long an instance may take from spawn to a healthy /health. */
const START_TIMEOUT_MS = 30_000;
/** Output kept for failure messages: the last lines are the ones that explain a crash. */
const OUTPUT_TAIL_CHARS = 8000;

/** Asks the kernel for a free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

export interface AppStart {
  /** The compiled entry point (dist/main.js or a copy of it). */
  main: string;
  /** The port to listen on; a free one when omitted. */
  port?: number;
  /** The child's whole environment for that port (PORT is set on top of it). */
  env: (port: number) => NodeJS.ProcessEnv;
  /** Working directory; the parent's when omitted. */
  cwd?: string;
}

/**
 * A started app process: it answered 200 on /health. Its output is captured (the tail is kept)
 * rather than inherited, so a passing run stays quiet and a failing one can quote it.
 */
export class RunningApp {
  private output = '';
  private readonly exit: Promise<number | null>;

  private constructor(
    readonly url: string,
    private readonly child: ChildProcess,
  ) {
    // Registered at spawn, so an exit that happens before anyone waits is not missed.
    this.exit = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    const capture = (chunk: Buffer): void => {
      this.output = (this.output + chunk.toString()).slice(-OUTPUT_TAIL_CHARS);
    };
    child.stdout?.on('data', capture);
    child.stderr?.on('data', capture);
  }

  /** Spawns the app and waits until it is healthy; stops it and throws if it never is. */
  static async start(options: AppStart): Promise<RunningApp> {
    const port = options.port ?? (await freePort());
    const child = spawn(process.execPath, [options.main], {
      cwd: options.cwd,
      env: { ...options.env(port), PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const app = new RunningApp(`http://127.0.0.1:${port}`, child);
    try {
      await waitFor(
        `app on port ${port}`,
        async () => {
          if (!app.running) throw new Error(`app exited: ${app.output}`);
          const response = await fetch(`${app.url}/health`);
          await response.body?.cancel();
          return response.status === 200;
        },
        START_TIMEOUT_MS,
      );
    } catch (error) {
      await app.stop();
      throw new Error(`app did not start (${String(error)}):\n${app.output}`, { cause: error });
    }
    return app;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Last lines the process wrote, for failure messages. */
  get logTail(): string {
    return this.output;
  }

  private get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** The exit code; null when a signal ended the process (SIGKILL). */
  exited(): Promise<number | null> {
    return this.exit;
  }

  /** SIGTERM (the app drains and shuts down), then waits for the exit. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    await this.exit;
  }
}
