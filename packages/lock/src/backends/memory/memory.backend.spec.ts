import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LockService } from '../../core/lock-service';
import type { LockLogger } from '../../core/logger';

/** A logger that keeps every line, tagged with its level. */
function recording(): { logger: LockLogger; lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    logger: {
      log: (message) => lines.push(`log: ${message}`),
      warn: (message) => lines.push(`warn: ${message}`),
    },
  };
}

describe('memory backend', () => {
  it('warns at start-up that its locks do not exclude other processes', async () => {
    const { logger, lines } = recording();
    const service = new LockService({ backend: 'memory', keyPrefix: 'memory-spec:', logger });
    try {
      expect(lines).toEqual([
        'warn: memory lock backend: locks live in this process only and do NOT exclude other ' +
          'processes (use it for tests and single-instance deployments)',
      ]);
    } finally {
      await service.close();
    }
  });

  it('says nothing of the kind for a backend that excludes across processes', async () => {
    const { logger, lines } = recording();
    const dir = mkdtempSync(join(tmpdir(), 'memory-spec-'));
    const service = new LockService({ backend: 'file', file: { dir }, logger });
    try {
      expect(lines.filter((line) => line.includes('do NOT exclude'))).toEqual([]);
    } finally {
      await service.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
