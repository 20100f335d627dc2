/**
 * The configuration tables of the docs, rendered from the zod schemas (their `description`, `env`
 * `defaultText` and `typeText` metadata, types and defaults via `z.toJSONSchema`), so the schemas are the only
 * source of truth. Each table sits between marker comments:
 *
 *   <!-- generated:<block> (npx tsx scripts/docs-config.ts --write) -->
 *   ...
 *   <!-- /generated:<block> -->
 *
 *   npx tsx scripts/docs-config.ts --write   # rewrite the tables in README.md and docs/configuration.md
 *   npx tsx scripts/docs-config.ts --check   # exit 1 when a committed table is out of date
 *
 * test/docs.test.ts fails when a committed table differs from what this renders.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { RuntimeConfig } from '../core/config.ts';
import { PipelineSettings } from '../core/pipeline.ts';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const REGENERATE = 'npx tsx scripts/docs-config.ts --write';

/** A property of a JSON schema as zod renders it, with the metadata this project puts on fields. */
interface Property {
  type?: string;
  properties?: Record<string, Property>;
  /** The forms a field takes, when more than one (a list, or one string of it). */
  anyOf?: Property[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  format?: string;
  pattern?: string;
  description?: string;
  /** The environment variable `configFromEnv` reads the field from. */
  env?: string;
  /** The default, in words, of a field whose default is computed from others. */
  defaultText?: string;
  /** The type, in words, of a field that takes more than one form (a list, or a comma-separated string of it). */
  typeText?: string;
  /** Left out of the README's short table (docs/configuration.md has every field). */
  advanced?: boolean;
}

/** One field of a schema, nested objects flattened to dotted names. */
export interface Field {
  name: string;
  property: Property;
}

export function fields(schema: z.ZodType): Field[] {
  const json = z.toJSONSchema(schema, { io: 'input' }) as Property;
  const out: Field[] = [];
  const walk = (properties: Record<string, Property>, prefix: string): void => {
    for (const [key, property] of Object.entries(properties)) {
      const name = prefix + key;
      if (property.type === 'object' && property.properties) walk(property.properties, `${name}.`);
      else out.push({ name, property });
    }
  };
  walk(json.properties ?? {}, '');
  for (const { name, property } of out) {
    if (!property.description) throw new Error(`${name}: no description; add .describe('...') or .meta({ description }) to the field in its schema`);
  }
  return out;
}

const number = (n: number): string => n.toLocaleString('en-US');

function duration(ms: number): string {
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms >= 1_000) return `${ms / 1_000} s`;
  return `${ms} ms`;
}

function type(p: Property): string {
  if (p.typeText) return p.typeText;
  if (p.type === 'integer' || p.type === 'number') {
    const max = p.maximum !== undefined && p.maximum < Number.MAX_SAFE_INTEGER ? p.maximum : undefined;
    const min = p.exclusiveMinimum !== undefined ? `> ${number(p.exclusiveMinimum)}` : p.minimum !== undefined ? `≥ ${number(p.minimum)}` : undefined;
    if (p.minimum !== undefined && max !== undefined) return `${p.type}, ${number(p.minimum)} to ${number(max)}`;
    return [p.type, min, max !== undefined ? `≤ ${number(max)}` : undefined].filter(Boolean).join(', ');
  }
  if (p.type === 'string') {
    if (p.format === 'uri') return 'URL';
    if (p.pattern) return `string matching \`${p.pattern}\``;
    if (p.minLength) return 'non-empty string';
  }
  return p.type ?? 'any';
}

function defaultValue(name: string, p: Property): string {
  if (p.defaultText) return p.defaultText;
  if (p.default === undefined) return '—';
  if (p.default === '') return 'empty';
  if (typeof p.default === 'number') return name.endsWith('Ms') && p.default >= 1_000 ? `${number(p.default)} (${duration(p.default)})` : number(p.default);
  return `\`${String(p.default)}\``;
}

const cell = (text: string): string => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

function table(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
}

/** `settings` of `definePipeline`. */
export function pipelineSettingsTable(): string {
  return table(
    ['setting', 'type', 'default', 'description'],
    fields(PipelineSettings).map(({ name, property }) => [`\`${name}\``, type(property), defaultValue(name, property), property.description ?? '']),
  );
}

