// The one rule that sorts an answer into its bucket, shared by the k6 scripts (through
// classify.js) and the Node load harness (load/harness.ts imports this very file, typed by
// outcome.d.ts). It imports nothing, so k6 and Node both load it as it is.
//   success     a status the scenario hopes for (201 redeem, 200 decrement, ...) with a JSON body
//   refused     a refusal the scenario can legitimately produce, identified by status AND the
//               problem+json `code` (e.g. 409 COUPON_EXHAUSTED once the coupon is sold out)
//   unexpected  anything else: other codes, 4xx/5xx, 503 LOCK_TIMEOUT, network errors (status 0),
//               a 2xx without a JSON body

export const SUCCESS = 'success';
export const REFUSED = 'refused';
export const UNEXPECTED = 'unexpected';

// answer:          { status, code, body }: `body` the parsed JSON object or null, `code` its
//                  string `code` field or null
// expect.success:  array of statuses that mean success
// expect.refusals: array of { status, code } pairs that are legitimate refusals
export function outcomeKind(answer, expect) {
  if (expect.success.indexOf(answer.status) !== -1 && answer.body !== null) return SUCCESS;
  const refusals = expect.refusals || [];
  for (let i = 0; i < refusals.length; i++) {
    if (answer.status === refusals[i].status && answer.code === refusals[i].code) return REFUSED;
  }
  return UNEXPECTED;
}
