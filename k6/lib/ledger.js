// Reads a whole paginated ledger ({ items, nextCursor }) by following nextCursor until it is null.
// Used by teardown() to compare the ledgers (the source of truth) with the counters.

import { check } from 'k6';
import { get, json } from './api.js';
import { describe } from './classify.js';

const PAGE_LIMIT = 500; // the API's maximum page size
const MAX_PAGES = 10000; // a guard against a server that keeps handing out cursors

function queryString(params) {
  const parts = [];
  Object.keys(params).forEach((key) => {
    const value = params[key];
    if (value !== undefined && value !== null && value !== '') {
      parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`);
    }
  });
  return parts.join('&');
}

// path:   e.g. '/v1/coupons/ABC/redemptions'
// query:  extra query parameters, e.g. { status: 'active' }
// opts.name  route template for the `name` tag, e.g. 'GET /v1/coupons/:code/redemptions'
// opts.label short text for check names and errors, e.g. 'active redemptions'
// Returns { ok, items, pages, error }. ok is false if any page failed; items holds what was read.
export function readLedger(path, query, opts) {
  const o = opts || {};
  const label = o.label || 'ledger';
  const items = [];
  const seenCursors = {};
  let cursor = null;
  let pages = 0;
  for (;;) {
    const params = Object.assign({}, query || {}, { limit: PAGE_LIMIT });
    if (cursor !== null) params.cursor = cursor;
    const res = get(`${path}?${queryString(params)}`, {
      admin: true,
      name: o.name,
      index: o.index,
    });
    const body = json(res);
    const ok = check(res, {
      [`${label}: page is 200 with items[] and nextCursor`]: (r) =>
        r.status === 200 &&
        body !== null &&
        Array.isArray(body.items) &&
        // nextCursor is a string, or null on the last page (a missing key is read as null).
        (body.nextCursor === undefined ||
          body.nextCursor === null ||
          typeof body.nextCursor === 'string'),
    });
    if (!ok) {
      return {
        ok: false,
        items,
        pages,
        error: `${label}: page ${pages + 1}: ${describe(res, body)}`,
      };
    }
    for (let i = 0; i < body.items.length; i++) items.push(body.items[i]);
    pages += 1;
    if (!body.nextCursor) return { ok: true, items, pages };
    if (seenCursors[body.nextCursor] || pages >= MAX_PAGES) {
      return {
        ok: false,
        items,
        pages,
        error: `${label}: pagination does not terminate (cursor ${body.nextCursor} repeated or ${MAX_PAGES} pages)`,
      };
    }
    seenCursors[body.nextCursor] = true;
    cursor = body.nextCursor;
  }
}

// Counts occurrences of key(item) and returns the keys seen more than once (with their counts).
export function duplicates(items, key) {
  const counts = {};
  items.forEach((item) => {
    const k = String(key(item));
    counts[k] = (counts[k] || 0) + 1;
  });
  const dups = [];
  Object.keys(counts).forEach((k) => {
    if (counts[k] > 1) dups.push(`${k} x${counts[k]}`);
  });
  return dups;
}

export function distinctCount(items, key) {
  const seen = {};
  let n = 0;
  items.forEach((item) => {
    const k = String(key(item));
    if (!seen[k]) {
      seen[k] = true;
      n += 1;
    }
  });
  return n;
}