/** Every field of `RuntimeConfig`, with its variable. */
export function runtimeConfigTable(): string {
  return table(
    ['variable', 'field', 'type', 'default', 'description'],
    fields(RuntimeConfig).map(({ name, property }) => [
      property.env ? `\`${property.env}\`` : '—',
      `\`${name}\``,
      type(property),
      defaultValue(name, property),
      property.description ?? '',
    ]),
  );
}

/** The README's short form: the variables only, the advanced ones left to docs/configuration.md. */
export function environmentTable(): string {
  return table(
    ['variable', 'default', 'what'],
    fields(RuntimeConfig)
      .filter(({ property }) => property.env && !property.advanced)
      .map(({ name, property }) => [`\`${property.env}\``, defaultValue(name, property), property.description ?? '']),
  );
}

export interface Block {
  /** Path from the repository root. */
  file: string;
  block: string;
  render: () => string;
}

export const BLOCKS: readonly Block[] = [
  { file: 'README.md', block: 'environment', render: environmentTable },
  { file: 'docs/configuration.md', block: 'pipeline-settings', render: pipelineSettingsTable },
  { file: 'docs/configuration.md', block: 'runtime-config', render: runtimeConfigTable },
];

const open = (block: string): string => `<!-- generated:${block} (${REGENERATE}) -->`;
const close = (block: string): string => `<!-- /generated:${block} -->`;

/** The text between a block's markers, or an error naming what is missing. */
export function extractBlock(text: string, block: string, file: string): string {
  const start = text.indexOf(open(block));
  const end = text.indexOf(close(block));
  if (start < 0 || end < start) throw new Error(`${file}: no '${open(block)}' ... '${close(block)}' markers`);
  return text.slice(start + open(block).length, end).trim();
}

export function replaceBlock(text: string, block: string, file: string, content: string): string {
  extractBlock(text, block, file);
  const start = text.indexOf(open(block)) + open(block).length;
  return `${text.slice(0, start)}\n\n${content}\n\n${text.slice(text.indexOf(close(block)))}`;
}

/**
 * A Markdown table without its padding: Biome formats Markdown (`biome ci` checks it) and pads
 * table columns, so a committed table is compared cell by cell, not byte by byte.
 */
export function normalizeTable(text: string): string {
  return text
    .split('\n')
    .map((line) =>
      line
        .trim()
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim())
        .map((cell) => (/^:?-+:?$/.test(cell) ? '---' : cell))
        .join('|'),
    )
    .join('\n');
}

/** Blocks whose committed text differs from what the schemas render now. */
export function staleBlocks(root = ROOT): Array<Block & { committed: string; rendered: string }> {
  return BLOCKS.map((b) => ({ ...b, committed: extractBlock(readFileSync(join(root, b.file), 'utf8'), b.block, b.file), rendered: b.render() })).filter(
    (b) => normalizeTable(b.committed) !== normalizeTable(b.rendered),
  );
}

function main(args: string[]): void {
  if (args.includes('--write')) {
    const stale = staleBlocks();
    for (const b of stale) {
      const path = join(ROOT, b.file);
      writeFileSync(path, replaceBlock(readFileSync(path, 'utf8'), b.block, b.file, b.rendered));
      console.log(`${b.file} ${b.block}: updated`);
    }
    if (stale.length === 0) console.log('the tables are up to date');
    // Padded as Biome pads Markdown tables, so `biome ci` stays green.
    else
      execFileSync(join(ROOT, 'node_modules', '.bin', 'biome'), ['format', '--write', ...new Set(stale.map((b) => b.file))], { cwd: ROOT, stdio: 'inherit' });
  } else if (args.includes('--check')) {
    const stale = staleBlocks();
    for (const b of stale) console.error(`${b.file} ${b.block}: out of date; run ${REGENERATE}`);
    process.exitCode = stale.length > 0 ? 1 : 0;
  } else {
    for (const b of BLOCKS) console.log(`${b.file} ${b.block}:\n\n${b.render()}\n`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main(process.argv.slice(2));
