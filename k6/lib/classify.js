// Sorts every answer into exactly one of three buckets, so the counters add up to the number of
// requests and nothing is silently dropped. The rule itself is outcome.js, which the Node load
// harness shares; see it for the buckets.
// The `code` matters: a 409 ALREADY_REDEEMED in a scenario that uses unique order ids is a bug,
// not a sold-out answer, even though its status is the same.

import { json } from './api.js';
import { outcomeKind, REFUSED, SUCCESS, UNEXPECTED } from './outcome.js';

export { REFUSED, SUCCESS, UNEXPECTED };

// expect.success:  array of statuses that mean success
// expect.refusals: array of { status, code } pairs that are legitimate refusals
export function classify(res, expect) {
  const body = json(res);
  const isObject = body !== null && typeof body === 'object' && !Array.isArray(body);
  const code = isObject && typeof body.code === 'string' ? body.code : null;
  const object = isObject ? body : null;
  const kind = outcomeKind({ status: res.status, code, body: object }, expect);
  return { kind, status: res.status, code, body: object, res };
}

// One line describing a response, for logs and failure messages.
export function describe(res, body) {
  const b = body === undefined ? json(res) : body;
  const parts = [`HTTP ${res.status}`];
  if (res.error) parts.push(`error="${res.error}"`);
  if (b && typeof b === 'object') {
    if (b.code) parts.push(`code=${b.code}`);
    if (b.title) parts.push(`title="${b.title}"`);
    if (b.detail) parts.push(`detail="${b.detail}"`);
  } else if (res.body) {
    parts.push(`body=${String(res.body).slice(0, 300)}`);
  }
  const url = res.request && res.request.url ? res.request.url : res.url;
  if (url) parts.push(`url=${url}`);
  return parts.join(' ');
}

// Adds exactly one sample to each of the three counters: 1 to the bucket the answer fell in and
// 0 to the other two. The zeros are deliberate: they make every counter (and its
// {scenario:...} sub-metric) exist from the first request on, so a threshold such as
// `count==50` is evaluated against a real value even when nothing ever succeeded.
//   counters: { success: Counter, refused: Counter, unexpected: Counter }
export function record(outcome, counters) {
  counters.success.add(outcome.kind === SUCCESS ? 1 : 0);
  counters.refused.add(outcome.kind === REFUSED ? 1 : 0);
  if (outcome.kind === UNEXPECTED) {
    // status/code tags let an output backend break unexpected answers down by cause.
    // (Named so they do not shadow k6's own `status` system tag.)
    counters.unexpected.add(1, {
      http_status: String(outcome.status),
      problem_code: outcome.code || 'none',
    });
  } else {
    counters.unexpected.add(0);
  }
}

// Logs unexpected answers, at most a few per VU, so a systematic failure does not flood the
// console with thousands of identical lines (the counter still counts every one).
const MAX_LOGGED_PER_VU = 5;
let logged = 0;

export function logUnexpected(context, outcome) {
  if (outcome.kind !== UNEXPECTED) return;
  logged += 1;
  if (logged > MAX_LOGGED_PER_VU) return;
  const suffix =
    logged === MAX_LOGGED_PER_VU
      ? ' (further unexpected answers of this VU are counted, not logged)'
      : '';
  console.error(`unexpected answer in ${context}: ${describe(outcome.res, outcome.body)}${suffix}`);
}
