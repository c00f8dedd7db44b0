import { join } from 'node:path';
import { RunningApp } from '../../load/app-process';
import { ApiClient } from './http';
import { ADMIN_KEY, STOREFRONT_KEY, testEnvironment } from './test-env';

/**
 * The build to run; TEST_APP_MAIN points the multi-process suites at another build (for
 * instance one of an older commit, to watch a fault test fail there).
 */
const MAIN = process.env.TEST_APP_MAIN ?? join(__dirname, '..', '..', 'dist', 'main.js');

/**
 * A real app instance in its own OS process, started from the compiled build (`npm run build`
 * runs before the e2e suite) by the shared starter, with the test environment and a storefront
 * and an admin client. Multi-instance tests start two of these.
 */
export class AppProcess {
  readonly api: ApiClient;
  readonly admin: ApiClient;

  private constructor(private readonly app: RunningApp) {
    this.api = new ApiClient(app.url, STOREFRONT_KEY, 64);
    this.admin = new ApiClient(app.url, ADMIN_KEY, 8);
  }

  static async start(overrides: Record<string, string> = {}): Promise<AppProcess> {
    const app = await RunningApp.start({
      main: MAIN,
      // A caller that must know the port before the start (to list it in another setting) picks it.
      port: overrides.PORT !== undefined ? Number(overrides.PORT) : undefined,
      env: (port) => ({
        ...process.env,
        ...testEnvironment({ PORT: String(port), ...overrides }),
      }),
    });
    return new AppProcess(app);
  }

  get url(): string {
    return this.app.url;
  }

  /** Last lines the process wrote, for failure messages. */
  get logTail(): string {
    return this.app.logTail;
  }

  signal(signal: NodeJS.Signals): void {
    this.app.signal(signal);
  }

  /** The exit code; null when a signal ended the process (SIGKILL). */
  exited(): Promise<number | null> {
    return this.app.exited();
  }

  async stop(): Promise<void> {
    await Promise.all([this.api.close(), this.admin.close()]);
    await this.app.stop();
  }
}
