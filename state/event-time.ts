/**
 * What an operator's event-time accessor (`time` of the windows, of `dedupe`, of validation's skew
 * check) returned, checked. Events reach these operators validated by the pipeline's schema, so the
 * type of what the accessor returns is the code's doing, not the data's:
 *
 * - anything but a number (a string such as an ISO date, `undefined` from a misspelt field, a Date)
 *   is a definition bug, at whichever event: the operator fails, naming itself and the value;
 * - a number that is not finite (NaN from `Date.parse` of a format it does not read, or arithmetic
 *   on a missing field) fails at the operator's first event of the run: a definition bug too;
 *   at a later event it is data, and the operator handles it as it always did (dead letter).
 */
export class EventTimeError extends Error {
  override readonly name = 'EventTimeError';
}

/**
 * The error for `time`, the accessor's result at an event (`first`: the operator's first event of
 * the run), or undefined when the operator goes on (a finite number, or a later non-finite one).
 */
export function eventTimeError(operator: string, time: unknown, first: boolean): EventTimeError | undefined {
  if (typeof time === 'number') {
    if (Number.isFinite(time) || !first) return undefined;
    return new EventTimeError(
      `operator ${operator}: its time accessor returned ${time} for the first event, not epoch milliseconds; ` +
        'check the accessor (a field that is not there, Date.parse of a format it does not read), or reject such events in the schema',
    );
  }
  return new EventTimeError(`operator ${operator}: its time accessor returned ${describe(time)}, not epoch milliseconds (a number)`);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `a string '${value.length > 60 ? `${value.slice(0, 60)}...` : value}'`;
  if (value instanceof Date) return 'a Date (use date.getTime())';
  if (value === undefined || value === null) return String(value);
  return `a ${typeof value} (${String(value).slice(0, 60)})`;
}
