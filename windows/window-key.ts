/**
 * Window keys: a string or a number, or a composite of them, a tuple (`[e.category, e.url]`) or a
 * record (`{ category, url }`). The engines, their snapshots and the fingerprints in state/ hold
 * a composite key as one string, its JSON after a marker character; the results carry it back
 * unpacked. Primitive keys are held as they are, so checkpoints of primitive keys read as before.
 */

/** One part of a window key. */
export type KeyPart = string | number;
/** What a window's `key` returns: a part, a tuple of parts, or a record of parts. */
export type WindowKey = KeyPart | readonly [] | readonly KeyPart[] | { readonly [field: string]: KeyPart };
/** How the engines hold a key. */
export type HeldKey = string | number;

/**
 * Starts every held composite key: a control character no key is expected to begin with. A string
 * key that does begin with it is held as composite too (the JSON of the string), so it reads back
 * as itself.
 */
const MARK = '\u0001';
const MARK_CODE = 1;

/**
 * The key function the engines run: `key`'s value, composite ones as marked JSON. Parts keep their
 * order (a record's fields in the order `key` writes them); JSON has no NaN or ±Infinity (they
 * become null) nor -0 (0).
 */
export function heldKey<T>(key: (event: T) => WindowKey): HeldKeyFunction<T> {
  const held: HeldKeyFunction<T> = (event) => {
    const k = key(event);
    if (typeof k === 'number' || typeof k === 'string') {
      if (held.composite === undefined) held.composite = false;
      return typeof k === 'string' && k.charCodeAt(0) === MARK_CODE ? MARK + JSON.stringify(k) : k;
    }
    if (held.composite === undefined) held.composite = true;
    return MARK + JSON.stringify(k);
  };
  return held;
}

/** A key function as the engines run it (see `heldKey`). */
export interface HeldKeyFunction<T> {
  (event: T): HeldKey;
  /**
   * Whether `key` returns tuples or records (true) or strings and numbers (false), once it returned
   * one: a window whose key is composite and whose result has a plain key restored it from a
   * checkpoint of a pipeline keyed otherwise.
   */
  composite?: boolean;
}

/**
 * The key of a result as `key` returned it. Throws for a plain (unpacked) key of a window whose
 * key function is composite: state restored from a checkpoint taken when the key was a string (a
 * packed `${a}\t${b}`, say), which cannot be read as a tuple or record.
 */
export function resultKey(held: HeldKey, key: HeldKeyFunction<never> | undefined, stage: string): WindowKey {
  if (isPacked(held)) return unpackKey(held);
  if (key?.composite === true) {
    throw new Error(
      `${stage}: a window restored from the checkpoint has the key ${JSON.stringify(held)}, but this pipeline keys the window by a tuple or record; ` +
        'the key changed since the checkpoint: reset the pipeline (rxa reset), or keep the old key until its windows are closed',
    );
  }
  return held;
}

/** The inverse of `heldKey`: a held key back as `key` returned it (a fresh tuple or record each time). */
export function unpackKey(held: HeldKey): WindowKey {
  return typeof held === 'string' && held.charCodeAt(0) === MARK_CODE ? (JSON.parse(held.slice(1)) as WindowKey) : held;
}

/** Whether a held key is composite (or a marked string): results must unpack it. */
export function isPacked(held: HeldKey): boolean {
  return typeof held === 'string' && held.charCodeAt(0) === MARK_CODE;
}
