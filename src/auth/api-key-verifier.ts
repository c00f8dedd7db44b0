import { createHash, timingSafeEqual } from 'node:crypto';
import type { Principal, Role } from './principal';

export const API_KEY_HEADER = 'x-api-key';

export interface ApiKeyLists {
  admin: readonly string[];
  storefront: readonly string[];
}

interface KnownKey {
  digest: Buffer;
  principal: Principal;
}

const sha256 = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/** The non-secret id of a key that logs and idempotency scopes may carry. */
export function keyIdOf(apiKey: string): string {
  return sha256(apiKey).toString('hex').slice(0, 12);
}

/**
 * Decides who an API key belongs to. Only SHA-256 digests of the configured keys are kept.
 * Comparing digests rather than raw keys gives equal-length inputs for timingSafeEqual, so
 * neither a key's length nor its common prefix with a guess shows up in response times.
 */
export class ApiKeyVerifier {
  private readonly known: readonly KnownKey[];

  constructor(lists: ApiKeyLists) {
    const entries = (role: Role, keys: readonly string[]): KnownKey[] =>
      keys.map((key) => ({ digest: sha256(key), principal: { role, keyId: keyIdOf(key) } }));
    // Admin first: a key listed under both roles gets the stronger one.
    this.known = [...entries('admin', lists.admin), ...entries('storefront', lists.storefront)];
  }

  /** The principal for a presented key, or undefined when it is missing or unknown. */
  authenticate(presented: unknown): Principal | undefined {
    if (typeof presented !== 'string' || presented.length === 0) return undefined;
    const digest = sha256(presented);
    let match: Principal | undefined;
    // Every configured key is compared, with no early exit, so the time taken does not reveal
    // which (or whether an earlier) entry matched.
    for (const entry of this.known) {
      const equal = timingSafeEqual(digest, entry.digest);
      if (equal && match === undefined) match = entry.principal;
    }
    return match;
  }
}
