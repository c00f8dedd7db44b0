import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeStorms } from '../support/load/storm-suite';

// LOCK_BACKEND=file: two instances on this host share one real lock directory.
const lockDir = mkdtempSync(join(tmpdir(), 'couponlock-storms-file-'));

describeStorms('storms-file', { LOCK_BACKEND: 'file', LOCK_FILE_DIR: lockDir }, 2);

describe('storms-file: the lock directory afterwards', () => {
  afterAll(() => rmSync(lockDir, { recursive: true, force: true }));

  it('holds one key directory per locked key and no held lease', () => {
    const keys = readdirSync(lockDir).filter((name) => !name.startsWith('.'));
    expect(keys.length).toBeGreaterThan(0);
    const held = keys.flatMap((key) =>
      readdirSync(join(lockDir, key)).filter((entry) => entry.startsWith('h.')),
    );
    expect(held).toEqual([]);
  });
});
