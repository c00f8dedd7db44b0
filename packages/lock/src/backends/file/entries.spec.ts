import { freeEntry, heldEntry, isStateEntry, keyDirName, parseEntry } from './entries';

describe('file backend names', () => {
  it('state entries round-trip, fences beyond 2^53 included', () => {
    const fence = 2n ** 60n + 1n;
    expect(parseEntry(freeEntry(fence))).toEqual({ kind: 'free', fence });
    const held = heldEntry(7n, 1234.2, 'abc123', 'tok:en_1-x');
    expect(held).toBe('h.7.1235.abc123.tok=en_1-x');
    expect(parseEntry(held)).toEqual({
      kind: 'held',
      fence: 7n,
      expiresAt: 1235,
      boot: 'abc123',
      token: 'tok=en_1-x',
    });
    expect(isStateEntry(held)).toBe(true);
    expect(isStateEntry('w')).toBe(false);
  });

  it('rejects malformed entries', () => {
    for (const name of ['f.', 'f.01', 'f.-1', 'h.1.2.b', 'h.1.x.b.t', 'x.1', 'w']) {
      expect(parseEntry(name)).toBeUndefined();
    }
  });

  it('key directory names are portable and injective', () => {
    expect(keyDirName('p:coupon:SPRING')).toBe('p+coupon+SPRING');
    expect(keyDirName('a+b')).toBe('a%2Bb');
    expect(keyDirName('a:b')).not.toBe(keyDirName('a+b'));
    expect(keyDirName('../etc')).toBe('%2E%2E%2Fetc');
    expect(keyDirName('é')).toBe('%C3%A9');
    const long = 'k'.repeat(300);
    const name = keyDirName(long);
    expect(name.length).toBeLessThan(255);
    expect(name.startsWith('~')).toBe(true);
    expect(keyDirName(`${long}x`)).not.toBe(name);
    expect(keyDirName('k'.repeat(160))).toBe('k'.repeat(160));
  });
});
