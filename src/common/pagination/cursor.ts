import { InvalidCursorError } from '../errors/domain-error';

/**
 * The one cursor idiom of every keyset listing: the last row's sort key, its parts joined by
 * `.`, in base64url. Opaque to clients; each listing decodes only cursors of its own shape.
 */
export function encodeCursor(parts: readonly string[]): string {
  return Buffer.from(parts.join('.')).toString('base64url');
}

/**
 * The parts of a cursor, each checked against its pattern (anchored regular expressions):
 * a cursor of another shape (another listing's, or made up) is 400 INVALID_CURSOR rather than
 * a value that would fail in SQL. Throws InvalidCursorError.
 */
export function decodeCursor(cursor: string, patterns: readonly RegExp[]): string[] {
  // Buffer.from skips characters outside base64url, so "AB!C" would decode like "ABC".
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) throw new InvalidCursorError();
  const parts = Buffer.from(cursor, 'base64url').toString().split('.');
  if (
    parts.length !== patterns.length ||
    parts.some((part, index) => !patterns[index]?.test(part))
  ) {
    throw new InvalidCursorError();
  }
  return parts;
}

/** created_at in microseconds since the epoch, up to 16 digits (year 2286). */
export const MICROSECONDS_PATTERN = /^\d{1,16}$/;
export const UUID_PATTERN = /^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/;

/**
 * A page from rows read with `LIMIT limit + 1` (the one idiom of every listing): the first
 * `limit` rows, and the last of them when the extra row proves another page follows. A full
 * last page therefore has no next cursor, instead of one that leads to an empty page.
 */
export function pageOf<Row>(rows: readonly Row[], limit: number): { rows: Row[]; last?: Row } {
  const page = rows.slice(0, limit);
  return rows.length > limit ? { rows: page, last: page[page.length - 1] } : { rows: page };
}
