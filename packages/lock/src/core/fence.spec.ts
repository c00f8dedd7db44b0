import { compareFences, isFence, isNewerFence, maxFence } from './fence';

describe('fences', () => {
  it('compares exactly beyond 2^53', () => {
    const a = '9007199254740992'; // 2^53
    const b = '9007199254740993'; // 2^53 + 1, equal to a as a JS number
    expect(Number(a)).toBe(Number(b));
    expect(compareFences(a, b)).toBeLessThan(0);
    expect(compareFences(b, a)).toBeGreaterThan(0);
    expect(compareFences(b, b)).toBe(0);
  });

  it('compares numerically, not lexicographically', () => {
    expect(compareFences('9', '10')).toBeLessThan(0);
    expect(compareFences('100', '99')).toBeGreaterThan(0);
  });

  it('isNewerFence treats a missing previous fence as older', () => {
    expect(isNewerFence('1', null)).toBe(true);
    expect(isNewerFence('1', undefined)).toBe(true);
    expect(isNewerFence('5', '5')).toBe(false);
    expect(isNewerFence('18446744073709551617', '18446744073709551616')).toBe(true);
  });

  it('maxFence picks the numeric maximum', () => {
    expect(maxFence(['9', '10', '2'])).toBe('10');
    expect(maxFence([])).toBeUndefined();
  });

  it('recognises canonical decimal strings only', () => {
    expect(isFence('0')).toBe(true);
    expect(isFence('1795238721070211')).toBe(true);
    expect(isFence('01')).toBe(false);
    expect(isFence('-1')).toBe(false);
    expect(isFence('1e5')).toBe(false);
    expect(isFence(12)).toBe(false);
  });
});
