import { familyLabel, keyFamily, normalizeKeys } from './keys';

describe('normalizeKeys', () => {
  it('trims, de-duplicates and sorts', () => {
    expect(normalizeKeys([' sku:B', 'coupon:X ', 'sku:A', 'sku:B'])).toEqual([
      'coupon:X',
      'sku:A',
      'sku:B',
    ]);
  });

  it('accepts a single string', () => {
    expect(normalizeKeys('  coupon:X  ')).toEqual(['coupon:X']);
  });

  it('orders by code unit, independent of locale', () => {
    expect(normalizeKeys(['b', 'B', 'a', 'é', 'Z'])).toEqual(['B', 'Z', 'a', 'b', 'é']);
  });

  it('gives the same order whatever the input order', () => {
    expect(normalizeKeys(['b', 'a'])).toEqual(normalizeKeys(['a', 'b']));
  });

  it('returns a frozen array', () => {
    expect(Object.isFrozen(normalizeKeys(['a']))).toBe(true);
  });

  it.each([[[]], [['']], [['  ']], [['a', '']]])('rejects empty input %j', (input) => {
    expect(() => normalizeKeys(input)).toThrow(TypeError);
  });

  it('rejects non-strings', () => {
    expect(() => normalizeKeys([1 as unknown as string])).toThrow(TypeError);
  });
});

describe('metric families', () => {
  it('takes the text before the first colon', () => {
    expect(keyFamily('coupon:SPRING:2025')).toBe('coupon');
    expect(keyFamily('sku:A')).toBe('sku');
    expect(keyFamily('global')).toBe('global');
  });

  it('collapses odd or long families to other', () => {
    expect(keyFamily(':x')).toBe('other');
    expect(keyFamily('has space:x')).toBe('other');
    expect(keyFamily(`${'x'.repeat(33)}:y`)).toBe('other');
  });

  it('joins sorted unique families with +', () => {
    expect(familyLabel(['sku:A', 'coupon:X', 'sku:B'])).toBe('coupon+sku');
    expect(familyLabel(['coupon:X'])).toBe('coupon');
  });

  it('is bounded for many families', () => {
    expect(familyLabel(['a:1', 'b:1', 'c:1', 'd:1'])).toBe('a+b+c+d');
    expect(familyLabel(['a:1', 'b:1', 'c:1', 'd:1', 'e:1'])).toBe('mixed');
  });
});
