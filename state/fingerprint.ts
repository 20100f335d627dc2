/**
 * 64-bit fingerprints of keys: what dedupe, `distinct` and the session operators hold and compare
 * instead of the keys' strings (flat typed arrays the GC never looks into; see FingerprintIndex,
 * FingerprintSet).
 *
 * Two different strings share a fingerprint with probability ~2^-64 per pair: with a million ids
 * held, a new id is mistaken for a held one about once in 2 * 10^13 lookups.
 */

/** Writes the 64-bit fingerprint of `key` into `out[0]` (high) and `out[1]` (low); never 0:0. */
export function fingerprint(key: string, out: Uint32Array): void {
  // Two 32-bit multiplicative lanes mixed together at the end (cyrb53's construction, kept at 64 bits).
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  out[0] = h1;
  out[1] = h2 === 0 && h1 === 0 ? 1 : h2; // 0:0 marks an empty slot
}

/**
 * The fingerprint of the last value asked for. Every `distinct` and session key lookup shares it:
 * one event's user id is added to a hopping window's overlapping windows, to several distinct
 * counts and looked up as a session key in a row.
 */
const lastFingerprint = new Uint32Array(2);
let lastValue: string | number | undefined;

/** `v`'s fingerprint (valid until the next call). A number's differs from its string form's, so 1 and '1' stay apart. */
export function fingerprintValue(v: string | number): Uint32Array {
  if (v === lastValue) return lastFingerprint;
  const out = lastFingerprint;
  if (typeof v === 'string') {
    fingerprint(v, out);
  } else {
    fingerprint(String(v), out);
    out[0] = out[0]! ^ 0x9e3779b9;
    if (out[0] === 0 && out[1] === 0) out[1] = 1; // 0:0 marks an empty slot
  }
  lastValue = v;
  return out;
}

/** The power-of-two slot count, at least `min`, that holds `expected` fingerprints under the 0.75 load limit. */
export function capacityFor(expected: number, min: number): number {
  let capacity = min;
  while (capacity * 0.75 < expected) capacity *= 2;
  return capacity;
}
