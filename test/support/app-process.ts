import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { ApiClient } from './http';
import { freePort, waitFor } from './ports';
import { ADMIN_KEY, STOREFRONT_KEY, testEnvironment } from './test-env';

/**
 * The build to run; TEST_APP_MAIN points the multi-process suites at another build (for
 * instance one of an older commit, to watch a fault test fail there).
 */
const MAIN = process.env.TEST_APP_MAIN ?? join(__dirname, '..', '..', 'dist', 'main.js');

/**
 * A real app instance in its own OS process, started from the compiled build (`npm run build`
 * runs before the e2e suite). Multi-instance tests start two of these.
 */
export class AppProcess {
  readonly api: ApiClient;
  readonly admin: ApiClient;
  private output = '';
  private readonly exit: Promise<number | null>;

  private constructor(
    readonly url: string,
    private readonly child: ChildProcess,
  ) {
    this.exit = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    this.api = new ApiClient(url, STOREFRONT_KEY, 64);
    this.admin = new ApiClient(url, ADMIN_KEY, 8);
    child.stdout?.on('data', (chunk: Buffer) => this.capture(chunk));
    child.stderr?.on('data', (chunk: Buffer) => this.capture(chunk));
  }

  static async start(overrides: Record<string, string> = {}): Promise<AppProcess> {
    // A caller that must know the port before the start (to list it in another setting) picks it.
    const port = overrides.PORT !== undefined ? Number(overrides.PORT) : await freePort();
    const child = spawn(process.execPath, [MAIN], {
      env: { ...process.env, ...testEnvironment({ PORT: String(port), ...overrides }) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const instance = new AppProcess(`http://127.0.0.1:${port}`, child);
    try {
      await waitFor(
        `app on port ${port}`,
        async () => {
          if (child.exitCode !== null || child.signalCode !== null) {
            throw new Error(`app exited: ${instance.output}`);
          }
          const response = await fetch(`${instance.url}/health`);
          return response.status === 200;
        },
        30_000,
      );
    } catch (error) {
      await instance.stop();
      throw new Error(`${String(error)}\n${instance.output}`, { cause: error });
    }
    return instance;
  }

  /** Last lines the process wrote, for failure messages. */
  get logTail(): string {
    return this.output;
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** The exit code; null when a signal ended the process (SIGKILL). */
  exited(): Promise<number | null> {
    return this.exit;
  }

  async stop(): Promise<void> {
    await Promise.all([this.api.close(), this.admin.close()]);
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      await this.exit;
    }
  }

  private capture(chunk: Buffer): void {
    this.output = (this.output + chunk.toString()).slice(-8000);
  }
}
