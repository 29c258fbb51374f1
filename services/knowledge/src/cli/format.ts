/** A plain-text table for CLI output (no colours: it is read in terminals and CI logs alike). */
export function formatTable(columns: string[], rows: Array<Array<string | number>>): string {
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => String(r[i] ?? '').length)));
  const line = (cells: Array<string | number>) =>
    cells
      .map((c, i) => String(c).padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(columns), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
