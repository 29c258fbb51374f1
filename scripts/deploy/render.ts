/**
 * Renders every deployment target of scripts/deploy/lib.ts into <out>/<name>.yaml (for kubeconform)
 * and checks that every must-fail case fails with its expected messages.
 *
 *   npx tsx scripts/deploy/render.ts --out .data/deploy/rendered
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { MUST_FAIL, parseManifests, render, renderMustFail, TARGETS } from './lib.js';

const { values } = parseArgs({ options: { out: { type: 'string' } } });
if (!values.out) {
  process.stderr.write('usage: render.ts --out <dir>\n');
  process.exit(2);
}
const out = path.resolve(values.out);
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

let failed = 0;
for (const t of TARGETS) {
  try {
    const text = render(t);
    const kinds = parseManifests(text).map((o) => o.kind);
    writeFileSync(path.join(out, `${t.name}.yaml`), text);
    const counts = [...new Set(kinds)].map((k) => `${kinds.filter((x) => x === k).length} ${k}`).join(', ');
    process.stdout.write(`  ok    ${t.name.padEnd(40)} ${kinds.length} objects (${counts})\n`);
  } catch (err) {
    failed++;
    process.stdout.write(`  FAIL  ${t.name}: ${err instanceof Error ? err.message : String(err)}\n`);
  }
}
for (const c of MUST_FAIL) {
  try {
    const output = renderMustFail(c);
    const missing = c.expect.filter((re) => !re.test(output));
    if (missing.length) throw new Error(`failed, but without the expected message(s) ${missing.map(String).join(', ')}:\n${output}`);
    const first = output.split('\n').find((l) => l.trim()) ?? '';
    process.stdout.write(`  ok    must fail: ${c.name}\n          ${first.slice(0, 160)}\n`);
  } catch (err) {
    failed++;
    process.stdout.write(`  FAIL  must fail: ${c.name}: ${err instanceof Error ? err.message : String(err)}\n`);
  }
}
process.exit(failed ? 1 : 0);
