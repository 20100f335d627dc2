import { bulkWorkload } from '../bench/workload.ts';
import { EncodedRows } from '../sinks/clickhouse/encoded-rows.ts';
import { createClickstreamPipeline } from '../pipelines/clickstream.ts';
const def = createClickstreamPipeline();
const table = (def.tables as Record<string, any>).events ?? Object.values(def.tables)[0];
const events: Record<string, unknown>[] = [];
for (const m of bulkWorkload(200000, 7)) { if ('event' in m) events.push({ ...(m.event as object), page_category: 'x' }); if (events.length >= 200000) break; }
let twoByte = 0;
for (let r = 0; r < 5; r++) {
  const b = EncodedRows.for(table);
  const t = performance.now();
  for (const e of events) b.push(e);
  const ms = performance.now() - t;
  const lines: string[] = [];
  const t2 = performance.now();
  const enc = (b as any).encode;
  for (const e of events) lines.push(JSON.stringify(enc(e)));
  const ms2 = performance.now() - t2;
  const buf = Buffer.allocUnsafeSlow(b.byteLength + 100);
  const t3 = performance.now(); let off = 0;
  for (const l of lines) off += buf.write(l, off);
  const ms3 = performance.now() - t3;
  console.log(table.name, 'push', (ms * 1000 / events.length).toFixed(3), 'stringify', (ms2 * 1000 / events.length).toFixed(3), 'write', (ms3 * 1000 / events.length).toFixed(3), 'us/row', b.byteLength / events.length);
}
{
  const enc = (EncodedRows.for(table) as any).encode;
  const lines = events.map((e) => JSON.stringify(enc(e)));
  const nonAscii = lines.filter((l) => /[^\x00-\x7f]/.test(l)).length;
  const nonLatin = lines.filter((l) => /[^\x00-\xff]/.test(l)).length;
  console.log('lines', lines.length, 'nonAscii', nonAscii, 'nonLatin1', nonLatin, lines[0]);
  const buf = Buffer.allocUnsafeSlow(lines.length * 1000);
  for (const [name, f] of [['write', (l: string, o: number) => buf.write(l, o)], ['latin1', (l: string, o: number) => buf.latin1Write(l, o)], ['encodeInto', (l: string, o: number) => new TextEncoder().encodeInto(l, buf.subarray(o)).written]] as const) {
    const t = performance.now(); let off = 0; for (const l of lines) off += f(l, off); console.log(name, ((performance.now() - t) * 1000 / lines.length).toFixed(3));
  }
}
