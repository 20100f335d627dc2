import { fingerprintValue } from '../state/fingerprint.ts';
import { FingerprintSet } from '../state/fingerprint-set.ts';
import { decodeColumn, isEncodedColumn, TypedColumn, uint32s } from '../state/typed-columns.ts';
import type { Aggregator } from './aggregator.ts';
import { distinctPanes } from './distinct-panes.ts';

/**
 * Number of distinct values; `undefined` is skipped. Exact up to 64-bit fingerprint collisions, as
 * ClickHouse's `uniqExact` is up to its hash's: values are remembered by fingerprint (8 bytes
 * each, in a typed array), and two different values count once with probability ~2^-64 per pair
 * (for a million distinct values in one window, about one window in 3·10^7 is one short).
 * Memory grows with the number of distinct values.
 * @example `distinct((e: ClickEvent) => e.user_id)`
 */
export function distinct<T>(value: (event: T) => string | number | undefined): Aggregator<T, FingerprintSet, number> {
  return {
    init: () => new FingerprintSet(),
    add: (set, e) => {
      const v = value(e);
      if (v === undefined) return set;
      const fp = fingerprintValue(v);
      set.add(fp[0]!, fp[1]!);
      return set;
    },
    merge: (a, b) => {
      a.addAll(b);
      return a;
    },
    result: (set) => set.size,
    toJSON: (set) => ({ fingerprints: new TypedColumn(set.toPairs()) }),
    fromJSON: (json) => {
      const fingerprints = typeof json === 'object' && json !== null ? (json as { fingerprints?: unknown }).fingerprints : undefined;
      if (isEncodedColumn(fingerprints)) {
        const pairs = decodeColumn(fingerprints, uint32s, 4, 'distinct: truncated fingerprints');
        if (pairs.length % 2 !== 0) throw new Error('distinct: truncated fingerprints');
        return FingerprintSet.fromPairs(pairs);
      }
      throw new Error('distinct: expected { fingerprints }');
    },
    panes: distinctPanes(value),
  };
}
