/**
 * Redis names for user keys. A key's lock, fence and wait flag share one hash tag, so they live
 * in the same Redis Cluster slot and one script can touch all three.
 */

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
