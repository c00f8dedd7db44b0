import { performance } from 'node:perf_hooks';
import { type Kind, outcomeKind } from '../k6/lib/outcome.js';
import { type Answer, type Cluster, describeAnswer, type RequestSpec } from './http';

export type { Kind };

/**
 * Which answers a storm may legitimately get. Every answer falls in exactly one bucket, so
 * successes + refusals + unexpected == attempts and nothing is silently dropped:
 * - success:    a status in `success` (201 redeem, 200 decrement, ...);
 * - refused:    a refusal the scenario can legitimately produce, matched by status AND the
 *               problem+json `code` (409 COUPON_EXHAUSTED once a coupon is sold out);
 * - unexpected: anything else: another code with the same status (409 ALREADY_REDEEMED where
 *               order ids are unique is a bug), any 5xx, 503 LOCK_TIMEOUT, no answer at all.
 * The rule is k6/lib/outcome.js, the one the k6 scripts use.
 */
export interface Expectation {
  success: readonly number[];
  refusals: ReadonlyArray<{ status: number; code: string }>;
}

export interface Outcome {
  index: number;
  request: RequestSpec;
  answer: Answer;
  kind: Kind;
}

export interface StormOptions {
  /** Label for reports. */
  name: string;
  cluster: Cluster;
  attempts: number;
  /** Requests in flight at once, over all instances together. */
  concurrency: number;
  /** The request of attempt `index` (0-based). Attempt i goes to instance i % instances. */
  request: (index: number) => RequestSpec;
  expect: Expectation;
  /**
   * Checks one answer beyond its bucket (body shape, ids, values). Returns what is wrong, or
   * undefined. Problems are collected in `malformed`; scenarios turn them into a failed check.
   */
  inspect?: (outcome: Outcome) => string | undefined;
  /** Called after every answer; see progressReporter() for a throttled printer. */
  onProgress?: (done: number, total: number) => void;
}

export interface LatencySummary {
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

export interface StormResult {
  name: string;
  attempts: number;
  concurrency: number;
  instances: number;
  durationMs: number;
  /** Indexed by attempt. */
  outcomes: Outcome[];
  successes: number;
  refusals: number;
  unexpected: number;
  /** Count per answer kind, e.g. {"201": 50, "409 COUPON_EXHAUSTED": 950}. */
  byAnswer: Record<string, number>;
  /** Answers per instance: shows that the storm really was spread. */
  perInstance: number[];
  latency: LatencySummary;
  /** inspect() findings, "attempt i: problem". */
  malformed: string[];
  /** A few unexpected answers, described, for failure messages. */
  unexpectedSamples: string[];
}

const SAMPLE_LIMIT = 10;

export function classify(answer: Answer, expect: Expectation): Kind {
  return outcomeKind(answer, expect);
}

export function answerKey(answer: Answer): string {
  if (answer.status === 0) return 'no answer';
  return answer.code && answer.status >= 400
    ? `${answer.status} ${answer.code}`
    : `${answer.status}`;
}

/**
 * Runs `attempts` requests with at most `concurrency` in flight, spread round-robin over the
 * cluster's instances, and records every answer. Workers take attempts in index order, so
 * attempts with neighbouring indexes (e.g. one customer's retries) are in flight together.
 */
export async function runStorm(options: StormOptions): Promise<StormResult> {
  const { cluster, attempts } = options;
  const concurrency = Math.max(1, Math.min(options.concurrency, attempts));
  const outcomes = new Array<Outcome>(attempts);
  let next = 0;
  let done = 0;
  const started = performance.now();

  const worker = async (): Promise<void> => {
    for (;;) {
      const index = next++;
      if (index >= attempts) return;
      const request = options.request(index);
      const answer = await cluster.send(request, index);
      outcomes[index] = { index, request, answer, kind: classify(answer, options.expect) };
      done += 1;
      options.onProgress?.(done, attempts);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const durationMs = performance.now() - started;
  return summarizeStorm(options, outcomes, concurrency, durationMs);
}

/**
 * The result of a storm from its recorded outcomes: buckets, per-answer and per-instance
 * counts, latency, inspect() findings. runStorm uses it; scenarios whose attempts are flows of
 * several requests (a hold, then its confirm) record their own outcomes and summarize each step.
 */
export function summarizeStorm(
  options: Pick<StormOptions, 'name' | 'cluster' | 'inspect'>,
  outcomes: readonly Outcome[],
  concurrency: number,
  durationMs: number,
): StormResult {
  const { cluster } = options;
  const attempts = outcomes.length;
  const byAnswer: Record<string, number> = {};
  const perInstance = cluster.baseUrls.map(() => 0);
  const malformed: string[] = [];
  const unexpectedSamples: string[] = [];
  let successes = 0;
  let refusals = 0;
  let unexpected = 0;
  for (const outcome of outcomes) {
    const key = answerKey(outcome.answer);
    byAnswer[key] = (byAnswer[key] ?? 0) + 1;
    perInstance[outcome.answer.target] = (perInstance[outcome.answer.target] ?? 0) + 1;
    if (outcome.kind === 'success') successes += 1;
    else if (outcome.kind === 'refused') refusals += 1;
    else {
      unexpected += 1;
      if (unexpectedSamples.length < SAMPLE_LIMIT) {
        unexpectedSamples.push(
          `attempt ${outcome.index} (${outcome.request.method} ${outcome.request.path}): ${describeAnswer(outcome.answer)}`,
        );
      }
    }
    const problem = outcome.kind === 'unexpected' ? undefined : options.inspect?.(outcome);
    if (problem !== undefined) malformed.push(`attempt ${outcome.index}: ${problem}`);
  }

  return {
    name: options.name,
    attempts,
    concurrency,
    instances: cluster.size,
    durationMs,
    outcomes: [...outcomes],
    successes,
    refusals,
    unexpected,
    byAnswer,
    perInstance,
    latency: summarizeLatency(outcomes.map((outcome) => outcome.answer.latencyMs)),
    malformed,
    unexpectedSamples,
  };
}

/** Nearest-rank percentile (p in 0..100) of unsorted samples; 0 for none. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return 0;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}

export function summarizeLatency(samples: readonly number[]): LatencySummary {
  const total = samples.reduce((sum, value) => sum + value, 0);
  return {
    p50: percentile(samples, 50),
    p99: percentile(samples, 99),
    max: samples.length === 0 ? 0 : Math.max(...samples),
    mean: samples.length === 0 ? 0 : total / samples.length,
  };
}

/**
 * onProgress callback that prints "label: 400/1000 (40%)" to `write` at every `stepPercent`,
 * so a long storm shows progress rather than silence.
 */
export function progressReporter(
  label: string,
  write: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  stepPercent = 20,
): (done: number, total: number) => void {
  let nextMark = stepPercent;
  return (done, total) => {
    const percent = (done / total) * 100;
    if (percent + 1e-9 < nextMark && done !== total) return;
    while (nextMark <= percent + 1e-9) nextMark += stepPercent;
    write(`  ${label}: ${done}/${total} (${Math.floor(percent)}%)`);
  };
}

/** Unique, sortable, short id for the resources of one run: letters and digits only. */
export function newRunId(): string {
  const time = Date.now().toString(36);
  const random = Math.floor(Math.random() * 36 ** 4)
    .toString(36)
    .padStart(4, '0');
  return `${time}${random}`.toUpperCase();
}
