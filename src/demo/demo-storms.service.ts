import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { DemoStormRunningError, DemoUnavailableError } from './demo.errors';
import type { StartStormDto } from './dto/demo.dto';

/** The repository root: this file runs from src/demo (ts-node) or dist/demo (build). */
const REPO_ROOT = resolve(__dirname, '..', '..');
const RUNNER = join(REPO_ROOT, 'load', 'live.ts');
const STDERR_TAIL = 4000;

/** One event of the storm runner (load/live.ts `LiveEvent`), as the line it printed. */
export interface StormLine {
  type: string;
  json: string;
}

export interface StormRun {
  /** Every event line, in order; ends after `done` or `error`. */
  lines: AsyncIterable<StormLine>;
  /** Stops the storm (the client went away). */
  stop: () => void;
}

/**
 * Runs the /demo page's storms with the project's load harness (load/live.ts) in a child
 * process: the harness lives outside src/ (it is not part of the build), and a storm's client
 * work then stays off this instance's event loop, which is also one of the servers under test.
 * One storm at a time per instance.
 */
@Injectable()
export class DemoStormsService implements OnApplicationShutdown {
  private readonly log = new Logger('Demo');
  private running: ChildProcess | null = null;
  private catalog: Promise<string> | null = null;

  constructor(private readonly config: AppConfig) {}

  /** The instances a storm targets: DEMO_BASE_URLS, else this instance. */
  baseUrls(): string[] {
    const configured = this.config.get('DEMO_BASE_URLS');
    return configured.length > 0 ? configured : [`http://127.0.0.1:${this.config.get('PORT')}`];
  }

  /** The scenarios of load/live.ts with their strategies, as JSON text (computed once). */
  scenarios(): Promise<string> {
    this.catalog ??= this.collect(['--list']).catch((error: unknown) => {
      this.catalog = null;
      throw error;
    });
    return this.catalog;
  }

  /**
   * Starts a storm. `adminKey` (the caller's, already verified) is what the runner sends: it
   * may call every route the storm needs. Throws DemoStormRunningError while one runs.
   */
  start(request: StartStormDto, adminKey: string): StormRun {
    if (this.running) throw new DemoStormRunningError();
    const child = this.spawnRunner(
      [
        `--scenario=${request.scenario}`,
        `--strategy=${request.strategy}`,
        `--concurrency=${request.concurrency}`,
        `--base-urls=${this.baseUrls().join(',')}`,
      ],
      adminKey,
    );
    this.running = child;
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-STDERR_TAIL);
    });
    const exited = new Promise<number | null>((done) =>
      child.once('exit', (code) => {
        if (this.running === child) this.running = null;
        done(code);
      }),
    );
    this.log.log(`storm ${request.scenario}/${request.strategy} x${request.concurrency} started`);
    async function* lines(): AsyncGenerator<StormLine> {
      let finished = false;
      for await (const line of createInterface({ input: child.stdout! })) {
        const type = eventType(line);
        if (type === null) continue;
        yield { type, json: line };
        if (type === 'done' || type === 'error') finished = true;
      }
      const code = await exited;
      if (!finished) {
        const message = `the storm runner exited (${code}) without a verdict: ${stderr.trim()}`;
        yield { type: 'error', json: JSON.stringify({ type: 'error', message }) };
      }
    }
    return {
      lines: lines(),
      stop: () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      },
    };
  }

  onApplicationShutdown(): void {
    this.running?.kill('SIGTERM');
  }

  private spawnRunner(args: string[], adminKey?: string): ChildProcess {
    if (!existsSync(RUNNER)) throw new DemoUnavailableError(`${RUNNER} is missing`);
    return spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', RUNNER, ...args], {
      cwd: REPO_ROOT,
      // The key goes by environment, never on a command line other users can list.
      env: { ...process.env, ADMIN_API_KEY: adminKey ?? '', API_KEY: adminKey ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }

  private async collect(args: string[]): Promise<string> {
    const child = this.spawnRunner(args);
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const code = await new Promise<number | null>((done) => child.once('exit', done));
    if (code !== 0) throw new DemoUnavailableError(`load/live.ts ${args.join(' ')} exited ${code}`);
    return out.trim();
  }
}

/** The `type` of an event line, or null for anything that is not one. */
function eventType(line: string): string | null {
  try {
    const parsed: unknown = JSON.parse(line);
    if (parsed !== null && typeof parsed === 'object' && 'type' in parsed) {
      const type = parsed.type;
      return typeof type === 'string' ? type : null;
    }
  } catch {
    // Not an event (a stray log line): skipped.
  }
  return null;
}
