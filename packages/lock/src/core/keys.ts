/**
 * User keys (`coupon:SPRING`): normalised here, the same way for every backend, so every caller
 * takes a multi-key lock in the same order. Kept free of I/O so it can be tested exhaustively.
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
