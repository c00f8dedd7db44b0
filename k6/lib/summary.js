// End-of-test summary: a short text report on stdout, and the full summary data as JSON in
// RESULTS_DIR/<script>-summary.json (default k6/results/, relative to the directory k6 runs in).
//
// Once a script exports handleSummary(), k6 prints only what it returns. The text report is
// written here rather than imported from jslib.k6.io, so the scripts start without network
// access. It reads only what the k6 docs describe for the summary data ("Custom summary",
// Summary data reference): metrics[name].type / .values / .thresholds[expression].ok,
// root_group.checks and .groups (each check with name, passes, fails), and
// state.testRunDurationMs. k6 does not create directories, so RESULTS_DIR must exist; if it
// does not, k6 logs "failed to handle the end-of-test summary" and still prints the report.

import { RESULTS_DIR } from './config.js';

// Metrics k6 always emits; everything else in the report is a metric the script defined.
const BUILTIN = {
  checks: true,
  data_received: true,
  data_sent: true,
  dropped_iterations: true,
  http_reqs: true,
  iterations: true,
  vus: true,
  vus_max: true,
};

export function summaryOutputs(scriptName, data) {
  const outputs = { stdout: shortSummary(scriptName, data) };
  outputs[`${RESULTS_DIR}/${scriptName}-summary.json`] = JSON.stringify(data, null, 2);
  return outputs;
}

function shortSummary(scriptName, data) {
  const metrics = (data && data.metrics) || {};
  const names = Object.keys(metrics).sort();
  const lines = [];
  const seconds =
    data && data.state && typeof data.state.testRunDurationMs === 'number'
      ? (data.state.testRunDurationMs / 1000).toFixed(1)
      : '?';
  lines.push(`${scriptName}: ran ${seconds} s`);

  let crossed = 0;
  lines.push('  thresholds');
  names.forEach((name) => {
    const thresholds = metrics[name].thresholds || {};
    Object.keys(thresholds).forEach((expression) => {
      const ok = Boolean(thresholds[expression].ok);
      if (!ok) crossed += 1;
      lines.push(`    ${ok ? 'ok  ' : 'FAIL'} ${name} ${expression}: ${valuesOf(metrics[name])}`);
    });
  });

  const checks = collectChecks(data && data.root_group);
  const failing = checks.filter((c) => c.fails > 0);
  const passes = checks.reduce((sum, c) => sum + c.passes, 0);
  const fails = checks.reduce((sum, c) => sum + c.fails, 0);
  lines.push(`  checks: ${passes} passed, ${fails} failed`);
  failing.forEach((c) => lines.push(`    FAIL ${c.name} (${c.fails} of ${c.passes + c.fails})`));

  lines.push('  metrics');
  names.forEach((name) => {
    const metric = metrics[name];
    const custom = !BUILTIN[name] && name.indexOf('http_') !== 0 && name.indexOf('{') === -1;
    const headline =
      name === 'http_reqs' || name === 'http_req_duration' || name === 'http_req_failed';
    if (custom || headline) lines.push(`    ${name}: ${valuesOf(metric)}`);
  });

  lines.push(
    crossed === 0
      ? `${scriptName}: every threshold held`
      : `${scriptName}: ${crossed} threshold(s) crossed: the run FAILS`,
  );
  return `\n${lines.join('\n')}\n\n`;
}

function valuesOf(metric) {
  const v = metric.values || {};
  switch (metric.type) {
    case 'counter':
      return `count=${v.count}`;
    case 'rate':
      return `rate=${(100 * (v.rate || 0)).toFixed(2)}% (${v.passes} of ${v.passes + v.fails})`;
    case 'gauge':
      return `value=${v.value} min=${v.min} max=${v.max}`;
    case 'trend':
      return ['med', 'p(95)', 'p(99)', 'max']
        .filter((stat) => typeof v[stat] === 'number')
        .map((stat) => `${stat}=${v[stat].toFixed(1)}`)
        .join(' ');
    default:
      return JSON.stringify(v);
  }
}

function collectChecks(group) {
  if (!group) return [];
  const own = (group.checks || []).map((c) => ({ name: c.name, passes: c.passes, fails: c.fails }));
  return (group.groups || []).reduce((all, sub) => all.concat(collectChecks(sub)), own);
}
