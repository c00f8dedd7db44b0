import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startApp, type RunningApp } from '../support/app';

/** Metric names in the README's "### Metrics" table (first column). */
function documentedMetrics(): string[] {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
  const start = readme.indexOf('### Metrics');
  const section = readme.slice(start, readme.indexOf('\n### ', start + 1));
  return [...section.matchAll(/^\| `([a-z_]+)`/gm)].map((match) => match[1]).sort();
}

/** The README's metric list stays true: exactly what /metrics serves besides the defaults. */
describe('README metrics list', () => {
  let running: RunningApp;

  beforeAll(async () => {
    running = await startApp();
  });

  afterAll(async () => {
    await running?.close();
  });

  it('names every metric /metrics serves, other than prom-client defaults, and no other', async () => {
    const response = await running.anonymous.get('/metrics');
    expect(response.status).toBe(200);
    const served = [...String(response.body).matchAll(/^# TYPE (\S+) /gm)]
      .map((match) => match[1])
      .filter((name) => !name.startsWith('process_') && !name.startsWith('nodejs_'))
      .sort();
    expect(served.length).toBeGreaterThan(5);
    expect(documentedMetrics()).toEqual(served);
  });
});
