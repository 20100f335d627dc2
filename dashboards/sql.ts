/** What may be interpolated into panel SQL: a table definition (`defineTable(...)`), by its name only. */
export interface SqlTableRef {
  readonly name: string;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Tag for SQL written as an indented block in a definition: drops the first and last line when
 * blank and the indentation common to every line, so the SQL reads the same in Grafana.
 *
 * The only thing that can be interpolated is a table definition (`${eventsTable}`): it becomes
 * the table's name, checked to be a plain identifier, so a panel names the pipeline's tables by
 * their definitions and a renamed table renames every query. Anything else (a string, a number,
 * an object without a valid `name`) is refused: panel SQL is fixed text, never assembled from values.
 *
 * @example
 * ```ts
 * sql`
 *   SELECT count() AS events
 *   FROM ${eventsTable} FINAL
 *   WHERE $__timeFilter(ts)
 * ` // → 'SELECT count() AS events\nFROM clickstream_events FINAL\nWHERE $__timeFilter(ts)'
 * ```
 */
export function sql(strings: TemplateStringsArray, ...tables: SqlTableRef[]): string {
  const names = tables.map(tableName);
  const text = strings.raw.map((part, i) => (i < names.length ? part + names[i] : part)).join('');
  const lines = text.split('\n');
  if (lines[0]?.trim() === '') lines.shift();
  if (lines.at(-1)?.trim() === '') lines.pop();
  const indent = Math.min(...lines.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)![0].length));
  return lines.map((l) => l.slice(indent).trimEnd()).join('\n');
}

function tableName(value: unknown): string {
  const name = typeof value === 'object' && value !== null && 'name' in value ? (value as { name: unknown }).name : undefined;
  if (typeof name !== 'string' || !IDENTIFIER.test(name)) {
    const shown = typeof value === 'string' ? JSON.stringify(value) : typeof name === 'string' ? `a table named ${JSON.stringify(name)}` : typeof value;
    throw new Error(`sql\`...\`: \${} takes a table definition (defineTable) whose name is an identifier, got ${shown}`);
  }
  return name;
}
