/**
 * A windowed table's row from a window result: the version column filled from the window.
 */

/**
 * `fields` plus the row version: the events folded into the window so far (`w.count`), which grows
 * with every emission of a window, so the complete result replaces an early one in a
 * ReplacingMergeTree (sinks/clickhouse/table.ts). The column is `version` unless named; it is
 * stored into `fields` (meant to be a fresh object literal), which is returned.
 *
 * @example
 * ```ts
 * tumbling({ sizeMs: 60_000, key: (e) => e.url, aggregate: count() }),
 * map((w) => windowRow(w, { window_start: w.start, url: w.key, views: w.value })),
 * // { window_start, url, views, version: w.count }
 * ```
 */
export function windowRow<R extends object, const V extends string = 'version'>(
  w: { readonly count: number },
  fields: R & { readonly [P in NoInfer<V>]?: never },
  column?: V,
): R & { [P in NoInfer<V>]: number } {
  // Stored into the literal, not spread into a copy: this runs once per emitted row.
  (fields as Record<string, unknown>)[column ?? 'version'] = w.count;
  return fields as R & { [P in V]: number };
}
