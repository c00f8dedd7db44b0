import { createHash } from 'node:crypto';

/**
 * Names in the lock directory of the `file` backend.
 *
 * Every user key gets a directory of its own (its *key directory*), and that directory holds
 * exactly one *state entry* at any time, whose name is the key's whole state:
 *
 * - `f.<fence>`: free; `<fence>` is the last fence handed out for the key.
 * - `h.<fence>.<expiresAt>.<boot>.<token>`: held by `<token>` with fence `<fence>` until
 *   `<expiresAt>` (ms on the host clock of boot `<boot>`).
 *
 * Every change is one `rename` from the exact name that was read to a new one. A rename whose
 * source is gone fails (ENOENT), so it works as a compare-and-swap on the whole state: of two
 * processes that saw the same state, exactly one moves it on.
 */

export type StateEntry =
  | { readonly kind: 'free'; readonly fence: bigint }
  | {
      readonly kind: 'held';
      readonly fence: bigint;
      /** Host clock (see HostClock), ms. */
      readonly expiresAt: number;
      readonly boot: string;
      /** The token as it appears in the name (see `tokenInName`). */
      readonly token: string;
    };

const DECIMAL = /^(0|[1-9][0-9]*)$/;

/** Tokens are `[A-Za-z0-9:_-]`; `:` becomes `=` so names stay portable and `.` stays a separator. */
export function tokenInName(token: string): string {
  return token.replaceAll(':', '=');
}

export function freeEntry(fence: bigint): string {
  return `f.${fence}`;
}

export function heldEntry(fence: bigint, expiresAt: number, boot: string, token: string): string {
  return `h.${fence}.${Math.ceil(expiresAt)}.${boot}.${tokenInName(token)}`;
}

export function isStateEntry(name: string): boolean {
  return name.startsWith('f.') || name.startsWith('h.');
}

/** Undefined when `name` is not a well-formed state entry. */
export function parseEntry(name: string): StateEntry | undefined {
  const parts = name.split('.');
  if (parts[0] === 'f' && parts.length === 2 && DECIMAL.test(parts[1])) {
    return { kind: 'free', fence: BigInt(parts[1]) };
  }
  if (parts[0] === 'h' && parts.length === 5 && DECIMAL.test(parts[1]) && DECIMAL.test(parts[2])) {
    return {
      kind: 'held',
      fence: BigInt(parts[1]),
      expiresAt: Number(parts[2]),
      boot: parts[3],
      token: parts[4],
    };
  }
  return undefined;
}

/** Longest encoded key kept readable; longer ones are hashed (file names stop at 255 bytes). */
const MAX_PLAIN = 160;

/**
 * The key directory's name for a (prefixed) key: injective and safe on any file system.
 * `[A-Za-z0-9_-]` stay, `:` becomes `+`, every other UTF-8 byte becomes `%XX`. A name longer
 * than 160 characters becomes `~` + its first 80 characters + `~` + the SHA-256 of the key
 * (`~` never appears otherwise, so the two forms cannot collide).
 */
export function keyDirName(key: string): string {
  let out = '';
  for (const byte of Buffer.from(key, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9_-]/.test(c)) out += c;
    else if (c === ':') out += '+';
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  if (out.length <= MAX_PLAIN) return out;
  return `~${out.slice(0, 80)}~${createHash('sha256').update(key, 'utf8').digest('hex')}`;
}
