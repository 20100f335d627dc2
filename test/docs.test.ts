/**
 * The docs stay true to the code: the configuration tables are what the schemas render now, every
 * TypeScript sample compiles against the public API, and every relative link resolves.
 * No servers needed.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { configFromEnv, RuntimeConfig } from '../core/config.ts';
import { REGENERATE, ROOT, fields as schemaFields, staleBlocks } from '../scripts/docs-config.ts';

const SAMPLES = join(ROOT, 'test-output', 'doc-samples');

/** README.md and every Markdown file under docs/, as paths from the repository root. */
function markdownFiles(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) return walk(path);
      return entry.name.endsWith('.md') ? [path] : [];
    });
  return ['README.md', ...walk('docs')];
}

interface Fence {
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  attributes: string[];
  code: string;
}

/** Fenced code blocks (``` or ~~~, possibly indented in a list). */
function fences(file: string, text: string): Fence[] {
  const lines = text.split('\n');
  const out: Fence[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const marker = open[1]!;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const line = lines[j]!;
      if (line.trim().startsWith(marker) && line.trim().replaceAll(marker[0]!, '') === '') break;
      body.push(line);
    }
    out.push({ file, line: i + 1, lang: open[2]!, attributes: open[3]!.trim().split(/\s+/).filter(Boolean), code: body.join('\n') });
    i = j;
  }
  return out;
}

/** The text with code blocks and inline code blanked (line numbers kept), so links are found only in prose. */
function prose(text: string): string {
  const lines = text.split('\n');
  let fence: string | undefined;
  return lines
    .map((line) => {
      const marker = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
      if (fence === undefined && marker) {
        fence = marker;
        return '';
      }
      if (fence !== undefined) {
        if (marker !== undefined && marker[0] === fence[0] && marker.length >= fence.length && line.trim().replaceAll(fence[0]!, '') === '') fence = undefined;
        return '';
      }
      return line.replace(/(`+)[^`]*?\1/g, '');
    })
    .join('\n');
}

/** GitHub's anchor for each heading of a Markdown file. */
function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const line of prose(text).split('\n')) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const base = heading
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

const TS = new Set(['ts', 'typescript']);

describe('docs', () => {
  it('the configuration tables are what the schemas render now', () => {
    const stale = staleBlocks().map((b) => `${b.file} (${b.block}) is out of date; run: ${REGENERATE}`);
    expect(stale, stale.join('\n')).toEqual([]);
  });

  it("every RuntimeConfig field's `env` is the variable configFromEnv reads, and every variable it reads is documented", () => {
    const documented = schemaFields(RuntimeConfig).filter((f) => f.property.env);
    for (const { name, property } of documented) {
      const p = property;
      const sample =
        p.type === 'integer'
          ? Math.min((typeof p.default === 'number' ? p.default : (p.minimum ?? 0)) + 1, p.maximum ?? Number.MAX_SAFE_INTEGER)
          : p.format === 'uri'
            ? 'http://docs-check.test:1234'
            : p.pattern
              ? 'docs_check'
              : 'docs-check';
      const config = configFromEnv({ [p.env!]: String(sample) }) as unknown as Record<string, unknown>;
      const value = name.split('.').reduce<unknown>((v, key) => (v as Record<string, unknown>)[key], config);
      // A list (RXA_NATS_URL) is read from a comma-separated variable: one item here.
      const list = p.anyOf?.some((form) => form.type === 'array') === true;
      expect(value, `${p.env} should set ${name}`).toEqual(list ? [sample] : sample);
    }
    const read = new Set(readFileSync(join(ROOT, 'core/config.ts'), 'utf8').match(/(?<=env\.)RXA_[A-Z_]+/g));
    expect([...read].sort()).toEqual(documented.map((f) => f.property.env).sort());
  });

  it('every ```ts block in README.md and docs/ compiles against the public API', async () => {
    const samples = markdownFiles()
      .flatMap((file) => fences(file, readFileSync(join(ROOT, file), 'utf8')))
      .filter((f) => TS.has(f.lang) && !f.attributes.includes('skip'));
    expect(samples.length).toBeGreaterThan(0);

    rmSync(SAMPLES, { recursive: true, force: true });
    mkdirSync(SAMPLES, { recursive: true });
    const origin = new Map<string, Fence>();
    for (const sample of samples) {
      // `file=orders.ts` names a sample so that others can import it ('./orders.ts'); names are shared by every page.
      const named = sample.attributes.find((a) => a.startsWith('file='))?.slice('file='.length);
      const name = named ?? `${sample.file.replace(/\.md$/, '').replace(/[^A-Za-z0-9]+/g, '-')}-L${sample.line}.ts`;
      const clash = origin.get(name);
      if (clash) throw new Error(`${sample.file}:${sample.line}: sample name ${name} is taken by ${clash.file}:${clash.line}`);
      origin.set(name, sample);
      // `export {}` makes every sample a module, so samples do not share a global scope.
      writeFileSync(join(SAMPLES, name), `${sample.code}\nexport {};\n`);
    }
    const fromSamples = relative(SAMPLES, ROOT);
    writeFileSync(
      join(SAMPLES, 'tsconfig.json'),
      JSON.stringify(
        {
          extends: `${fromSamples}/tsconfig.json`,
          compilerOptions: {
            noEmit: true,
            paths: {
              'rxstream-analytics': [`${fromSamples}/index.ts`],
              'rxstream-analytics/runtime': [`${fromSamples}/runtime.ts`],
              'rxstream-analytics/testing': [`${fromSamples}/testing/index.ts`],
            },
          },
          include: ['*.ts'],
          exclude: [],
        },
        null,
        2,
      ),
    );

    const tsc = join(ROOT, 'node_modules', '.bin', 'tsc');
    const result = await promisify(execFile)(tsc, ['-p', join(SAMPLES, 'tsconfig.json'), '--pretty', 'false'], { cwd: ROOT }).then(
      () => ({ ok: true, output: '' }),
      (error: { stdout?: string; stderr?: string; message: string }) => ({ ok: false, output: `${error.stdout ?? ''}${error.stderr ?? ''}` || error.message }),
    );
    // Errors point at the Markdown: sample line n is line (fence + n) of its page.
    const report = result.output
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const m = /^(.*?)\((\d+),(\d+)\): (.*)$/.exec(line);
        const sample = m && origin.get(relative(SAMPLES, resolve(ROOT, m[1]!)));
        return sample ? `${sample.file}:${sample.line + Number(m[2])}:${m[3]}: ${m[4]}` : line;
      });
    expect(result.ok, `doc samples do not compile (${relative(ROOT, SAMPLES)}):\n${report.join('\n')}`).toBe(true);
  }, 180_000);

  it('every relative link in README.md and docs/ resolves', () => {
    const broken: string[] = [];
    for (const file of markdownFiles()) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      prose(text)
        .split('\n')
        .forEach((line, index) => {
          for (const m of line.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
            const target = m[1]!;
            if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, https:, mailto:
            const [path = '', anchor] = target.split('#');
            const resolved = path === '' ? join(ROOT, file) : resolve(ROOT, dirname(file), decodeURIComponent(path));
            const where = `${file}:${index + 1}: ${target}`;
            if (!resolved.startsWith(ROOT) || !existsSync(resolved)) broken.push(`${where}: no such file`);
            else if (anchor && resolved.endsWith('.md') && !anchors(readFileSync(resolved, 'utf8')).has(anchor)) broken.push(`${where}: no such heading`);
          }
        });
    }
    expect(broken, broken.join('\n')).toEqual([]);
  });
});
