/**
 * Tag for SQL written as an indented block in a definition: drops the first and last line when
 * blank and the indentation common to every line, so the SQL reads the same in Grafana.
 * Interpolation is refused on purpose: panel SQL is fixed text, never assembled from values.
 *
 * @example
 * ```ts
 * sql`
 *   SELECT count() AS events
 *   FROM clickstream_events FINAL
 *   WHERE $__timeFilter(ts)
 * ` // → 'SELECT count() AS events\nFROM clickstream_events FINAL\nWHERE $__timeFilter(ts)'
 * ```
 */
export function sql(strings: TemplateStringsArray, ...values: never[]): string {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: names the syntax that is refused
  if (values.length > 0 || strings.raw.length !== 1) throw new Error('sql`...`: no ${} interpolation in panel SQL');
  const lines = (strings.raw[0] ?? '').split('\n');
  if (lines[0]?.trim() === '') lines.shift();
  if (lines.at(-1)?.trim() === '') lines.pop();
  const indent = Math.min(...lines.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)![0].length));
  return lines.map((l) => l.slice(indent).trimEnd()).join('\n');
}
