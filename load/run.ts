/**
 * Command line for the Node load harness: runs the proof scenarios against running app
 * instances and prints the verdict table. The same scenarios run in the jest suite
 * (test/load) and in the demo (scripts/demo.sh) when k6 is not installed.
 *
 *   node -r ts-node/register/transpile-only load/run.ts [options] <scenario[:factor]>...
 *
 * Scenarios: hot-coupon[:N] (N x oversubscription, default 20), per-customer, stock[:N],
 * orders-mixed[:N], naive[:N] (teaching aid: must FAIL). Options:
 *   --base-urls=URL[,URL...]  instances, used round-robin (default: $BASE_URLS, $BASE_URL,
 *                             http://localhost:3000)
 *   --concurrency=N           requests in flight over all instances (default 64)
 *   --verbose                 print every check, not only failed ones
 *   --json=FILE               also write the verdicts (without per-request data) as JSON
 *   --heading=TEXT            a line printed just above the verdict table
 * Keys: $API_KEY / $ADMIN_API_KEY, else the first of STOREFRONT_API_KEYS / ADMIN_API_KEYS
 * (environment or .env), else the .env.example development keys.
 * Exit code: 0 when every proof came out as it must (the naive one FAILS, i.e. is caught),
 * 1 when one did not, 2 on a usage or setup error.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { progressReporter } from './harness';
import { Cluster } from './http';
import { SCENARIOS } from './scenarios';
import { formatChecks, formatVerdictTable, type Verdict } from './verdict';

interface CliOptions {
  baseUrls: string[];
  concurrency: number;
  verbose: boolean;
  json?: string;
  heading?: string;
  scenarios: Array<{ name: string; factor?: number }>;
}

function usage(): string {
  const lines = Object.entries(SCENARIOS).map(
    ([name, entry]) => `  ${name.padEnd(13)} ${entry.summary} (mirrors ${entry.k6})`,
  );
  return [
    'usage: node -r ts-node/register/transpile-only load/run.ts [--base-urls=URL,URL] [--concurrency=64] [--verbose] [--json=FILE] [--heading=TEXT] <scenario[:factor]>...',
    'scenarios:',
    ...lines,
  ].join('\n');
}

function parseArgs(argv: readonly string[]): CliOptions {
  const env = process.env;
  const options: CliOptions = {
    baseUrls: (env.BASE_URLS ?? env.BASE_URL ?? 'http://localhost:3000')
      .split(',')
      .map((url) => url.trim())
      .filter((url) => url !== ''),
    concurrency: 64,
    verbose: false,
    scenarios: [],
  };
  for (const arg of argv) {
    const [flag, value] = arg.includes('=')
      ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
      : [arg, undefined];
    if (flag === '--help' || flag === '-h') {
      process.stdout.write(`${usage()}\n`);
      process.exit(0);
    } else if (flag === '--base-urls' && value) {
      options.baseUrls = value
        .split(',')
        .map((url) => url.trim())
        .filter((url) => url !== '');
    } else if (flag === '--concurrency' && value && /^\d+$/.test(value) && Number(value) > 0) {
      options.concurrency = Number(value);
    } else if (flag === '--verbose') {
      options.verbose = true;
    } else if (flag === '--json' && value) {
      options.json = value;
    } else if (flag === '--heading' && value) {
      options.heading = value;
    } else if (!arg.startsWith('-')) {
      const [name = '', factor] = arg.split(':');
      if (!(name in SCENARIOS) || (factor !== undefined && !/^\d+$/.test(factor))) {
        throw new UsageError(`unknown scenario "${arg}"`);
      }
      options.scenarios.push({ name, factor: factor === undefined ? undefined : Number(factor) });
    } else {
      throw new UsageError(`unknown or incomplete option "${arg}"`);
    }
  }
  if (options.scenarios.length === 0) throw new UsageError('name at least one scenario');
  if (options.baseUrls.length === 0) throw new UsageError('no base URL');
  return options;
}

class UsageError extends Error {}

function firstKey(list: string | undefined): string | undefined {
  return list
    ?.split(',')
    .map((key) => key.trim())
    .find((key) => key !== '');
}

function keys(): { apiKey: string; adminApiKey: string } {
  // .env does not override what the shell already set.
  if (existsSync('.env')) process.loadEnvFile('.env');
  const env = process.env;
  return {
    apiKey: env.API_KEY ?? firstKey(env.STOREFRONT_API_KEYS) ?? 'dev-storefront-key',
    adminApiKey: env.ADMIN_API_KEY ?? firstKey(env.ADMIN_API_KEYS) ?? 'dev-admin-key',
  };
}

/** Verdicts without per-request data, for --json. */
function serializable(verdicts: readonly Verdict[]): unknown {
  return verdicts.map(({ storms, ...verdict }) => ({
    ...verdict,
    storms: storms.map(({ outcomes: _outcomes, ...storm }) => storm),
  }));
}

export async function main(argv: readonly string[]): Promise<number> {
  let options: CliOptions;
  try {
    options = parseArgs(argv);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${usage()}\n`);
    return 2;
  }
  const cluster = new Cluster({
    baseUrls: options.baseUrls,
    ...keys(),
    connectionsPerUrl: Math.ceil(options.concurrency / options.baseUrls.length) + 8,
  });
  const say = (line: string): void => void process.stdout.write(`${line}\n`);
  const verdicts: Verdict[] = [];
  try {
    say(
      `Node load harness: ${options.baseUrls.join(', ')}, ${options.concurrency} requests in flight`,
    );
    for (const { name, factor } of options.scenarios) {
      const entry = SCENARIOS[name];
      if (!entry) continue;
      say(`\n▶ ${name}${factor ? `:${factor}` : ''}: ${entry.summary}`);
      const started = Date.now();
      const verdict = await entry.run(
        {
          cluster,
          concurrency: options.concurrency,
          progress: (label) => progressReporter(label, say, 25),
        },
        factor,
      );
      verdicts.push(verdict);
      say(
        `  ${verdict.ok ? 'passed' : 'failed'} ${verdict.checks.filter((c) => c.ok).length}/${verdict.checks.length} checks in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
    }
  } catch (error) {
    process.stderr.write(
      `\nload harness stopped: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    return 2;
  } finally {
    await cluster.close();
  }

  if (options.heading) say(`\n${options.heading}`);
  say(`\n${formatVerdictTable(verdicts)}\n`);
  for (const verdict of verdicts) {
    if (options.verbose || !verdict.ok || verdict.notes.length > 0) {
      say(formatChecks(verdict, !options.verbose));
    }
  }
  if (options.json) writeFileSync(options.json, JSON.stringify(serializable(verdicts), null, 2));
  const asExpected = verdicts.every((verdict) => verdict.ok !== Boolean(verdict.expectedToFail));
  const naive = verdicts.filter((verdict) => verdict.expectedToFail);
  if (naive.length > 0) {
    say(
      naive.every((verdict) => !verdict.ok)
        ? '\nThe naive (unsafe) variant FAILED the proof, as it must: the checks catch over-redemption.'
        : '\nThe naive variant PASSED: the race did not happen in this run (raise --concurrency). That is not a sign of safety.',
    );
  }
  say(
    asExpected
      ? '\nVERDICT: every proof holds.'
      : '\nVERDICT: PROOF FAILED (see the checks above).',
  );
  return asExpected ? 0 : 1;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(
        `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exit(2);
    },
  );
}
