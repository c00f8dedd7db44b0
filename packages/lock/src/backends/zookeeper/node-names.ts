/**
 * Names of the lock znodes, free of I/O so they can be tested exhaustively.
 *
 *   <root>/<escaped keyPrefix + key>/<token>-<10-digit sequence>
 *
 * The token in the node name is what Curator calls a protected node: after an acquire whose
 * answer was lost (a timeout, a dropped connection), the owner can still find its own nodes among
 * the children and delete them, so a node nobody knows about cannot block the key while the
 * session lives.
 */

const SAFE = /^[A-Za-z0-9:_-]$/;

/**
 * One path segment for a lock key: characters outside `[A-Za-z0-9:_-]` are percent-encoded
 * (UTF-8), so `/` cannot nest, `.`/`..` cannot occur, and characters ZooKeeper rejects in paths
 * never reach it. Injective: two keys never share a parent.
 */
export function escapeSegment(name: string): string {
  let out = '';
  for (const char of name) {
    if (SAFE.test(char)) {
      out += char;
      continue;
    }
    for (const byte of Buffer.from(char, 'utf8')) {
      out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    }
  }
  return out;
}

/** Prefix of the sequential child a token creates; ZooKeeper appends a 10-digit counter. */
export function childPrefix(token: string): string {
  return `${token}-`;
}

/**
 * The parent's sequence number of a child node, or -1 for a name that is not a lock node. The
 * server formats the counter as `%010d`: the last ten characters.
 */
export function sequenceOf(child: string): number {
  const digits = child.slice(-10);
  return child.length > 10 && child[child.length - 11] === '-' && /^[0-9]{10}$/.test(digits)
    ? Number(digits)
    : -1;
}

/** Lock nodes (names) in queue order: ascending sequence; anything else is left out. */
export function queueOrder(children: readonly string[]): string[] {
  return children
    .map((name) => ({ name, seq: sequenceOf(name) }))
    .filter((c) => c.seq >= 0)
    .sort((a, b) => a.seq - b.seq)
    .map((c) => c.name);
}

/** A zxid (8 bytes, big-endian, as the client library hands out stat fields) as decimal. */
export function zxidToDecimal(zxid: Buffer): string {
  if (zxid.length !== 8) throw new RangeError(`a zxid has 8 bytes, got ${zxid.length}`);
  return zxid.readBigUInt64BE(0).toString();
}
