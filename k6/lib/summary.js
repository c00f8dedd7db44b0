// End-of-test summary: the usual text summary on stdout, plus the full summary data as JSON in
// RESULTS_DIR/<script>-summary.json (default k6/results/, relative to the directory k6 runs in).
//
// k6 1.x has no built-in textSummary() that scripts can import: once a script exports
// handleSummary(), k6 prints only what that function returns, and the documented way to keep the
// text report is textSummary() from the k6-summary jslib. It renders the classic (pre-1.0)
// layout. k6 does not create directories, so RESULTS_DIR must exist; if it does not, k6 logs
// "failed to handle the end-of-test summary" and still prints the text summary.

import { textSummary } from 'https://jslib.k6.io/k6-summary/0.1.0/index.js';
import { RESULTS_DIR } from './config.js';

export function summaryOutputs(scriptName, data) {
  // Colours only when stdout is a terminal (not in `docker compose run` logs or CI files).
  const colors = Boolean(data && data.state && data.state.isStdOutTTY);
  const outputs = {
    stdout: `\n${textSummary(data, { indent: ' ', enableColors: colors })}\n\n`,
  };
  outputs[`${RESULTS_DIR}/${scriptName}-summary.json`] = JSON.stringify(data, null, 2);
  return outputs;
}
