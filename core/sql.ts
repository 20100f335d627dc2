/**
 * A ClickHouse string literal. Needed because query parameters (`{name:String}`) do not exist on
 * ClickHouse 18.16; escaping backslash and quote is the complete rule for quoted strings.
 */
export function sqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
