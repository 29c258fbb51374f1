// Builds the publishable package into dist/: the runtime as one ES module (the contracts' event
// schemas bundled in; tRPC and zod left to the install), the declarations of its own modules, and
// the router and event types generated self-contained from the services and the contracts.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { build, type Plugin } from 'esbuild';
import ts from 'typescript';
import { forbiddenImports } from './check-dist.js';
import { EVENT_TYPES_ENTRY, eventDeclarations } from './event-types.js';
import { loadProgram, repoRoot, sourceFile } from './program.js';
import { ROUTERS, routerDeclarations } from './router-types.js';

const pkgDir = path.join(repoRoot, 'shared/client');
const dist = path.join(pkgDir, 'dist');
/** The package's own modules; routers and event-types get generated declarations instead of emitted ones. */
const OWN = ['index', 'client', 'retry', 'events'];
const GENERATED = { routers: routerDeclarations, 'event-types': eventDeclarations };

/**
 * The contracts' modules only declare schemas and functions, so the bundle may leave out every
 * module the client does not use (the package does not say so itself; esbuild would keep them all).
 */
const contractsWithoutSideEffects: Plugin = {
  name: 'contracts-without-side-effects',
  setup(b) {
    const contracts = path.join(repoRoot, 'shared/contracts/src') + path.sep;
    b.onResolve({ filter: /.*/ }, async (args) => {
      if (args.pluginData === 'resolving') return undefined;
      const r = await b.resolve(args.path, {
        kind: args.kind,
        resolveDir: args.resolveDir,
        importer: args.importer,
        pluginData: 'resolving',
      });
      return r.path.startsWith(contracts) ? { ...r, sideEffects: false } : undefined;
    });
  },
};

const started = Date.now();
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist);

const program = loadProgram([...OWN.map((m) => `shared/client/src/${m}.ts`), ...ROUTERS.map((r) => r.file), EVENT_TYPES_ENTRY]);
for (const m of OWN) {
  const result = program.emit(
    sourceFile(program, `shared/client/src/${m}.ts`),
    (name, text) => {
      if (name.endsWith('.d.ts')) writeFileSync(path.join(dist, `${m}.d.ts`), text);
    },
    undefined,
    true,
  );
  const errors = result.diagnostics.filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (errors.length > 0) throw new Error(`${m}.ts: ${errors.map((d) => ts.flattenDiagnosticMessageText(d.messageText, ' ')).join('; ')}`);
}
for (const [m, generate] of Object.entries(GENERATED)) writeFileSync(path.join(dist, `${m}.d.ts`), generate(program));

await build({
  entryPoints: [path.join(pkgDir, 'src/index.ts')],
  outfile: path.join(dist, 'index.js'),
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  // The workspace packages from source (their TypeScript), like the tests and tsx do.
  conditions: ['@platform/source'],
  mainFields: ['module', 'main'],
  // node:* stays external only so unused contracts modules (heartbeats' HMAC) parse; the import
  // check below fails the build if one is still imported.
  external: ['@trpc/client', '@trpc/server', 'zod', 'node:*'],
  plugins: [contractsWithoutSideEffects],
  legalComments: 'none',
  logLevel: 'warning',
});

const problems = forbiddenImports(dist);
if (problems.length > 0) {
  console.error(`dist/ imports what a published install cannot have:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`@platform/client built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
