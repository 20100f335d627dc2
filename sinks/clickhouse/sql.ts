import { z } from 'zod';

/**
 * Names that end up inside SQL come from config and definitions, so they are validated here and
 * never pasted raw: a conservative subset of ClickHouse identifiers that needs no quoting on any version.
 */
export const sqlIdentifier = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'must be a SQL identifier: letters, digits and _, not starting with a digit, at most 63 characters');

/** Throws, naming `what` (e.g. `table 'page-views'`) and the rule, unless `name` is a valid identifier. */
export function assertSqlIdentifier(what: string, name: unknown): void {
  const result = sqlIdentifier.safeParse(name);
  if (!result.success) throw new Error(`${what} ${JSON.stringify(name)} ${result.error.issues[0]?.message ?? 'is not a SQL identifier'}`);
}

/** Quote a validated identifier for SQL (backticks work on ClickHouse 18.16 and current). */
export function quoteIdent(name: string): string {
  sqlIdentifier.parse(name);
  return `\`${name}\``;
}

/** A table in a database, both quoted for SQL: `` `analytics`.`page_views` ``. */
export function quoteTable(database: string, table: string): string {
  return `${quoteIdent(database)}.${quoteIdent(table)}`;
}

/**
 * A ClickHouse string literal. Needed because query parameters (`{name:String}`) do not exist on
 * ClickHouse 18.16; escaping backslash and quote is the complete rule for quoted strings.
 */
export function sqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
