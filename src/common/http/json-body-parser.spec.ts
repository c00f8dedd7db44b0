import { holdsNul, MAX_BODY_DEPTH, nestingExceeds } from './json-body-parser';

/** `depth` arrays inside each other: `[[...]]`. */
const nested = (depth: number): unknown => JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`);

describe('nestingExceeds', () => {
  it('counts arrays and objects, not primitives', () => {
    expect(nestingExceeds({ a: 1, b: 'x', c: null }, 1)).toBe(false);
    expect(nestingExceeds({ a: { b: 1 } }, 1)).toBe(true);
    expect(nestingExceeds([{ a: [] }], 2)).toBe(true);
    expect(nestingExceeds([{ a: [] }], 3)).toBe(false);
    expect(nestingExceeds('plain', 0)).toBe(false);
  });

  it('admits exactly MAX_BODY_DEPTH levels and refuses one more', () => {
    expect(nestingExceeds(nested(MAX_BODY_DEPTH), MAX_BODY_DEPTH)).toBe(false);
    expect(nestingExceeds(nested(MAX_BODY_DEPTH + 1), MAX_BODY_DEPTH)).toBe(true);
  });

  it('walks a body nested far deeper than the stack allows without overflowing', () => {
    expect(nestingExceeds(nested(200_000), MAX_BODY_DEPTH)).toBe(true);
  });
});

describe('holdsNul', () => {
  it('finds U+0000 in any string value or key, at any depth', () => {
    expect(holdsNul({ reference: 'ok', lines: [{ sku: 'A', quantity: 1 }] })).toBe(false);
    expect(holdsNul({ reference: 'bad\u0000ref' })).toBe(true);
    expect(holdsNul({ lines: [{ sku: 'A\u0000' }] })).toBe(true);
    expect(holdsNul({ ['k\u0000']: 1 })).toBe(true);
    expect(holdsNul(['\u0000'])).toBe(true);
    expect(holdsNul([1, null, true, undefined, 'x'])).toBe(false);
  });
});
