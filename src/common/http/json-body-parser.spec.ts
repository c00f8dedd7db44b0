import { MAX_BODY_DEPTH, nestingExceeds } from './json-body-parser';

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
