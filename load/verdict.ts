import type { LatencySummary, StormResult } from './harness';

/** One explicit, exact comparison. A verdict passes only if every check passes. */
export interface Check {
  name: string;
  expected: string;
  actual: string;
  ok: boolean;
}

/** The numbers of the verdict table (one row per scenario). */
export interface VerdictRow {
  attempts: number;
  /** The limit being proven (coupon limit, stock, ...), as printed. */
  limit: string;
  successes: number;
  refusals: number;
  unexpected: number;
  /** Counter equals ledger (null when the scenario has no counter/ledger pair). */
  counterEqualsLedger: boolean | null;
  latency: LatencySummary;
}

export interface Verdict {
  /** Short id, e.g. "hot-coupon 20x". */
  scenario: string;
  /** What it proves, one sentence. */
  title: string;
  ok: boolean;
  checks: Check[];
  row: VerdictRow;
  /** The storms run, in order (for details and debugging). */
  storms: StormResult[];
  /** Facts worth printing next to the table (resource names, over-redemption, ...). */
  notes: string[];
  /** Key numbers of the run (exact counts), for tests and reports. */
  facts: Record<string, number | string>;
  /** A teaching-aid run whose failure is the intended outcome (the naive routes). */
  expectedToFail?: boolean;
}

const show = (value: unknown): string =>
  typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));

/** Collects checks; every helper records exactly one. */
export class Checks {
  readonly list: Check[] = [];

  /** expected === actual (strict, on primitives). */
  equal(name: string, expected: unknown, actual: unknown): boolean {
    return this.that(name, Object.is(expected, actual), show(expected), show(actual));
  }

  /** A condition with explicit descriptions of what was expected and what was found. */
  that(name: string, ok: boolean, expected: string, actual: string): boolean {
    this.list.push({ name, expected, actual, ok });
    return ok;
  }

  /** A list of problems that must be empty. */
  none(name: string, problems: readonly string[]): boolean {
    const shown = problems.slice(0, 5).join('; ') + (problems.length > 5 ? '; ...' : '');
    return this.that(
      name,
      problems.length === 0,
      'none',
      problems.length === 0 ? 'none' : `${problems.length}: ${shown}`,
    );
  }

  get ok(): boolean {
    return this.list.every((check) => check.ok);
  }

  get failed(): Check[] {
    return this.list.filter((check) => !check.ok);
  }
}

/** The storm-level checks every scenario shares (the k6 thresholds). */
export function stormChecks(
  checks: Checks,
  storm: StormResult,
  expected: { successes?: number; refusals?: number; refusalLabel: string },
): void {
  if (expected.successes !== undefined) {
    checks.equal(`${storm.name}: successes`, expected.successes, storm.successes);
  }
  if (expected.refusals !== undefined) {
    checks.equal(
      `${storm.name}: refusals (${expected.refusalLabel})`,
      expected.refusals,
      storm.refusals,
    );
  }
  checks.that(
    `${storm.name}: unexpected answers (5xx, 503 LOCK_TIMEOUT, other codes, no answer)`,
    storm.unexpected === 0,
    '0',
    storm.unexpected === 0
      ? '0'
      : `${storm.unexpected}: ${storm.unexpectedSamples.slice(0, 3).join('; ')}`,
  );
  checks.none(`${storm.name}: every answer well-formed for this request`, storm.malformed);
  checks.equal(
    `${storm.name}: every attempt answered`,
    storm.attempts,
    storm.successes + storm.refusals + storm.unexpected,
  );
}

export function verdictOf(base: Omit<Verdict, 'ok' | 'checks'>, checks: Checks): Verdict {
  return { ...base, ok: checks.ok, checks: checks.list };
}

// ------------------------------------------------------------------------------- printing

const ms = (value: number): string =>
  !Number.isFinite(value) ? '-' : value >= 100 ? value.toFixed(0) : value.toFixed(1);

function statusOf(verdict: Verdict): string {
  if (verdict.expectedToFail) return verdict.ok ? 'PASS (race missed!)' : 'FAIL (caught)';
  return verdict.ok ? 'PASS' : 'FAIL';
}

/**
 * The verdict table: one row per scenario, e.g.
 *
 *   scenario        | attempts | limit | successes | refusals | unexpected | counter=ledger | p50 ms | p99 ms | verdict
 */
export function formatVerdictTable(verdicts: readonly Verdict[]): string {
  const header = [
    'scenario',
    'attempts',
    'limit',
    'successes',
    'refusals',
    'unexpected',
    'counter = ledger',
    'p50 ms',
    'p99 ms',
    'verdict',
  ];
  const rows = verdicts.map((verdict) => [
    verdict.scenario,
    String(verdict.row.attempts),
    verdict.row.limit,
    String(verdict.row.successes),
    String(verdict.row.refusals),
    String(verdict.row.unexpected),
    verdict.row.counterEqualsLedger === null ? '-' : verdict.row.counterEqualsLedger ? 'yes' : 'NO',
    ms(verdict.row.latency.p50),
    ms(verdict.row.latency.p99),
    statusOf(verdict),
  ]);
  const numeric = new Set([1, 3, 4, 5, 7, 8]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]): string =>
    cells
      .map((cell, column) =>
        numeric.has(column) ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0),
      )
      .join(' | ')
      .trimEnd();
  const rule = widths.map((width) => '-'.repeat(width)).join('-+-');
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/** Every check of a verdict, failed ones marked, for the detailed report. */
export function formatChecks(verdict: Verdict, onlyFailed = false): string {
  const lines = [`${statusOf(verdict)}  ${verdict.scenario}: ${verdict.title}`];
  for (const note of verdict.notes) lines.push(`    note: ${note}`);
  for (const check of verdict.checks) {
    if (onlyFailed && check.ok) continue;
    const mark = check.ok ? 'ok  ' : 'FAIL';
    const detail = check.ok ? check.actual : `expected ${check.expected}, got ${check.actual}`;
    lines.push(`  ${mark} ${check.name}: ${detail}`);
  }
  return lines.join('\n');
}
