import { DomainError } from '../common/errors/domain-error';
import { canonicalJson, parseIdempotencyKey, requestFingerprint } from './fingerprint';

describe('canonicalJson', () => {
  it('sorts object keys at every depth and keeps array order', () => {
    expect(canonicalJson({ z: null, a: { e: 5, b: 2, c: [3, { e: 5, d: 4 }] } })).toBe(
      '{"a":{"b":2,"c":[3,{"d":4,"e":5}],"e":5},"z":null}',
    );
    expect(canonicalJson([3, 1, 2])).toBe('[3,1,2]');
  });

  it('follows JSON.stringify for scalars, escaping and missing values', () => {
    expect(canonicalJson('a"b\n')).toBe('"a\\"b\\n"');
    expect(canonicalJson({ 'k"': 1 })).toBe('{"k\\"":1}');
    expect(canonicalJson(1.5)).toBe('1.5');
    expect(canonicalJson(true)).toBe('true');
    expect(canonicalJson(Number.NaN)).toBe('null');
    expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}');
    expect(canonicalJson([undefined])).toBe('[null]');
    expect(canonicalJson({})).toBe('{}');
    expect(canonicalJson(null)).toBe('null');
    expect(canonicalJson(undefined)).toBe('');
  });

  it('equals JSON.stringify of an already-sorted value', () => {
    const value = { a: [1, 'two', { b: false }], c: { d: 'é\u2028' } };
    expect(canonicalJson(value)).toBe(JSON.stringify(value));
  });
});

describe('requestFingerprint', () => {
  it('is the SHA-256 hex of method, space, url, newline and canonical body', () => {
    expect(
      requestFingerprint('POST', '/v1/products/A/decrement?x=1', {
        z: null,
        a: { c: [3, { e: 5, d: 4 }], b: 2 },
      }),
    ).toBe('e39b5a1ac863bbadcb31033c35b11034e9910fc26f275d5ad6ad9a3de552f41f');
    expect(requestFingerprint('POST', '/v1/x', undefined)).toBe(
      'c6c027f8ca0a4e185b2e018d901a9cdd3f54fce6c81a54007418c8f26a38090b',
    );
  });

  it('ignores key order and formatting, but not values, methods, paths or queries', () => {
    const fp = (url: string, body: unknown, method = 'POST'): string =>
      requestFingerprint(method, url, body);
    const base = fp('/v1/p/A/decrement', { quantity: 1, reference: 'r' });
    expect(fp('/v1/p/A/decrement', { reference: 'r', quantity: 1 })).toBe(base);
    expect(fp('/v1/p/A/decrement', { quantity: 2, reference: 'r' })).not.toBe(base);
    expect(fp('/v1/p/B/decrement', { quantity: 1, reference: 'r' })).not.toBe(base);
    expect(fp('/v1/p/A/decrement?dry=1', { quantity: 1, reference: 'r' })).not.toBe(base);
    expect(fp('/v1/p/A/decrement', { quantity: 1, reference: 'r' }, 'PATCH')).not.toBe(base);
    expect(fp('/v1/x', {})).not.toBe(fp('/v1/x', undefined));
  });
});

describe('parseIdempotencyKey', () => {
  const rejects = (header: string | string[]): void => {
    let thrown: unknown;
    try {
      parseIdempotencyKey(header);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(DomainError);
    expect((thrown as DomainError).code).toBe('INVALID_IDEMPOTENCY_KEY');
    expect((thrown as DomainError).status).toBe(400);
  };

  it('is undefined when no header was sent', () => {
    expect(parseIdempotencyKey(undefined)).toBeUndefined();
  });

  it('accepts 1 to 255 visible ASCII characters as they are', () => {
    expect(parseIdempotencyKey('a')).toBe('a');
    expect(parseIdempotencyKey('x'.repeat(255))).toBe('x'.repeat(255));
    expect(parseIdempotencyKey('550e8400-e29b-41d4-a716-446655440000')).toBe(
      '550e8400-e29b-41d4-a716-446655440000',
    );
    expect(parseIdempotencyKey('!~"{}')).toBe('!~"{}');
  });

  it('rejects empty, too long, spaces, control and non-ASCII characters, and repeats', () => {
    rejects('');
    rejects('x'.repeat(256));
    rejects('a b');
    rejects(' a');
    rejects('a\tb');
    rejects('\u007f');
    rejects('clé');
    rejects('k1, k2');
    rejects(['k1', 'k2']);
  });
});
