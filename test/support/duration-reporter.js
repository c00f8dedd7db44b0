/**
 * Prints every suite's wall time at the end of a run, slowest first, with each project's total,
 * so slow suites stay visible (jest's default reporter shows only the run's total).
 * A plain CommonJS file: jest loads reporters without the ts-jest transform.
 */
const path = require('node:path');

class DurationReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
  }

  onRunComplete(_contexts, results) {
    const suites = results.testResults.map((suite) => ({
      project: projectName(suite),
      seconds: (suite.perfStats.end - suite.perfStats.start) / 1000,
      file: path.relative(this.rootDir, suite.testFilePath),
      failed: suite.numFailingTests > 0 || suite.testExecError !== undefined,
    }));
    if (suites.length === 0) return;
    const totals = new Map();
    for (const suite of suites)
      totals.set(suite.project, (totals.get(suite.project) ?? 0) + suite.seconds);
    const lines = ['', 'Suite durations (s), slowest first:'];
    for (const suite of [...suites].sort((a, b) => b.seconds - a.seconds)) {
      const mark = suite.failed ? '  FAILED' : '';
      lines.push(
        `${suite.seconds.toFixed(1).padStart(8)}  ${suite.project.padEnd(12)} ${suite.file}${mark}`,
      );
    }
    const projectTotals = [...totals].map(([name, seconds]) => `${name} ${seconds.toFixed(0)} s`);
    lines.push(`Per project: ${projectTotals.join(', ')}`, '');
    process.stdout.write(lines.join('\n') + '\n');
  }
}

function projectName(suite) {
  const name = suite.displayName;
  if (typeof name === 'string') return name;
  return name?.name ?? 'default';
}

module.exports = DurationReporter;
