/**
 * Key handling: user keys (`coupon:SPRING`) are normalised here and mapped to Redis names.
 * Kept free of I/O so it can be unit tested exhaustively.
 */

export type KeyInput = string | readonly string[];

/** Trimmed, de-duplicated and sorted, so every caller takes multi-key locks in the same order. */
export function normalizeKeys(input: KeyInput): readonly string[] {
  if (typeof input === 'string') {
    const key = input.trim();
    if (key.length === 0) throw new TypeError('lock keys must not be empty');
    return Object.freeze([key]);
  }
  const list: readonly unknown[] = typeof input === 'string' ? [input] : input;
  if (!Array.isArray(list) || list.length === 0) {
    throw new TypeError('lock keys must be a non-empty string or array of strings');
  }
  const unique = new Set<string>();
  for (const raw of list) {
    if (typeof raw !== 'string') throw new TypeError('lock keys must be strings');
    const key = raw.trim();
    if (key.length === 0) throw new TypeError('lock keys must not be empty');
    unique.add(key);
  }
  // Plain code-unit order: locale-independent, so two processes always agree on it.
  return Object.freeze([...unique].sort(compareCodeUnits));
}

function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Braces would change which part of the name Redis Cluster hashes, so they (and `%`, to keep the
 * mapping injective) are percent-encoded before the key is placed inside our own hash tag.
 */
export function encodeKey(key: string): string {
  // Hot path: almost no key contains these characters.
  if (!key.includes('{') && !key.includes('}') && !key.includes('%')) return key;
  return key.replace(/[%{}]/g, (c) => (c === '%' ? '%25' : c === '{' ? '%7B' : '%7D'));
}

export class KeyNames {
  constructor(readonly prefix: string) {
    if (/[{}]/.test(prefix)) {
      // A brace in the prefix could become the hash tag and split lock and fence across slots.
      throw new TypeError('lock keyPrefix must not contain "{" or "}"');
    }
  }

  lock(key: string): string {
    return `${this.prefix}lock:{${encodeKey(key)}}`;
  }

  fence(key: string): string {
    return `${this.prefix}fence:{${encodeKey(key)}}`;
  }

  /** Set (with a short ttl) by blocked attempts: releases publish only when it exists. */
  wait(key: string): string {
    return `${this.prefix}wait:{${encodeKey(key)}}`;
  }

  /** One wake-up channel per key: waiters subscribe only to what they wait for. */
  channel(key: string): string {
    return `${this.prefix}wake:{${encodeKey(key)}}`;
  }
}

const FAMILY_PATTERN = /^[A-Za-z0-9_.-]{1,32}$/;

/** Text before the first `:` (the whole key when there is none); odd values collapse to `other`. */
export function keyFamily(key: string): string {
  const colon = key.indexOf(':');
  const family = colon === -1 ? key : key.slice(0, colon);
  return FAMILY_PATTERN.test(family) ? family : 'other';
}

const MAX_FAMILIES_PER_LABEL = 4;

/** Metric label for a (normalised) key set: sorted unique families joined by `+`, bounded. */
export function familyLabel(keys: readonly string[]): string {
  if (keys.length === 1) return keyFamily(keys[0]);
  const families = [...new Set(keys.map(keyFamily))].sort(compareCodeUnits);
  if (families.length > MAX_FAMILIES_PER_LABEL) return 'mixed';
  return families.join('+');
}

// CRC16/XMODEM, the checksum Redis Cluster uses for key slots.
const CRC16_TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1;
    }
    table[i] = crc & 0xffff;
  }
  return table;
})();

export function crc16(data: Uint8Array): number {
  let crc = 0;
  for (const byte of data) {
    crc = ((crc << 8) ^ CRC16_TABLE[((crc >> 8) ^ byte) & 0xff]) & 0xffff;
  }
  return crc;
}

/** Redis Cluster slot of a key name, honouring the first non-empty `{...}` hash tag. */
export function clusterSlot(name: string): number {
  const open = name.indexOf('{');
  let hashed = name;
  if (open !== -1) {
    const close = name.indexOf('}', open + 1);
    if (close > open + 1) hashed = name.slice(open + 1, close);
  }
  return crc16(Buffer.from(hashed, 'utf8')) % 16384;
}
