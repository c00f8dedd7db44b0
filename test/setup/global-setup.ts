import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../../src/database/data-source-options';
import { runMigrationsExclusively } from '../../src/database/run-migrations';
import { TEST_DATABASE_URL } from '../support/test-env';

/**
 * Gives the integration suite a freshly migrated database: the schema is dropped and rebuilt
 * from the migrations alone, exactly as a new deployment would get it.
 */
export default async function globalSetup(): Promise<void> {
  // Every project that needs services names this setup; jest runs each one in the same process.
  const state = globalThis as { couponlockSchemaReady?: boolean };
  if (state.couponlockSchemaReady) return;
  state.couponlockSchemaReady = true;
  assertBuildIsFresh();
  const dataSource = await new DataSource(
    dataSourceOptions({
      url: TEST_DATABASE_URL,
      poolSize: 2,
      applicationName: 'couponlock-test-setup',
    }),
  ).initialize();
  try {
    await dataSource.query('DROP SCHEMA IF EXISTS public CASCADE');
    await dataSource.query('CREATE SCHEMA public');
    await runMigrationsExclusively(dataSource);
  } finally {
    await dataSource.destroy();
  }
}

/**
 * App processes run the compiled builds (`dist/`, `packages/lock/dist/`), so a run against an
 * older build would test old code. `npm test` builds once; a direct `npx jest` after an edit
 * fails here instead.
 */
function assertBuildIsFresh(): void {
  const root = join(__dirname, '..', '..');
  for (const [sources, output] of [
    ['src', 'dist/main.js'],
    ['packages/lock/src', 'packages/lock/dist/index.js'],
  ]) {
    let built: number;
    try {
      built = statSync(join(root, output)).mtimeMs;
    } catch {
      throw new Error(`${output} is missing: run \`npm run build\` first (npm test does).`);
    }
    if (newestSourceMtime(join(root, sources)) > built) {
      throw new Error(`${sources}/ changed after the last build: run \`npm run build\` first.`);
    }
  }
}

/** The newest modification time of the compiled sources under `dir` (specs are not compiled). */
function newestSourceMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSourceMtime(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts')) {
      newest = Math.max(newest, statSync(path).mtimeMs);
    }
  }
  return newest;
}
