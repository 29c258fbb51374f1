// Builds the operator console into dist/console/ (served by knowledge at /console/): one ES module
// bundle (Preact and the tRPC client included, nothing fetched from a CDN: clusters may be offline),
// the page and its stylesheet. `npm run build` does it after tsc; `npm start` and the console's
// browser test call it too, since they run knowledge from source.
import { build } from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
export const CONSOLE_OUT = join(here, '..', 'dist', 'console');

export async function buildConsole(opts: { minify?: boolean } = {}): Promise<{ outDir: string; bytes: number }> {
  await mkdir(CONSOLE_OUT, { recursive: true });
  const result = await build({
    entryPoints: [join(here, 'src', 'main.tsx')],
    outfile: join(CONSOLE_OUT, 'app.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022', 'chrome120', 'firefox120', 'safari17'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: opts.minify ?? true,
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
    legalComments: 'eof',
  });
  await Promise.all(['index.html', 'styles.css'].map((f) => copyFile(join(here, f), join(CONSOLE_OUT, f))));
  const bytes =
    result.metafile.outputs[join('services', 'knowledge', 'dist', 'console', 'app.js')]?.bytes ??
    Object.entries(result.metafile.outputs).find(([k]) => k.endsWith('app.js'))?.[1].bytes ??
    0;
  return { outDir: CONSOLE_OUT, bytes };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { outDir, bytes } = await buildConsole();
  console.log(`console built: ${outDir} (app.js ${(bytes / 1024).toFixed(1)} KiB)`);
}
