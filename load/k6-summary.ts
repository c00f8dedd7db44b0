/**
 * Turns the JSON summaries the k6 scripts write (k6/results/<script>-summary.json, the
 * handleSummary() data) into the same verdicts and table the Node harness prints, so the demo
 * shows one table whichever tool ran the proof.
 *
 *   node -r ts-node/register/transpile-only load/k6-summary.ts <script>=<exit code>...
 *   e.g. redeem-hot-coupon=0 stock-decrement=0   (reads $RESULTS_DIR, default k6/results)
 *
 * Exit code 0 when every run passed (k6 exit code 0), else 1.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatChecks, formatVerdictTable, type Check, type Verdict } from './verdict';

interface K6Metric {
  type?: string;
  values?: Record<string, number>;
  thresholds?: Record<string, { ok?: boolean }>;
}

interface K6Check {
  name: string;
  passes: number;
  fails: number;
}

interface K6Group {
  checks?: K6Check[];
  groups?: K6Group[];
}

export interface K6Summary {
  metrics?: Record<string, K6Metric>;
  root_group?: K6Group;
}

/** How to read one script's summary: which counters are its successes, refusals, ... */
interface ScriptShape {
  scenario: string;
  success: string;
  refused: string;
  /** Metric whose `count==N` threshold holds the limit being proven (default: `success`). */
  limitFrom?: string;
  /** How the table shows that limit (default: the number alone). */
  limitLabel?: (n: string) => string;
  /** The teardown check comparing counter and ledger. */
  counterCheck: string;
  /** Latency trend (default: http_req_duration). */
  latency?: string;
}

const SHAPES: Record<string, ScriptShape> = {
  'redeem-hot-coupon': {
    scenario: 'hot-coupon (k6)',
    success: 'redeem_success{scenario:exact}',
    refused: 'redeem_refused{scenario:exact}',
    counterCheck: 'teardown: hot coupon redeemedCount == active ledger rows',
  },
  'stock-decrement': {
    scenario: 'stock-decrement (k6)',
    success: 'decrement_success',
    refused: 'decrement_refused',
    limitFrom: 'units_decremented',
    limitLabel: (n) => `stock ${n}`,
    counterCheck: 'teardown: stock == initial stock + sum of deltas',
  },
  'per-customer-limit': {
    scenario: 'per-customer (k6)',
    success: 'customer_redeem_success',
    refused: 'customer_limit_refused',
    counterCheck: 'teardown: redeemedCount == active ledger rows',
  },
  'orders-mixed': {
    scenario: 'orders-mixed (k6)',
    success: 'orders_placed',
    refused: 'orders_refused',
    limitLabel: (n) => `coupon ${n}`,
    counterCheck: 'after storm: coupon redeemedCount == 0',
  },
};

function allChecks(group: K6Group | undefined): K6Check[] {
  if (!group) return [];
  return [...(group.checks ?? []), ...(group.groups ?? []).flatMap(allChecks)];
}

export function verdictFromK6(script: string, summary: K6Summary, exitCode: number): Verdict {
  const shape = SHAPES[script];
  if (!shape) throw new Error(`no table shape for k6 script ${script}`);
  const metrics = summary.metrics ?? {};
  const count = (name: string): number => metrics[name]?.values?.count ?? 0;
  const successes = count(shape.success);
  const refusals = count(shape.refused);
  const unexpected = count('unexpected_responses');
  const limitFrom = shape.limitFrom ?? shape.success;
  const limitLabel = shape.limitLabel ?? ((n: string) => n);
  const limitExpr = Object.keys(metrics[limitFrom]?.thresholds ?? {}).find((expr) =>
    expr.startsWith('count=='),
  );
  const limit = limitExpr ? limitLabel(limitExpr.slice('count=='.length)) : '?';
  const k6Checks = allChecks(summary.root_group);
  const counter = k6Checks.find((check) => check.name === shape.counterCheck);
  const trend = metrics[shape.latency ?? 'http_req_duration']?.values ?? {};

  const checks: Check[] = [];
  for (const [name, metric] of Object.entries(metrics)) {
    for (const [expr, result] of Object.entries(metric.thresholds ?? {})) {
      const ok = result.ok !== false;
      const value = metric.values?.count ?? metric.values?.rate;
      checks.push({
        name: `threshold ${name}: ${expr}`,
        expected: expr,
        actual: String(value),
        ok,
      });
    }
  }
  for (const check of k6Checks) {
    checks.push({
      name: `check ${check.name}`,
      expected: 'no failure',
      actual: `${check.passes} passed, ${check.fails} failed`,
      ok: check.fails === 0,
    });
  }
  checks.push({
    name: 'k6 exit code (99: threshold, 110: teardown invariant)',
    expected: '0',
    actual: String(exitCode),
    ok: exitCode === 0,
  });

  return {
    scenario: shape.scenario,
    title: `k6/${script}.js`,
    ok: checks.every((check) => check.ok),
    checks,
    row: {
      attempts: successes + refusals + unexpected,
      limit,
      successes,
      refusals,
      unexpected,
      counterEqualsLedger: counter ? counter.fails === 0 && counter.passes > 0 : null,
      latency: {
        p50: trend.med ?? Number.NaN,
        p99: trend['p(99)'] ?? Number.NaN,
        max: trend.max ?? Number.NaN,
        mean: trend.avg ?? Number.NaN,
      },
    },
    storms: [],
    notes: [],
    facts: { successes, refusals, unexpected, exitCode },
  };
}

function main(argv: readonly string[]): number {
  const dir = process.env.RESULTS_DIR ?? join('k6', 'results');
  const verdicts: Verdict[] = [];
  for (const arg of argv) {
    const [script = '', code = '1'] = arg.split('=');
    const file = join(dir, `${script}-summary.json`);
    if (!existsSync(file)) {
      process.stderr.write(`k6 summary ${file} is missing (did k6 run to the end?)\n`);
      return 1;
    }
    const summary = JSON.parse(readFileSync(file, 'utf8')) as K6Summary;
    verdicts.push(verdictFromK6(script, summary, Number(code)));
  }
  process.stdout.write(`\n${formatVerdictTable(verdicts)}\n`);
  for (const verdict of verdicts) {
    if (!verdict.ok) process.stdout.write(`${formatChecks(verdict, true)}\n`);
  }
  return verdicts.every((verdict) => verdict.ok) ? 0 : 1;
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
