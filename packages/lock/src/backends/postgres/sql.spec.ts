import { createHash } from 'node:crypto';
import { lockTableNames, MAX_PLAIN_PAYLOAD_BYTES, payloadFor, schemaStatements } from './sql';

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

describe('postgres lock table names', () => {
  it('derives quoted, versioned function names and one channel from the table', () => {
    expect(lockTableNames('public', 'couponlock_locks')).toEqual({
      schema: 'public',
      table: 'couponlock_locks',
      qualifiedTable: '"public"."couponlock_locks"',
      acquireFn: '"public"."couponlock_locks_acquire_v1"',
      extendFn: '"public"."couponlock_locks_extend_v1"',
      releaseFn: '"public"."couponlock_locks_release_v1"',
      channel: 'couponlock_locks_released',
    });
  });

  it.each([
    ['schema', 'Public', 'locks'],
    ['schema', 'a"b', 'locks'],
    ['table', 'public', 'locks; DROP TABLE x'],
    ['table', 'public', '1locks'],
    ['table', 'public', ''],
  ])('refuses a %s that is not a plain lower-case identifier', (_what, schema, table) => {
    expect(() => lockTableNames(schema, table)).toThrow(TypeError);
  });

  it('refuses a table whose derived names would pass the 63-byte identifier limit', () => {
    expect(() => lockTableNames('public', 'x'.repeat(48))).not.toThrow();
    expect(() => lockTableNames('public', 'x'.repeat(49))).toThrow(/too long/);
  });
});

describe('postgres release payloads', () => {
  it('sends short keys as they are and long ones as md5 (NOTIFY payloads are limited)', () => {
    const short = 'couponlock:coupon:SPRING';
    expect(payloadFor(short, md5)).toBe(short);
    const edge = 'é'.repeat(MAX_PLAIN_PAYLOAD_BYTES / 2); // 2 bytes each: exactly at the limit
    expect(payloadFor(edge, md5)).toBe(edge);
    const long = `${edge}x`;
    expect(payloadFor(long, md5)).toBe(`md5:${md5(long)}`);
  });

  it('the release function computes the same payload on the server side', () => {
    const release = schemaStatements(lockTableNames('public', 'locks')).find((s) =>
      s.includes('"locks_release_v1"'),
    );
    expect(release).toContain(`octet_length(r.key) <= ${MAX_PLAIN_PAYLOAD_BYTES}`);
    expect(release).toContain(`'md5:' || md5(r.key)`);
    expect(release).toContain("pg_notify('locks_released'");
  });
});
