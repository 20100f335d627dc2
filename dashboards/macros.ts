/**
 * Expands the grafana-clickhouse-datasource macros our dashboards use, exactly as the plugin's
 * backend does (pkg/macros), so a panel's SQL can be run outside Grafana:
 *
 *   $__timeFilter(col) → col >= toDateTime(<from s>) AND col <= toDateTime(<to s>)
 *   $__fromTime        → toDateTime(<from s>)
 *   $__toTime          → toDateTime(<to s>)
 *
 * Seconds are the range's epoch milliseconds floored, like Go's `time.Unix()`.
 * Those three expand to plain comparisons that ClickHouse 18.16 understands. Every other macro is
 * refused on purpose: `$__timeInterval` needs toStartOfInterval and the `_ms` variants need
 * DateTime64, neither of which exists on 18.16. A template variable left in the SQL (`$name`,
 * `${name}`, `[[name]]`) is refused too: it would only be replaced inside Grafana.
 */

export interface TimeRange {
  /** Start of the dashboard's time range, epoch milliseconds. */
  from: number;
  /** End of the dashboard's time range, epoch milliseconds. */
  to: number;
}

const TIME_FILTER = /\$__timeFilter\(\s*([^()]*?)\s*\)/g;
const FROM_TIME = /\$__fromTime\b/g;
const TO_TIME = /\$__toTime\b/g;
const ANY_MACRO = /\$__\w+/;
const TEMPLATE_VARIABLE = /\$\{[^}]*\}|\$[A-Za-z_]\w*|\[\[[A-Za-z_]\w*(?::\w+)?\]\]/;
const COLUMN = /^[A-Za-z_][A-Za-z0-9_.]*$|^`[^`]+`$/;

export function expandMacros(sql: string, range: TimeRange): string {
  if (!Number.isFinite(range.from) || !Number.isFinite(range.to) || range.from > range.to) {
    throw new Error(`invalid time range: from ${range.from} to ${range.to}`);
  }
  const from = `toDateTime(${Math.floor(range.from / 1000)})`;
  const to = `toDateTime(${Math.floor(range.to / 1000)})`;
  const expanded = sql
    .replace(TIME_FILTER, (_match, column: string) => {
      if (!COLUMN.test(column)) throw new Error(`$__timeFilter expects one column name, got '${column}'`);
      return `${column} >= ${from} AND ${column} <= ${to}`;
    })
    .replace(FROM_TIME, from)
    .replace(TO_TIME, to);

  const macro = ANY_MACRO.exec(expanded);
  if (macro) {
    throw new Error(`unsupported macro ${macro[0]}: only $__timeFilter(column), $__fromTime and $__toTime work on ClickHouse 18.16`);
  }
  const variable = TEMPLATE_VARIABLE.exec(expanded);
  if (variable) throw new Error(`unresolved template variable ${variable[0]}`);
  return expanded;
}
