import { clusterSlot, crc16, encodeKey, KeyNames } from './key-names';

describe('KeyNames', () => {
  const names = new KeyNames('couponlock:');

  it('builds lock, fence and channel names around one hash tag', () => {
    expect(names.lock('coupon:X')).toBe('couponlock:lock:{coupon:X}');
    expect(names.fence('coupon:X')).toBe('couponlock:fence:{coupon:X}');
    expect(names.channel('coupon:X')).toBe('couponlock:wake:{coupon:X}');
  });

  it('puts lock and fence of a key in the same cluster slot, even with braces in the key', () => {
    for (const key of ['coupon:X', '}x', '{', 'a{b}c', '{}', 'x}{y', '%7B', 'ü{ñ}']) {
      expect(clusterSlot(names.lock(key))).toBe(clusterSlot(names.fence(key)));
    }
  });

  it('encodes braces and percent injectively', () => {
    expect(encodeKey('a{b}c%')).toBe('a%7Bb%7Dc%25');
    expect(encodeKey('{')).not.toBe(encodeKey('%7B'));
    expect(names.lock('{')).not.toBe(names.lock('%7B'));
  });

  it('rejects a prefix with braces (it would hijack the hash tag)', () => {
    expect(() => new KeyNames('app{1}:')).toThrow(TypeError);
    expect(() => new KeyNames('app{')).toThrow(TypeError);
  });
});

describe('cluster slots', () => {
  it('implements CRC16/XMODEM', () => {
    expect(crc16(Buffer.from('123456789'))).toBe(0x31c3);
  });

  it('matches Redis CLUSTER KEYSLOT', () => {
    expect(clusterSlot('somekey')).toBe(11058);
    expect(clusterSlot('foo{hash_tag}')).toBe(2515);
    expect(clusterSlot('bar{hash_tag}')).toBe(2515);
    expect(clusterSlot('foo')).toBe(12182);
  });

  it('follows the hash tag rules', () => {
    expect(clusterSlot('{user1000}.following')).toBe(clusterSlot('{user1000}.followers'));
    expect(clusterSlot('foo{bar}{zap}')).toBe(clusterSlot('bar'));
    expect(clusterSlot('foo{{bar}}zap')).toBe(clusterSlot('{bar'));
    // An empty tag means the whole name is hashed.
    expect(clusterSlot('foo{}{bar}')).toBe(crc16(Buffer.from('foo{}{bar}')) % 16384);
  });
});
