import { randomBytes } from 'node:crypto';

/**
 * The symbols of a generated code's random part: digits and upper-case letters without the
 * ones people misread when they type a code off a card or a screen (0/O, 1/I/L). 31 symbols.
 */
export const CODE_ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';

/**
 * Length of the random part. 31^12 ≈ 7.9e17 (≈ 59 bits): even with ten million codes under
 * one prefix, a new code collides with one of them with probability ≈ 1.3e-11, and a
 * collision is caught by the unique constraint and regenerated (CouponsService.createBatch).
 */
export const CODE_SUFFIX_LENGTH = 12;

/**
 * The largest multiple of the alphabet's size that fits a byte: bytes at or above it are
 * dropped, so every symbol is equally likely (rejection sampling; `byte % 31` alone would
 * favour the first eight symbols).
 */
const UNBIASED_BYTE_LIMIT = 256 - (256 % CODE_ALPHABET.length);

/**
 * `count` distinct codes `prefix + 12 random symbols` from CODE_ALPHABET, drawn from the
 * operating system's CSPRNG, none of them in `exclude` (codes an earlier round already tried).
 */
export function randomCodes(prefix: string, count: number, exclude: ReadonlySet<string>): string[] {
  const codes = new Set<string>();
  while (codes.size < count) {
    // One buffer per round; ~3 % of bytes are rejected, so ask for a little more than needed.
    const missing = count - codes.size;
    const bytes = randomBytes(Math.ceil(missing * CODE_SUFFIX_LENGTH * 1.1) + CODE_SUFFIX_LENGTH);
    let suffix = '';
    for (const byte of bytes) {
      if (byte >= UNBIASED_BYTE_LIMIT) continue;
      suffix += CODE_ALPHABET[byte % CODE_ALPHABET.length];
      if (suffix.length < CODE_SUFFIX_LENGTH) continue;
      const code = prefix + suffix;
      suffix = '';
      if (!exclude.has(code)) codes.add(code);
      if (codes.size === count) break;
    }
  }
  return [...codes];
}
