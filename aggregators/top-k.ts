import type { Aggregator } from './aggregator.ts';
import { statesByPane } from './pane-states.ts';

/** One entry of a {@link topK} result. */
export interface TopKEntry {
  readonly key: string;
  readonly count: number;
}

/**
 * The `k` most frequent values with their exact counts, sorted by count descending then key ascending;
 * `undefined` is skipped. Exact: memory grows with the number of distinct values.
 * @example `topK((e: ClickEvent) => (e.type === 'page_view' ? e.url : undefined), 10)`
 */
export function topK<T>(value: (event: T) => string | undefined, k: number): Aggregator<T, Map<string, Counter>, TopKEntry[]> {
  if (!(Number.isInteger(k) && k >= 1)) throw new Error(`topK: k must be an integer >= 1, got ${k}`);
  const addCount = (counts: Map<string, Counter>, v: string, n: number): void => {
    const counter = counts.get(v);
    if (counter === undefined) counts.set(v, { n });
    else counter.n += n;
  };
  const aggregator: Omit<Aggregator<T, Map<string, Counter>, TopKEntry[]>, 'panes'> = {
    init: () => new Map(),
    add: (counts, e) => {
      const v = value(e);
      if (v !== undefined) addCount(counts, v, 1);
      return counts;
    },
    merge: (a, b) => {
      for (const [v, { n }] of b) addCount(a, v, n);
      return a;
    },
    result: (counts) => {
      const entries: TopKEntry[] = [];
      for (const [key, { n }] of counts) entries.push({ key, count: n });
      entries.sort(byCountThenKey);
      if (entries.length > k) entries.length = k;
      return entries;
    },
    toJSON: (counts) => Array.from(counts, ([v, { n }]) => [v, n]),
    fromJSON: (json) => {
      if (!Array.isArray(json) || !json.every((e) => Array.isArray(e) && typeof e[0] === 'string' && typeof e[1] === 'number')) {
        throw new Error('topK: expected an array of [string, number] pairs');
      }
      const counts = new Map<string, Counter>();
      for (const [v, n] of json as Array<[string, number]>) addCount(counts, v, n);
      return counts;
    },
  };
  // `merge` copies b's counts into a, so a hopping window's panes can be merged into a fresh map.
  return { ...aggregator, panes: statesByPane(aggregator) };
}

/** A count held in an object, so counting an existing key is one Map lookup, not a get and a set. */
interface Counter {
  n: number;
}

function byCountThenKey(a: TopKEntry, b: TopKEntry): number {
  return b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}
