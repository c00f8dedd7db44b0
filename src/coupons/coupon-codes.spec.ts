import { CODE_ALPHABET, CODE_SUFFIX_LENGTH, randomCodes } from './coupon-codes';

describe('randomCodes', () => {
  it('has an alphabet of 31 symbols without 0/O and 1/I/L', () => {
    expect(CODE_ALPHABET).toHaveLength(31);
    expect(new Set(CODE_ALPHABET).size).toBe(31);
    expect(CODE_ALPHABET).not.toMatch(/[01OIL]/);
    expect(CODE_ALPHABET).toMatch(/^[2-9A-Z]+$/);
  });

  it('makes `count` distinct codes: the prefix, then 12 symbols of the alphabet', () => {
    const codes = randomCodes('SPRING-', 5000, new Set());
    expect(codes).toHaveLength(5000);
    expect(new Set(codes).size).toBe(5000);
    const shape = new RegExp(`^SPRING-[${CODE_ALPHABET}]{${CODE_SUFFIX_LENGTH}}$`);
    expect(codes.filter((code) => !shape.test(code))).toEqual([]);
  });

  it('uses every symbol about equally often (no modulo bias)', () => {
    const symbols = randomCodes('', 10_000, new Set()).join('');
    const counts = new Map<string, number>();
    for (const symbol of symbols) counts.set(symbol, (counts.get(symbol) ?? 0) + 1);
    expect(counts.size).toBe(31);
    // 120,000 symbols: 3871 expected each, standard deviation ≈ 61. `byte % 31` without
    // rejection would give the first eight symbols 9/256 each and the rest 8/256: 12.5 % more.
    // The two groups of eight differ by 0.7 % at one standard deviation; 6 % is ~9 of them.
    const expected = symbols.length / 31;
    for (const count of counts.values()) expect(Math.abs(count - expected)).toBeLessThan(400);
    const first = [...CODE_ALPHABET.slice(0, 8)].reduce((sum, s) => sum + (counts.get(s) ?? 0), 0);
    const last = [...CODE_ALPHABET.slice(8, 16)].reduce((sum, s) => sum + (counts.get(s) ?? 0), 0);
    expect(Math.abs(first - last) / (8 * expected)).toBeLessThan(0.06);
  });

  it('never returns a code it is told to exclude', () => {
    const earlier = randomCodes('X', 1000, new Set());
    const excluded = new Set(earlier);
    const again = randomCodes('X', 1000, excluded);
    expect(again.filter((code) => excluded.has(code))).toEqual([]);
  });
});
