import * as crypto from 'node:crypto';
import { ApiKeyVerifier, keyIdOf } from './api-key-verifier';

// Node's own module namespace cannot be spied on; a pass-through mock records the calls.
jest.mock('node:crypto', () => {
  const actual = jest.requireActual<typeof import('node:crypto')>('node:crypto');
  return { ...actual, timingSafeEqual: jest.fn(actual.timingSafeEqual) };
});
const timingSafeEqual = jest.mocked(crypto.timingSafeEqual);

const ADMIN_A = 'admin-key-aaaaaaaa';
const ADMIN_B = 'admin-key-bbbbbbbb';
const STORE_A = 'store-key-aaaaaaaa';
const STORE_B = 'store-key-bbbbbbbb';

const sha256Prefix = (key: string): string =>
  crypto.createHash('sha256').update(key).digest('hex').slice(0, 12);

describe('ApiKeyVerifier', () => {
  const verifier = new ApiKeyVerifier({
    admin: [ADMIN_A, ADMIN_B],
    storefront: [STORE_A, STORE_B],
  });

  beforeEach(() => timingSafeEqual.mockClear());

  it('recognises every configured key of both roles (rotation lists)', () => {
    expect(verifier.authenticate(ADMIN_A)).toEqual({ role: 'admin', keyId: sha256Prefix(ADMIN_A) });
    expect(verifier.authenticate(ADMIN_B)).toEqual({ role: 'admin', keyId: sha256Prefix(ADMIN_B) });
    expect(verifier.authenticate(STORE_A)).toEqual({
      role: 'storefront',
      keyId: sha256Prefix(STORE_A),
    });
    expect(verifier.authenticate(STORE_B)).toEqual({
      role: 'storefront',
      keyId: sha256Prefix(STORE_B),
    });
  });

  it('rejects unknown, near-miss, empty and non-string keys', () => {
    expect(verifier.authenticate('nope-nope-nope')).toBeUndefined();
    expect(verifier.authenticate(`${ADMIN_A} `)).toBeUndefined();
    expect(verifier.authenticate(ADMIN_A.slice(0, -1))).toBeUndefined();
    expect(verifier.authenticate(ADMIN_A.toUpperCase())).toBeUndefined();
    expect(verifier.authenticate('')).toBeUndefined();
    expect(verifier.authenticate(undefined)).toBeUndefined();
    expect(verifier.authenticate([ADMIN_A, ADMIN_A])).toBeUndefined();
  });

  it('compares against every configured key, with no early exit on a match', () => {
    verifier.authenticate(ADMIN_A);
    expect(timingSafeEqual).toHaveBeenCalledTimes(4);
    timingSafeEqual.mockClear();
    verifier.authenticate('unknown-key-123');
    expect(timingSafeEqual).toHaveBeenCalledTimes(4);
    for (const [a, b] of timingSafeEqual.mock.calls) {
      expect((a as Buffer).length).toBe(32);
      expect((b as Buffer).length).toBe(32);
    }
  });

  it('gives a key listed under both roles the admin role', () => {
    const both = new ApiKeyVerifier({ admin: [STORE_A], storefront: [STORE_A] });
    expect(both.authenticate(STORE_A)?.role).toBe('admin');
  });

  it('derives keyId as the first 12 hex characters of the SHA-256, never the key itself', () => {
    expect(keyIdOf('test-admin-key-0001')).toBe('14d3bc2edef3');
    expect(keyIdOf(ADMIN_A)).toMatch(/^[0-9a-f]{12}$/);
    expect(keyIdOf(ADMIN_A)).not.toContain('admin');
  });
});
