import { createHash } from 'node:crypto';
import { InvalidIdempotencyKeyError } from './idempotency.errors';

/** RFC draft-ietf-httpapi-idempotency-key-header leaves the syntax open; we take visible ASCII. */
const VALID_KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * The key a client sent, undefined when it sent none. Repeated headers arrive joined with
 * ", " (or as an array) and are rejected like any other malformed key.
 */
export function parseIdempotencyKey(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (typeof header !== 'string' || !VALID_KEY.test(header)) {
    throw new InvalidIdempotencyKeyError();
  }
  return header;
}

/**
 * JSON with object keys sorted at every depth and no whitespace, so two bodies that differ
 * only in key order or formatting fingerprint alike. Follows JSON.stringify otherwise
 * (undefined members dropped, non-finite numbers as null); a missing body is the empty string.
 */
export function canonicalJson(value: unknown): string {
  return canonical(value) ?? '';
}

function canonical(value: unknown): string | undefined {
  if (value === null) return 'null';
  if (typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return canonical((value as { toJSON: () => unknown }).toJSON());
  }
  if (Array.isArray(value)) {
    return `[${value.map((item) => canonical(item) ?? 'null').join(',')}]`;
  }
  if (typeof value === 'object') {
    const members: string[] = [];
    for (const key of Object.keys(value).sort()) {
      const member = canonical((value as Record<string, unknown>)[key]);
      if (member !== undefined) members.push(`${JSON.stringify(key)}:${member}`);
    }
    return `{${members.join(',')}}`;
  }
  // Strings, numbers, booleans; undefined, functions and symbols give undefined, as in JSON.
  // The lib typing says string, but JSON.stringify returns undefined for those.
  const json: string | undefined = JSON.stringify(value);
  return json;
}

/**
 * SHA-256 (hex) of what makes two requests "the same": the method, the concrete URL (query
 * included) and the canonical body. A key is scoped per API key across routes, so the same
 * key sent to another route (or with another method) fingerprints differently and is refused.
 */
export function requestFingerprint(method: string, url: string, body: unknown): string {
  return createHash('sha256')
    .update(`${method} ${url}`)
    .update('\n')
    .update(canonicalJson(body))
    .digest('hex');
}
