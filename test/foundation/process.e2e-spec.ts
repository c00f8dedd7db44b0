import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { AppProcess } from '../support/app-process';
import { testEnvironment } from '../support/test-env';

const MAIN = join(__dirname, '..', '..', 'dist', 'main.js');

function runMain(
  overrides: Record<string, string>,
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN], {
      env: { PATH: process.env.PATH ?? '', ...testEnvironment({ PORT: '0', ...overrides }) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

describe('the compiled service (dist/main.js)', () => {
  it('refuses to start with an invalid DATABASE_URL, naming it on one line', async () => {
    const { code, stderr } = await runMain({ DATABASE_URL: 'not-a-url' });
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain('DATABASE_URL');
  });

  it('refuses to start without API keys, naming the variable', async () => {
    const { code, stderr } = await runMain({ STOREFRONT_API_KEYS: '' });
    expect(code).toBe(1);
    expect(stderr).toContain('STOREFRONT_API_KEYS');
  });

  it('drains and exits 0 on SIGTERM', async () => {
    const app = await AppProcess.start();
    const health = await app.api.get('/health');
    expect(health.status).toBe(200);
    app.signal('SIGTERM');
    expect(await app.exited()).toBe(0);
    await app.stop();
  });
});
