import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The package as a caller outside the repository gets it: `npm pack` (which builds it), the
// tarball installed with npm into a throwaway project in the system temp dir, then the compiler
// and Node on calls written against it. Needs the npm registry or a warm npm cache (for
// typescript, @types/node, tRPC and zod); without either it fails, it does not skip.
const run = promisify(execFile);
const pkgDir = path.resolve(import.meta.dirname, '..');
const repoRoot = path.resolve(pkgDir, '../..');
let work: string;
let project: string;
let tarball: string;
let packed: { files: { path: string; size: number }[]; size: number; unpackedSize: number };

const npm = (args: string[], cwd: string) =>
  run('npm', args, { cwd, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, npm_config_update_notifier: 'false' } });
/** tsc's exit and output; a non-zero exit is an answer here, not a failure. */
const tsc = (cwd: string, config: string) =>
  run(process.execPath, [path.join(cwd, 'node_modules/typescript/bin/tsc'), '-p', config], { cwd }).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` }),
  );

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'platform-client-pack-'));
  expect(path.relative(repoRoot, work).startsWith('..')).toBe(true); // really outside the workspace
  const { stdout } = await npm(['pack', '--json', '--pack-destination', work], pkgDir);
  const [info] = JSON.parse(stdout.slice(stdout.indexOf('['))) as [typeof packed & { filename: string }];
  packed = info;
  tarball = path.join(work, info.filename);

  project = path.join(work, 'consumer');
  rmSync(project, { recursive: true, force: true });
  mkdirSync(project);
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2));
  const base = {
    strict: true,
    module: 'nodenext',
    moduleResolution: 'nodenext',
    target: 'es2022',
    noEmit: true,
    skipLibCheck: false,
    types: ['node'],
  };
  writeFileSync(path.join(project, 'tsconfig.good.json'), JSON.stringify({ compilerOptions: base, files: ['good.ts'] }));
  writeFileSync(path.join(project, 'tsconfig.bad.json'), JSON.stringify({ compilerOptions: base, files: ['bad.ts'] }));
  writeFileSync(path.join(project, 'good.ts'), GOOD);
  writeFileSync(path.join(project, 'bad.ts'), BAD);
  // The caller's own install: the tarball and a compiler; npm adds the peers (@trpc/client, @trpc/server).
  await npm(
    ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball, 'typescript@5.9.3', '@types/node@^20.19.0'],
    project,
  );
}, 300_000);

afterAll(() => {
  if (work && !process.env.KEEP_PACK_PROJECT) rmSync(work, { recursive: true, force: true });
});

describe('the packed @platform/client', () => {
  it('holds only the built module, its declarations, package.json and the README', () => {
    const files = packed.files.map((f) => f.path).sort();
    console.log(
      `tarball ${path.basename(tarball)}: ${statSync(tarball).size} bytes packed, ${packed.unpackedSize} unpacked, files: ${files.join(', ')}`,
    );
    for (const f of files) expect(f).toMatch(/^(package\.json|README\.md|dist\/[\w-]+\.(js|d\.ts))$/);
    expect(files).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'dist/index.js',
        'dist/index.d.ts',
        'dist/routers.d.ts',
        'dist/event-types.d.ts',
      ]),
    );
    expect(files.some((f) => f.includes('src/') || (f.endsWith('.ts') && !f.endsWith('.d.ts')) || f.endsWith('.map'))).toBe(false);
  });

  it('installs no workspace package and no server dependency', () => {
    const installed = readdirSync(path.join(project, 'node_modules')).flatMap((d) =>
      d.startsWith('@') ? readdirSync(path.join(project, 'node_modules', d)).map((s) => `${d}/${s}`) : [d],
    );
    expect(installed).toEqual(expect.arrayContaining(['@platform/client', '@trpc/client', '@trpc/server', 'zod', 'typescript']));
    const forbidden = installed.filter((p) =>
      /^(@platform\/(?!client$)|@prisma\/|neo4j-driver$|pg$|nats$|pino$|jose$|trpc-to-openapi$|@opentelemetry\/)/.test(p),
    );
    expect(forbidden).toEqual([]);
  });

  it('type-checks correct calls, outputs and event handling', async () => {
    const r = await tsc(project, 'tsconfig.good.json');
    expect(r.out).toBe('');
    expect(r.code).toBe(0);
  });

  it('refuses wrong calls at compile time, each with the error expected', async () => {
    const r = await tsc(project, 'tsconfig.bad.json');
    expect(r.code).not.toBe(0);
    const errors = r.out.split('\n').filter((l) => l.startsWith('bad.ts('));
    const at = (marker: string) => BAD.split('\n').findIndex((l) => l.includes(marker)) + 2; // the line after the marker
    const errorAt = (marker: string) =>
      errors.find((e) => e.startsWith(`bad.ts(${at(marker)},`)) ?? `no error on line ${at(marker)} (${marker}); got:\n${r.out}`;
    expect(errorAt('wrong input type')).toMatch(/TS2322: Type 'number' is not assignable to type 'string'/);
    expect(errorAt('unknown procedure')).toMatch(/TS2339: Property 'nope' does not exist/);
    expect(errorAt('mutation called as a query')).toMatch(/TS2339: Property 'query' does not exist/);
    expect(errorAt('missing required input')).toMatch(/TS2345|TS2741/);
    expect(errorAt('output used as the wrong type')).toMatch(/TS2322: Type 'string' is not assignable to type 'number'/);
    expect(errorAt('procedure of another service')).toMatch(/TS2339: Property 'blocks' does not exist/);
    expect(errorAt('payload field of another subject')).toMatch(/TS2339: Property 'taskId' does not exist/);
    expect(errors).toHaveLength(7);
  });

  it('loads in Node from the install and validates an event', async () => {
    const script = `
      import { createKnowledgeClient, parseEnvelope, EVENT_STREAMS } from '@platform/client';
      createKnowledgeClient({ url: 'http://127.0.0.1:1', token: () => 't' });
      const e = { id: '6f1c1c3e-3d5e-4f7a-9a59-7d6e1e0f9a10', subject: 'knowledge.block.archived', occurredAt: '2026-01-01T00:00:00Z', source: 'knowledge', data: { blockId: '6f1c1c3e-3d5e-4f7a-9a59-7d6e1e0f9a11', version: 2, archivedBy: 'alice' } };
      const r = parseEnvelope(new TextEncoder().encode(JSON.stringify(e)), { subjects: ['knowledge.block.archived'] });
      console.log(JSON.stringify({ ok: r.ok, stream: EVENT_STREAMS.knowledge }));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: project });
    expect(JSON.parse(stdout)).toEqual({ ok: true, stream: 'KNOWLEDGE_EVENTS' });
  });
});

