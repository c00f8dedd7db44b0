// Collects the invariant checks of a teardown() and fails the run if any of them does not hold.
//
// Why teardown re-checks what thresholds already check: thresholds only see what the VUs
// observed. They cannot see a redemption that the server committed but answered with an error,
// a ledger row without a counter increment, or stock that went negative between two requests.
// The final state, read back through the API, is the ground truth.
//
// How a violation fails the run, using only what the k6 docs guarantee: each invariant is a
// check(), and every script has the threshold `checks: ['rate==1']`. k6 evaluates thresholds
// once more after teardown() with every sample, teardown's checks included, and a crossed
// threshold makes `k6 run` exit non-zero (99).

import { check } from 'k6';
import { fmt } from './config.js';

export class Verifier {
  constructor(scriptName) {
    this.scriptName = scriptName;
    this.failures = [];
  }

  // Records one invariant. `label` must be stable (it is a check name, aggregated over the run);
  // put run-specific values in `details`.
  expect(condition, label, details) {
    const ok = Boolean(condition);
    check(null, { [label]: () => ok });
    if (!ok) this.failures.push(details ? `${label} (${details})` : label);
    return ok;
  }

  equal(actual, expected, label) {
    return this.expect(actual === expected, label, `expected ${fmt(expected)}, got ${fmt(actual)}`);
  }

  // For a failure found outside a simple comparison (a request that failed, a ledger that could
  // not be read): records a failing check with the given label.
  failure(label, details) {
    return this.expect(false, label, details);
  }

  ok() {
    return this.failures.length === 0;
  }

  // Prints the verdict; a failed invariant has already failed its check (see above).
  finish() {
    if (this.failures.length === 0) {
      console.log(`${this.scriptName}: teardown verified every invariant against the API`);
      return true;
    }
    console.error(
      `${this.scriptName}: ${this.failures.length} invariant(s) violated:\n  - ${this.failures.join('\n  - ')}`,
    );
    return false;
  }
}
