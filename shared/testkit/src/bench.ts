import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './local-env.js';

/** One table of a benchmark result: a title, column names, rows, optional notes. */
export interface BenchTable {
  title: string;
  columns: string[];
  rows: Array<Array<string | number>>;
  notes?: string[];
}

export interface BenchResult {
  area: string;
  ranAt: string;
  machine: ReturnType<typeof machine>;
  tables: BenchTable[];
}

export function machine() {
  const c = cpus();
  return {
    cpus: c.length,
    cpuModel: c[0]?.model ?? 'unknown',
    memGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    loadAvg1m: Number(loadavg()[0]?.toFixed(2)),
  };
}

/** Nearest-rank percentile of a list of numbers (ms, usually). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export const round = (n: number, digits = 2) => Number(n.toFixed(digits));

/** Times `fn` and returns elapsed milliseconds. */
export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

export function printTable(t: BenchTable): void {
  const widths = t.columns.map((c, i) => Math.max(c.length, ...t.rows.map((r) => String(r[i] ?? '').length)));
  const line = (cells: Array<string | number>) => `| ${cells.map((c, i) => String(c).padEnd(widths[i]!)).join(' | ')} |`;
  console.log(`\n### ${t.title}\n`);
  console.log(line(t.columns));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of t.rows) console.log(line(r));
  for (const n of t.notes ?? []) console.log(`\n${n}`);
}

/** Prints the tables and writes .data/bench/<area>.json for the combined report (scripts/bench-report.ts). */
export function writeBenchResult(area: string, tables: BenchTable[]): BenchResult {
  const result: BenchResult = { area, ranAt: new Date().toISOString(), machine: machine(), tables };
  for (const t of tables) printTable(t);
  const dir = join(ROOT, '.data', 'bench');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${area}.json`), JSON.stringify(result, null, 2));
  return result;
}
