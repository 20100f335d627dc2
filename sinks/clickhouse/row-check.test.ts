import { describe, expect, it } from 'vitest';
import { firstRowProblem } from './row-check.ts';
import { defineTable } from './table.ts';

const orders = defineTable('orders', {
  columns: {
    id: 'String',
    placed: 'DateTime',
    units: 'UInt64',
    price: 'Float64',
    tags: 'Array(String)',
    counts: 'Array(UInt64)',
    note: 'Nullable(String)',
  },
  orderBy: ['id'],
});
const row = { id: 'o-1', placed: 1_700_000_000_000, units: 2, price: 2.5, tags: ['a'], counts: [1], note: null };

describe('firstRowProblem', () => {
  it('accepts a row that fits, nulls and undefined values (the defaults) and bigints in integer columns', () => {
    expect(firstRowProblem(orders, row)).toBeUndefined();
    expect(firstRowProblem(orders, { ...row, units: 3n, note: 'x', tags: undefined, price: null })).toBeUndefined();
  });

  it('names a missing column, and keys the table does not have', () => {
    const { units: _, ...missing } = row;
    expect(firstRowProblem(orders, missing)).toBe('row is missing column units');
    expect(firstRowProblem(orders, { ...missing, unit_count: 2 })).toBe("row is missing column units (it has 'unit_count', which the table does not)");
    expect(firstRowProblem(orders, { id: 'x' })).toBe('row is missing columns placed, units, price, tags, counts, note');
  });

  it('names a column whose value has the wrong type, and the value', () => {
    expect(firstRowProblem(orders, { ...row, units: 'abc' })).toBe("column units is UInt64, got string 'abc'");
    expect(firstRowProblem(orders, { ...row, id: 42 })).toBe('column id is String, got number 42');
    expect(firstRowProblem(orders, { ...row, placed: new Date(0) })).toBe(
      'column placed is DateTime, got a Date (1970-01-01T00:00:00.000Z), not epoch milliseconds',
    );
    expect(firstRowProblem(orders, { ...row, tags: 'a,b' })).toBe("column tags is Array(String), got string 'a,b'");
    expect(firstRowProblem(orders, { ...row, counts: [1, '2'] })).toBe("column counts is Array(UInt64), got element 1 string '2'");
    expect(firstRowProblem(orders, { ...row, note: 7 })).toBe('column note is Nullable(String), got number 7');
  });

  it('refuses a row that is not an object', () => {
    expect(firstRowProblem(orders, 'o-1')).toBe("a row must be an object of columns, got string 'o-1'");
  });
});