const GOOD = `
import { createCoordinationClient, createPlatformClient, EVENT_STREAMS, parseEnvelope, TRPCClientError, type TypedEnvelope } from '@platform/client';
import type { inferRouterOutputs } from '@trpc/server';
import type { KnowledgeRouter } from '@platform/client';

let current = 'tok';
const knowledge = createPlatformClient({ service: 'knowledge', url: 'http://127.0.0.1:4101', token: async () => current, timeoutMs: 5_000, retries: { retries: 3, maxRetryAfterMs: 5_000 } });
const coordination = createCoordinationClient({ url: 'http://127.0.0.1:4103', token: () => current, retries: 0, batch: false });

type Block = inferRouterOutputs<KnowledgeRouter>['blocks']['get'];

export async function titleOf(id: string): Promise<string> {
  const block: Block = await knowledge.blocks.get.query({ id });
  const version: number = block.version;
  return \`\${block.title} v\${version}\`;
}

export async function decide(sessionId: string) {
  try {
    const created = await knowledge.blocks.create.mutate({ type: 'Decision', sessionId, title: 'Use JetStream' });
    return created.id;
  } catch (err) {
    if (err instanceof TRPCClientError && err.data?.code === 'FORBIDDEN') return null;
    throw err;
  }
}

export const jobs = () => coordination.jobs;

export function onMessage(data: Uint8Array, subject: string): string | null {
  const parsed = parseEnvelope(data, { subjects: ['knowledge.block.created', 'operations.task.created'], receivedOn: subject });
  if (!parsed.ok) return parsed.reason;
  const e: TypedEnvelope<'knowledge.block.created' | 'operations.task.created'> = parsed.envelope;
  if (e.subject === 'knowledge.block.created') return e.data.blockId + e.data.title;
  return e.data.taskId + EVENT_STREAMS.operations;
}
`;

// Each wrong line comes right after a comment naming what is wrong; the test expects exactly one
// error per marker, on that line.
const BAD = `
import { createKnowledgeClient, createOperationsClient, parseEnvelope } from '@platform/client';

const knowledge = createKnowledgeClient({ url: 'http://127.0.0.1:4101', token: () => 'tok' });
const operations = createOperationsClient({ url: 'http://127.0.0.1:4102', token: () => 'tok' });

export async function wrong() {
  // wrong input type
  await knowledge.blocks.get.query({ id: 42 });
  // unknown procedure
  await knowledge.blocks.nope.query({ id: 'a' });
  // mutation called as a query
  await knowledge.blocks.create.query({ type: 'Decision', sessionId: 's', title: 't' });
  // missing required input
  await knowledge.blocks.create.mutate({ type: 'Decision', sessionId: 's' });
  const block = await knowledge.blocks.get.query({ id: 'a' });
  // output used as the wrong type
  const n: number = block.title;
  // procedure of another service
  await operations.blocks.get.query({ id: 'a' });
  const parsed = parseEnvelope(new Uint8Array(), { subjects: ['knowledge.block.created'] });
  if (parsed.ok) {
    // payload field of another subject
    return parsed.envelope.data.taskId;
  }
  return n;
}
`;
