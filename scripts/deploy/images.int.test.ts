/**
 * The Dockerfile and .dockerignore, read as text: stages, install/prune steps, the runtime contract
 * (non-root, NODE_ENV, HOST/PORT, HEALTHCHECK on /healthz, tini as PID 1, the built entry point), the
 * workspace packages each image copies, and what the build context keeps out. What only a build can
 * show (sizes, Node 24 inside, no npm, labels, running hardened) is scripts/images/check.ts, on
 * images built by scripts/images/build.sh.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { coordinationEnv } from '../../services/coordination/src/config.js';
import { knowledgeEnv } from '../../services/knowledge/src/config.js';
import { operationsEnv } from '../../services/operations/src/config.js';
import { ROOT, SERVICE_CHARTS, type ServiceName } from './lib.js';

interface Instruction {
  op: string;
  args: string;
  stage: string;
}

/** Dockerfile → instructions (continuations joined, comments dropped), each tagged with its stage. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let stage = '';
  const logical = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  for (const line of logical) {
    const [op, ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (op!.toUpperCase() === 'FROM') stage = /\bAS\s+(\S+)/i.exec(args)?.[1] ?? '';
    out.push({ op: op!.toUpperCase(), args, stage });
  }
  return out;
}

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  workspaces?: string[];
}
const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Manifest;
const rootManifest = readJson(path.join(ROOT, 'package.json'));

/** Workspace directories (shared/*, services/*) → package name. */
const workspaces = new Map<string, string>();
for (const pattern of rootManifest.workspaces ?? []) {
  const base = pattern.replace(/\/\*$/, '');
  for (const dir of readdirSync(path.join(ROOT, base))) {
    const file = path.join(ROOT, base, dir, 'package.json');
    if (existsSync(file)) workspaces.set(`${base}/${dir}`, readJson(file).name);
  }
}
const dirOf = (name: string) => [...workspaces].find(([, n]) => n === name)?.[0];

/** Workspace packages a service needs at run time: its production dependencies, transitively. */
function runtimeWorkspaces(service: ServiceName): string[] {
  const seen = new Set<string>();
  const visit = (dir: string) => {
    if (seen.has(dir)) return;
    seen.add(dir);
    for (const dep of Object.keys(readJson(path.join(ROOT, dir, 'package.json')).dependencies ?? {})) {
      const d = dirOf(dep);
      if (d) visit(d);
    }
  };
  visit(`services/${service}`);
  return [...seen].sort();
}

const ports: Record<ServiceName, number> = {
  knowledge: knowledgeEnv.shape.PORT.parse(undefined),
  operations: operationsEnv.shape.PORT.parse(undefined),
  coordination: coordinationEnv.shape.PORT.parse(undefined),
};

