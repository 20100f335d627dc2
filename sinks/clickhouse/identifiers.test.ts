import { describe, expect, it } from 'vitest';
import { quoteTable } from './sql.ts';
import { defineTable } from './table.ts';

describe('defineTable names', () => {
  it('refuses a table name that is not an identifier, naming it and the rule', () => {
    expect(() => defineTable('page-views', { columns: { url: 'String' }, orderBy: ['url'] })).toThrow(
      'defineTable: the table name "page-views" must be a SQL identifier: letters, digits and _, not starting with a digit, at most 63 characters',
    );
  });

  it('refuses a column name that is not an identifier, naming the table and the column', () => {
    expect(() => defineTable('page_views', { columns: { 'user id': 'String' }, orderBy: [] })).toThrow(
      'table page_views: the column name "user id" must be a SQL identifier: letters, digits and _, not starting with a digit, at most 63 characters',
    );
  });
});

describe('quoteTable', () => {
  it('quotes a database and a table, and refuses either when it is not an identifier', () => {
    expect(quoteTable('analytics', 'page_views')).toBe('`analytics`.`page_views`');
    expect(() => quoteTable('analytics; DROP', 'page_views')).toThrow('must be a SQL identifier');
    expect(() => quoteTable('analytics', 'page`views')).toThrow('must be a SQL identifier');
  });
});
