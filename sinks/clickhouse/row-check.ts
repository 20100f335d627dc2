import type { AnyTable, ColumnType } from './table.ts';

/**
 * The first row of each output, checked against its table's columns: a definition bug (a column
 * the code never sets, a field of the wrong type mapped to a column) shows in the first row, and
 * the run fails on it instead of writing defaults, or having every row rejected and dead-lettered.
 * Later rows are not checked: a wrong value in one of them is data, which the encoder writes as it
 * is and the server rejects (the writer dead-letters it), see docs/delivery.md.
 *
 * A column is missing when the row has no such key; a key whose value is `undefined` or `null` is
 * the column type's default (NULL in a Nullable column), as for every row. A value is checked by
 * its JavaScript type (a number for number and DateTime columns, a string for String, an array of
 * those for arrays), not its range: a negative number in a UInt64 column is data.
 */
export function firstRowProblem(table: AnyTable, row: unknown): string | undefined {
  if (typeof row !== 'object' || row === null || Array.isArray(row)) return `a row must be an object of columns, got ${describe(row)}`;
  const values = row as Readonly<Record<string, unknown>>;
  const missing = Object.keys(table.columns).filter((column) => !(column in values));
  if (missing.length > 0) {
    const extra = Object.keys(values).filter((key) => !(key in table.columns));
    const has = extra.length > 0 ? ` (it has ${extra.map((k) => `'${k}'`).join(', ')}, which the table does not)` : '';
    return `row is missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}${has}`;
  }
  for (const [column, type] of Object.entries(table.columns)) {
    const problem = valueProblem(type, values[column]);
    if (problem !== undefined) return `column ${column} is ${type}, got ${problem}`;
  }
  return undefined;
}

/** What is wrong with `value` for a column of `type`, if anything (`undefined` and `null`: the default). */
function valueProblem(type: ColumnType, value: unknown): string | undefined {
  if (value == null) return undefined;
  const element = type.startsWith('Array(') ? type.slice('Array('.length, -1) : undefined;
  if (element !== undefined) {
    if (!Array.isArray(value)) return describe(value);
    const wrong = value.findIndex((item) => !fits(element, item));
    return wrong < 0 ? undefined : `element ${wrong} ${describe(value[wrong])}`;
  }
  const inner = type.startsWith('Nullable(') ? type.slice('Nullable('.length, -1) : type;
  return fits(inner, value) ? undefined : describe(value);
}

function fits(type: string, value: unknown): boolean {
  if (type === 'String') return typeof value === 'string';
  // A bigint is written as its digits, which an integer column reads.
  return typeof value === 'number' || (typeof value === 'bigint' && type !== 'Float64' && type !== 'DateTime');
}

/** `string 'abc'`, `object {"a":1}`, `undefined`: a value and its type, short. */
function describe(value: unknown): string {
  if (value === undefined || value === null) return String(value);
  if (typeof value === 'string') return `string '${value.length > 60 ? `${value.slice(0, 60)}...` : value}'`;
  if (value instanceof Date) return `a Date (${Number.isNaN(value.getTime()) ? 'invalid' : value.toISOString()}), not epoch milliseconds`;
  if (Array.isArray(value)) return `array ${short(value)}`;
  return `${typeof value} ${short(value)}`;
}

function short(value: unknown): string {
  let text: string;
  try {
    text = typeof value === 'bigint' ? `${value}` : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 60)}...` : text;
}
