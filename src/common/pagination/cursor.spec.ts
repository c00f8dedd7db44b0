import { InvalidCursorError } from '../errors/domain-error';
import { decodeCursor, encodeCursor, MICROSECONDS_PATTERN, pageOf, UUID_PATTERN } from './cursor';

const ID = '3f0c9e2a-7b1d-4e5f-a6b7-c8d9e0f1a2b3';

describe('keyset cursors', () => {
  it('round-trips the parts of a sort key', () => {
    const cursor = encodeCursor(['1764500000000000', ID]);
    expect(decodeCursor(cursor, [MICROSECONDS_PATTERN, UUID_PATTERN])).toEqual([
      '1764500000000000',
      ID,
    ]);
  });

  it.each([
    ['characters outside base64url (which Buffer would skip)', `${encodeCursor(['1', ID])}!`],
    ['an empty cursor', ''],
    ['over 200 characters', 'A'.repeat(201)],
    ['too few parts', encodeCursor(['1'])],
    ['a part off its pattern', encodeCursor(['1', 'not-a-uuid'])],
  ])('refuses %s with INVALID_CURSOR', (_name, cursor) => {
    expect(() => decodeCursor(cursor, [MICROSECONDS_PATTERN, UUID_PATTERN])).toThrow(
      InvalidCursorError,
    );
  });
});

describe('pageOf (rows read with LIMIT limit + 1)', () => {
  it('has a last row only when the extra row proves another page follows', () => {
    expect(pageOf([1, 2, 3], 2)).toEqual({ rows: [1, 2], last: 2 });
    expect(pageOf([1, 2], 2)).toEqual({ rows: [1, 2] });
    expect(pageOf([1], 2)).toEqual({ rows: [1] });
    expect(pageOf([], 2)).toEqual({ rows: [] });
  });
});