/** .dockerignore semantics: patterns relative to the context root, `!` re-includes, last match wins. */
function dockerignore(): (file: string) => boolean {
  const rules = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = (negate ? l.slice(1) : l).replace(/^\//, '').replace(/\/$/, '');
      const re = pattern
        .split('/')
        .map((seg) => (seg === '**' ? '.*' : seg.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')))
        .join('/')
        .replace(/\.\*\//g, '(?:.*/)?');
      // A pattern matches a path or any path below it.
      return { negate, re: new RegExp(`^${re}(?:/.*)?$`) };
    });
  return (file) => rules.reduce((ignored, r) => (r.re.test(file) ? !r.negate : ignored), false);
}

describe('Dockerfile (one for the three services)', () => {
  const text = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  const ins = parseDockerfile(text);
  const inStage = (stage: string, op: string) => ins.filter((i) => i.stage === stage && i.op === op);
  const runtime = (op: string) => inStage('runtime', op);
  const runs = (stage: string) => inStage(stage, 'RUN').map((i) => i.args).join('\n');

  it('is multi-stage on a small Node 24 LTS base: deps → build → extra → prod-deps → runtime', () => {
    expect(ins.filter((i) => i.op === 'FROM').map((i) => i.stage)).toEqual(['deps', 'build', 'extra', 'prod-deps', 'runtime']);
    expect(text).toMatch(/^ARG NODE_IMAGE=node:24-[a-z]+-slim$/m);
    expect(ins.filter((i) => i.op === 'FROM' && i.stage !== 'build' && i.stage !== 'extra').every((i) => i.args.startsWith('${NODE_IMAGE}'))).toBe(true);
    // A `# syntax=` line makes BuildKit pull its frontend from Docker Hub; the built-in one has cache mounts.
    expect(text).not.toMatch(/^#\s*syntax=/m);
  });

  it('installs with npm ci against the lockfile, copying every workspace manifest first', () => {
    const copies = inStage('deps', 'COPY').map((i) => i.args);
    expect(copies[0]).toBe('package.json package-lock.json .npmrc ./');
    for (const dir of workspaces.keys()) expect(copies, `COPY ${dir}/package.json`).toContain(`${dir}/package.json ${dir}/`);
    expect(runs('deps')).toMatch(/\bnpm ci\b/);
  });

  it('trusts an extra CA for npm only when the optional npm_ca build secret is given, never in a layer', () => {
    for (const stage of ['deps', 'prod-deps']) {
      const run = runs(stage);
      expect(run, stage).toContain('--mount=type=secret,id=npm_ca');
      expect(run, stage).toContain('if [ -s /run/secrets/npm_ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/npm_ca; fi');
      expect(run, stage).toContain('--mount=type=cache,target=/root/.npm');
    }
    expect(ins.filter((i) => i.op === 'ENV' || i.op === 'ARG').map((i) => i.args).join(' ')).not.toMatch(/CA_CERTS|cafile/i);
  });

  it('builds the three services once with turbo (tsc), and operations its migrator with it', () => {
    for (const service of SERVICE_CHARTS) expect(runs('build')).toContain(`--filter=@platform/${service}...`);
    expect(readJson(path.join(ROOT, 'services/operations/package.json'))).toHaveProperty(['scripts', 'build'], expect.stringContaining('tsc -p tsconfig.migrate.json'));
    expect(inStage('build', 'ARG')).toEqual([]); // nothing per service: the second and third image find it cached
  });

  it('checks the SERVICE/PORT pair against each service default port', () => {
    expect(runs('prod-deps')).toContain(`case "$SERVICE" in ${SERVICE_CHARTS.join('|')})`);
    expect(runs('runtime')).toContain(`case "$SERVICE:$PORT" in ${SERVICE_CHARTS.map((s) => `${s}:${ports[s]}`).join('|')})`);
  });

  it('prunes to the production dependencies of this workspace only, without the other services\' manifests', () => {
    expect(runs('prod-deps')).toMatch(/npm ci --omit=dev --omit=optional --workspace=@platform\/\$\{SERVICE\}/);
    // Another service's manifest would bring in the dependencies of the services this one links for types.
    const copies = inStage('prod-deps', 'COPY').map((i) => i.args);
    expect(copies).toContain('--from=deps /app/services/${SERVICE}/package.json ./services/${SERVICE}/');
    expect(copies.filter((c) => /\/app\/services\b/.test(c))).toHaveLength(1);
  });

  it('copies the built output of exactly the workspaces each service needs at run time', () => {
    const dists = runtime('COPY')
      .map((i) => /--from=build \/app\/(\S+)\/dist \.\/(\S+)\/dist/.exec(i.args))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => {
        expect(m[1]).toBe(m[2]);
        return m[1]!;
      });
    for (const service of SERVICE_CHARTS) {
      const copied = dists.map((d) => d.replace('${SERVICE}', service)).sort();
      expect(copied, service).toEqual(runtimeWorkspaces(service));
    }
  });

  it('runs as non-root, NODE_ENV=production, HOST 0.0.0.0 and its own port, under tini, with a /healthz HEALTHCHECK', () => {
    const env = runtime('ENV').map((i) => i.args).join(' ');
    expect(env).toContain('NODE_ENV=production');
    expect(env).toContain('HOST=0.0.0.0');
    expect(env).toContain('PORT=${PORT}');
    expect(runtime('EXPOSE').map((i) => i.args)).toEqual(['${PORT}']);
    const user = runtime('USER').at(-1)?.args;
    expect(user && !/^(root|0)(:|$)/.test(user), `USER ${user}`).toBe(true);
    expect(runtime('HEALTHCHECK')[0]?.args).toMatch(/CMD \[.*process\.env\.PORT.*\/healthz/);
    expect(runtime('STOPSIGNAL')[0]?.args).toBe('SIGTERM');
    expect(runtime('ENTRYPOINT')[0]?.args).toBe('["/usr/bin/tini", "--"]');
    expect(runtime('CMD')[0]?.args).toBe('["node", "--import", "./dist/instrumentation.js", "dist/main.js"]');
    expect(runtime('WORKDIR').at(-1)?.args).toBe('/app/services/${SERVICE}');
    for (const service of SERVICE_CHARTS) {
      for (const f of ['dist/instrumentation.js', 'dist/main.js']) {
        // The entry points exist in the source as .ts (the build turns them into these .js files).
        expect(existsSync(path.join(ROOT, 'services', service, 'src', path.basename(f).replace(/\.js$/, '.ts'))), `${service} ${f}`).toBe(true);
      }
    }
  });

  it('takes npm, npx, corepack and yarn off the runtime (it only runs node)', () => {
    expect(runs('runtime')).toMatch(/rm -rf \/usr\/local\/lib\/node_modules \/usr\/local\/bin\/npm \/usr\/local\/bin\/npx \/usr\/local\/bin\/corepack/);
  });

  it('keeps the root filesystem read-only friendly: files owned by root, nothing written at run time', () => {
    expect(runtime('COPY').every((i) => !i.args.includes('--chown'))).toBe(true);
    expect(runtime('VOLUME')).toEqual([]);
  });

  it('carries the OCI labels, last (a new revision re-labels without rebuilding a layer)', () => {
    const label = runtime('LABEL').map((i) => i.args).join(' ');
    for (const key of ['title', 'description', 'version', 'revision', 'created', 'source']) expect(label).toContain(`org.opencontainers.image.${key}=`);
    expect(ins.at(-1)?.op).toBe('LABEL');
  });

  it('generates the Prisma client at build time and ships the migrator with operations only (never run on start)', () => {
    const build = inStage('build', 'COPY').map((i) => i.args);
    expect(build).toContain('prisma ./prisma');
    expect(build).toContain('services ./services');
    // turbo's build depends on prisma:generate (turbo.json), which operations defines.
    const turbo = JSON.parse(readFileSync(path.join(ROOT, 'turbo.json'), 'utf8')) as { tasks: Record<string, { dependsOn?: string[] }> };
    expect(turbo.tasks['build']?.dependsOn).toContain('prisma:generate');
    expect(readJson(path.join(ROOT, 'services/operations/package.json'))).toHaveProperty(['scripts', 'prisma:generate']);
    const extra = runs('extra');
    expect(extra).toMatch(/if \[ "\$SERVICE" = operations \]; then/);
    for (const p of ['cp -r prisma/migrations /extra/prisma/', 'cp -r node_modules/@prisma/schema-engine-wasm /extra/node_modules/@prisma/']) expect(extra).toContain(p);
    expect(runtime('COPY').map((i) => i.args)).toContain('--from=extra /extra ./');
    expect(runtime('CMD')[0]?.args).not.toMatch(/migrate/);
  });
});

describe('.dockerignore', () => {
  const ignored = dockerignore();

  it('keeps local state, installed modules, build outputs, secrets and the generated client out of the context', () => {
    for (const f of [
      '.data/postgres/PG_VERSION',
      'node_modules/zod/package.json',
      'shared/kit/node_modules/x/index.js',
      'services/knowledge/dist/main.js',
      'dist/migrate/migrate.js',
      'services/operations/dist/migrate/migrate.js',
      'services/operations/migrate/migrate.int.test.ts',
      'scripts/lib/processes.ts',
      '.turbo/cache/x',
      '.git/HEAD',
      '.env',
      '.env.local',
      'services/operations/src/generated/prisma/client.ts',
      'shared/kit/src/config.unit.test.ts',
      'services/knowledge/test/x.int.test.ts',
      'helm/agent-platform/values.yaml',
      'scripts/deploy/lib.ts',
    ]) {
      expect(ignored(f), `${f} must be ignored`).toBe(true);
    }
  });

  it('keeps everything the Dockerfiles COPY', () => {
    for (const f of [
      'package.json',
      'package-lock.json',
      '.npmrc',
      'tsconfig.base.json',
      'turbo.json',
      'prisma.config.ts',
      'prisma/schema.prisma',
      'prisma/migrations/migration_lock.toml',
      'services/operations/migrate/migrate.ts',
      'services/operations/tsconfig.migrate.json',
      'shared/kit/src/index.ts',
      'shared/kit/tsconfig.build.json',
      'services/operations/src/main.ts',
      'services/knowledge/package.json',
    ]) {
      expect(ignored(f), `${f} must stay in the build context`).toBe(false);
    }
  });
});
