import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const ESLINT = join(ROOT, 'node_modules', '.bin', 'eslint');

interface LintResult {
  status: number | null;
  messages: Array<{ ruleId: string | null; message: string; line: number }>;
}

/** Lints `source` as if it were a file in k6/, with the same config `npm run lint:k6` uses. */
function lint(source: string, file = 'k6/fixture.js'): LintResult {
  const run = spawnSync(
    ESLINT,
    ['--config', 'eslint.k6.config.mjs', '--format', 'json', '--stdin', '--stdin-filename', file],
    { cwd: ROOT, input: source, encoding: 'utf8' },
  );
  const [report] = JSON.parse(run.stdout) as Array<{ messages: LintResult['messages'] }>;
  return { status: run.status, messages: report?.messages ?? [] };
}

const rules = (result: LintResult): Array<string | null> => result.messages.map((m) => m.ruleId);

/**
 * The lint step over k6/ is what stands in for a real k6 here (k6 cannot be installed on this
 * machine): it must catch the two faults that only show up in a real k6.
 */
describe('npm run lint:k6', () => {
  it('passes on every script in k6/', () => {
    const run = spawnSync('npm', ['run', '--silent', 'lint:k6'], { cwd: ROOT, encoding: 'utf8' });
    expect(run.stdout + run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it.each([
    ["import { textSummary } from 'https://jslib.k6.io/k6-summary/0.1.0/index.js';"],
    ["import x from 'http://example.com/lib.js';"],
    ["import x from '//cdn.example.com/lib.js';"],
    ["export { y } from 'https://example.com/lib.js';"],
    ["const m = import('https://example.com/lib.js');"],
    ["const m = require('https://example.com/lib.js');"],
    ["import lodash from 'lodash';"],
  ])('refuses an import k6 would have to fetch or cannot resolve: %s', (line) => {
    const result = lint(`${line}\nexport default function () {}\n`);
    expect(result.status).toBe(1);
    expect(rules(result)).toContain('k6/only-local-imports');
  });

  it('accepts k6 modules and relative files', () => {
    const result = lint(
      [
        "import http from 'k6/http';",
        "import exec from 'k6/execution';",
        "import { check } from 'k6';",
        "import { get } from './lib/api.js';",
        'export default function () { check(http.get(get), {}); return exec; }',
        '',
      ].join('\n'),
    );
    expect(result.messages).toEqual([]);
    expect(result.status).toBe(0);
  });

  it('refuses every run-time read of options, and allows constants and exec.test.options', () => {
    const result = lint(
      [
        "import exec from 'k6/execution';",
        'const VUS = 5;',
        'export const options = { scenarios: { a: { executor: "shared-iterations", vus: VUS } } };',
        'export function setup() { console.log(options.scenarios.a.vus, VUS); }',
        'export default function () { const { thresholds } = options; return thresholds; }',
        'export function teardown() { return exec.test.options.scenarios; }',
        '',
      ].join('\n'),
    );
    expect(result.messages.map((m) => [m.ruleId, m.line])).toEqual([
      ['k6/no-options-read-back', 4],
      ['k6/no-options-read-back', 5],
    ]);
  });
});
