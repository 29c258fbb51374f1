// Assembles .data/bench/*.json (written by each benchmark) into docs/bench-report.md and an SVG
// chart of the latency percentiles found in the tables (columns named "p50 ms", "p95 ms", "p99 ms").
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ROOT } from '@platform/testkit';

const BenchFile = z.object({
  area: z.string(),
  ranAt: z.string(),
  machine: z.object({ cpus: z.number(), cpuModel: z.string(), memGiB: z.number(), node: z.string(), loadAvg1m: z.number() }),
  tables: z.array(
    z.object({
      title: z.string(),
      columns: z.array(z.string()),
      rows: z.array(z.array(z.union([z.string(), z.number()]))),
      notes: z.array(z.string()).optional(),
    }),
  ),
});
type BenchFile = z.infer<typeof BenchFile>;

const dir = join(ROOT, '.data', 'bench');
const files: BenchFile[] = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => BenchFile.parse(JSON.parse(readFileSync(join(dir, f), 'utf8'))));
if (files.length === 0) throw new Error(`no benchmark results in ${dir}`);

const esc = (s: string | number) => String(s).replace(/\|/g, '\\|');
const md: string[] = [];
const m = files[0]!.machine;
md.push('# Benchmark report', '');
md.push(`Generated ${new Date().toISOString()} by \`npm run bench\`.`, '');
md.push(
  `Machine: ${m.cpus} × ${m.cpuModel}, ${m.memGiB} GiB RAM, Node ${m.node}. Every figure is measured on loopback against the local stores, next to its in-run baseline.`,
  '',
);
md.push('![latency percentiles](bench-latency.svg)', '');
for (const f of files) {
  md.push(`## ${f.area}`, '', `Ran ${f.ranAt} (load average ${f.machine.loadAvg1m}).`, '');
  for (const t of f.tables) {
    md.push(`### ${t.title}`, '', `| ${t.columns.map(esc).join(' | ')} |`, `|${t.columns.map(() => '---').join('|')}|`);
    for (const r of t.rows) md.push(`| ${r.map(esc).join(' | ')} |`);
    md.push('', ...(t.notes ?? []).flatMap((n) => [n, '']));
  }
}

// Latency chart: one group of bars (p50/p95/p99) per row that has them.
const bars: Array<{ label: string; values: Array<[string, number]> }> = [];
for (const f of files)
  for (const t of f.tables) {
    const idx = ['p50 ms', 'p95 ms', 'p99 ms'].map((c) => [c, t.columns.indexOf(c)] as const).filter(([, i]) => i >= 0);
    if (idx.length === 0) continue;
    for (const r of t.rows) {
      const values = idx
        .map(([c, i]) => [c.replace(' ms', ''), r[i] === '' || r[i] === undefined ? Number.NaN : Number(r[i])] as [string, number])
        .filter(([, v]) => Number.isFinite(v));
      // The second column often says which run of the row this is (writers, rate): keep it in the label.
      const qualifier = typeof r[1] === 'number' || /^\d/.test(String(r[1] ?? '')) ? ` · ${t.columns[1]} ${r[1]}` : '';
      if (values.length) bars.push({ label: `${f.area}: ${String(r[0]).slice(0, 48)}${qualifier}`, values });
    }
  }
const max = Math.max(1, ...bars.flatMap((b) => b.values.map(([, v]) => v)));
const rowH = 16 * 3 + 14;
const width = 900;
const left = 380;
const colors: Record<string, string> = { p50: '#4e79a7', p95: '#f28e2b', p99: '#e15759' };
const svg = [
  `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${bars.length * rowH + 40}" font-family="sans-serif" font-size="11">`,
];
svg.push(
  `<text x="10" y="16" font-size="13">Latency percentiles (ms, log scale: figures span ${max.toFixed(0)}× the smallest bar's unit)</text>`,
);
bars.forEach((b, i) => {
  const y = 30 + i * rowH;
  svg.push(`<text x="10" y="${y + 20}">${b.label.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</text>`);
  b.values.forEach(([p, v], j) => {
    // Log scale: sub-millisecond and multi-second figures share one chart.
    const w = Math.max(1, ((width - left - 120) * Math.log10(1 + v)) / Math.log10(1 + max));
    svg.push(`<rect x="${left}" y="${y + j * 16}" width="${w.toFixed(1)}" height="13" fill="${colors[p] ?? '#999'}"/>`);
    svg.push(`<text x="${(left + w + 4).toFixed(1)}" y="${y + j * 16 + 10}">${p} ${v}</text>`);
  });
});
svg.push('</svg>');

const docs = join(ROOT, 'docs');
mkdirSync(docs, { recursive: true });
writeFileSync(join(docs, 'bench-report.md'), md.join('\n'));
writeFileSync(join(docs, 'bench-latency.svg'), svg.join('\n'));
console.log(`wrote docs/bench-report.md (${files.length} areas) and docs/bench-latency.svg (${bars.length} rows)`);
