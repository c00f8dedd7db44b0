import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startApp, type RunningApp } from '../support/app';

const ROOT = join(__dirname, '..', '..');
const REDOCLY = join(ROOT, 'node_modules', '@redocly', 'cli', 'bin', 'cli.js');

interface LintReport {
  totals: { errors: number; warnings: number };
  problems: { ruleId: string; severity: string; message: string }[];
}

type Operations = Record<string, Record<string, { security?: unknown[] }>>;

/**
 * The document the service serves passes Redocly's recommended rules (redocly.yaml) with zero
 * errors and zero warnings.
 */
describe('OpenAPI document', () => {
  let running: RunningApp;
  let document: { paths: Operations; servers?: unknown[] };

  beforeAll(async () => {
    running = await startApp();
    const response = await running.anonymous.get('/docs-json');
    expect(response.status).toBe(200);
    document = response.body;
  });

  afterAll(async () => {
    await running?.close();
  });

  it('lints clean with Redocly CLI (recommended rules, zero errors and warnings)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'couponlock-openapi-'));
    try {
      const file = join(dir, 'openapi.json');
      await writeFile(file, JSON.stringify(document));
      const result = await promisify(execFile)(
        process.execPath,
        [REDOCLY, 'lint', file, '--format=json', `--config=${join(ROOT, 'redocly.yaml')}`],
        {
          cwd: ROOT,
          env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
          maxBuffer: 16 * 1024 * 1024,
        },
      ).catch((error: { stdout?: string; code?: number }) => ({ stdout: error.stdout ?? '' }));
      const report = JSON.parse(result.stdout.slice(result.stdout.indexOf('{'))) as LintReport;
      expect(report.problems).toEqual([]);
      expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('marks exactly the public operations as public, and they answer without a key', async () => {
    const open: string[] = [];
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        expect({ path, method, security: Array.isArray(operation.security) }).toEqual({
          path,
          method,
          security: true,
        });
        if (operation.security!.length === 0) open.push(`${method.toUpperCase()} ${path}`);
      }
    }
    expect(open.sort()).toEqual([
      'GET /health',
      'GET /health/live',
      'GET /health/ready',
      'GET /metrics',
    ]);
    for (const entry of open) {
      const response = await running.anonymous.get(entry.split(' ')[1]);
      expect({ entry, status: response.status }).toEqual({ entry, status: 200 });
    }
    expect(document.servers).toEqual([
      { url: '/', description: 'The server this document was fetched from' },
    ]);
  });
});
