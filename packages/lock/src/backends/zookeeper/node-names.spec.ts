import { childPrefix, escapeSegment, queueOrder, sequenceOf, zxidToDecimal } from './node-names';

describe('zookeeper node names', () => {
  it('keeps safe characters and percent-encodes the rest as UTF-8', () => {
    expect(escapeSegment('couponlock:coupon:SPRING-10_x')).toBe('couponlock:coupon:SPRING-10_x');
    expect(escapeSegment('a/b')).toBe('a%2Fb');
    expect(escapeSegment('.')).toBe('%2E');
    expect(escapeSegment('..')).toBe('%2E%2E');
    expect(escapeSegment('50%')).toBe('50%25');
    expect(escapeSegment('é €')).toBe('%C3%A9%20%E2%82%AC');
    expect(escapeSegment('\u0000')).toBe('%00');
  });

  it('is injective on keys that differ only in escaped characters', () => {
    const keys = ['a/b', 'a%2Fb', 'a.b', 'a%2Eb', 'a b', 'a+b'];
    expect(new Set(keys.map(escapeSegment)).size).toBe(keys.length);
  });

  it('reads the sequence ZooKeeper appended, and only from lock nodes', () => {
    expect(childPrefix('abc:1f')).toBe('abc:1f-');
    expect(sequenceOf('abc:1f-0000000042')).toBe(42);
    expect(sequenceOf('a-b_c:z-0000000000')).toBe(0);
    expect(sequenceOf('0000000042')).toBe(-1);
    expect(sequenceOf('abc:1f0000000042')).toBe(-1);
    expect(sequenceOf('abc:1f-00000x0042')).toBe(-1);
  });

  it('orders a queue by sequence, not by name, leaving out foreign children', () => {
    expect(queueOrder(['zz:1-0000000012', 'aa:9-0000000011', 'note', 'mm:2-0000000002'])).toEqual([
      'mm:2-0000000002',
      'aa:9-0000000011',
      'zz:1-0000000012',
    ]);
  });

  it('turns an 8-byte zxid into an exact decimal beyond 2^53', () => {
    const zxid = Buffer.from([0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x2a]);
    expect(zxidToDecimal(zxid)).toBe(String(5n * 2n ** 32n + 42n));
    expect(zxidToDecimal(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))).toBe(
      '18446744073709551615',
    );
    expect(() => zxidToDecimal(Buffer.alloc(4))).toThrow(RangeError);
  });
});
