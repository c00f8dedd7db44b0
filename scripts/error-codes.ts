/**
 * Rewrites the error-code table of README.md from the registry (src/common/errors/error-codes.ts).
 * `npm run docs:errors`; the unit test error-table.spec.ts fails when the README is stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { errorCodeTable, TABLE_END, TABLE_START } from '../src/common/errors/error-table';

async function main(): Promise<void> {
  const file = join(__dirname, '..', 'README.md');
  const readme = readFileSync(file, 'utf8');
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error(`README.md lacks ${TABLE_START} ... ${TABLE_END}`);
  const next = `${readme.slice(0, start + TABLE_START.length)}\n\n${errorCodeTable()}\n\n${readme.slice(end)}`;
  const options = { ...(await resolveConfig(file)), filepath: file };
  writeFileSync(file, await format(next, options));
}

void main();
