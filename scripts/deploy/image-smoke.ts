/**
 * Image smoke test without a container engine: assembles, for each service, the exact file tree its
 * Dockerfile's runtime stage produces (/app), starts it the way the image's CMD does, and proves it
 * answers /readyz 200 against real stores, then stops on SIGTERM with exit 0. Also runs the operations
 * image's migrator (`node /app/dist/migrate/migrate.js deploy`) against a scratch database.
 *
 *   npx turbo run build && npx tsc -p scripts/deploy/tsconfig.migrate.json   (what the build stage does)
 *   eval "$(bash scripts/infra.sh env)"; npx tsx scripts/deploy/image-smoke.ts [--port-base 4601]
 *
 * The tree of production dependencies is computed by npm's own Arborist with the Dockerfile's flags
 * (`npm ci --omit=dev --omit=optional --workspace=<service>`, then `rm -rf node_modules/typescript`), in
 * a dry run on a copy of the manifests; the packages are copied from the installed node_modules.
 * The tree lives outside the repository (os.tmpdir()), so node cannot fall back to the repo's
 * node_modules; when run as root the services run as uid/gid 65534 (nobody), which cannot write to the tree
 * (non-root, read-only application files, like the image).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEV_AUTH, ROOT, storeEnv } from '../lib/local-env.js';
import { createScratchDatabase } from '../prisma/scratch-db.js';

type Service = 'knowledge' | 'operations' | 'coordination';
const SERVICES: Service[] = ['knowledge', 'coordination', 'operations'];
const WORKSPACES = ['shared/contracts', 'shared/kit', 'shared/otel', 'shared/agent-sdk', 'services/knowledge', 'services/operations', 'services/coordination'];

interface ArboristDiff {
  action: string | null;
  ideal: { location: string; isLink: boolean; target: { location: string } } | null;
  children: ArboristDiff[];
}
interface ArboristInstance {
  buildIdealTree(opts?: object): Promise<unknown>;
  reify(opts?: object): Promise<unknown>;
  diff: ArboristDiff;
}
type ArboristCtor = new (opts: object) => ArboristInstance;

function log(msg: string): void {
  process.stdout.write(`[image-smoke] ${msg}\n`);
}

/** node_modules entries `npm ci --omit=dev --omit=optional --workspace=<ws>` would create (dry run). */
async function productionTree(workspace: string): Promise<{ dirs: string[]; links: Array<[string, string]> }> {
  // npm's own install (its bin/npm-cli.js, through the `npm` on the PATH), not `npm root -g`: under
  // the Node that scripts/lib/node-runtime.sh puts first, the global root is that Node's, without npm.
  const npmCli = realpathSync(execFileSync('bash', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim());
  const npmDir = path.dirname(path.dirname(npmCli));
  const Arborist = createRequire(import.meta.url)(path.join(npmDir, 'node_modules', '@npmcli', 'arborist')) as ArboristCtor;
  const manifests = mkdtempSync(path.join(tmpdir(), 'image-smoke-manifests-'));
  try {
    for (const f of ['package.json', 'package-lock.json']) cpSync(path.join(ROOT, f), path.join(manifests, f));
    for (const ws of WORKSPACES) {
      mkdirSync(path.join(manifests, ws), { recursive: true });
      cpSync(path.join(ROOT, ws, 'package.json'), path.join(manifests, ws, 'package.json'));
    }
    const opts = { path: manifests, workspaces: [workspace], omit: ['dev', 'optional'], packageLock: true, save: false, dryRun: true, audit: false, fund: false };
    const arb = new Arborist(opts);
    await arb.buildIdealTree(opts);
    await arb.reify(opts);
    const dirs: string[] = [];
    const links: Array<[string, string]> = [];
    const walk = (d: ArboristDiff) => {
      if ((d.action === 'ADD' || d.action === 'CHANGE') && d.ideal) {
        if (d.ideal.isLink) links.push([d.ideal.location, d.ideal.target.location]);
        else dirs.push(d.ideal.location);
      }
      d.children.forEach(walk);
    };
    walk(arb.diff);
    return { dirs: dirs.filter((d) => d !== 'node_modules/typescript' && !d.startsWith('node_modules/typescript/')), links };
  } finally {
    rmSync(manifests, { recursive: true, force: true });
  }
}

/** The runtime stage of services/<svc>/Dockerfile, as a directory. */
async function assemble(service: Service, app: string): Promise<void> {
  const { dirs, links } = await productionTree(`@platform/${service}`);
  cpSync(path.join(ROOT, 'package.json'), path.join(app, 'package.json'));
  for (const dir of dirs.sort()) {
    const from = path.join(ROOT, dir);
    if (!existsSync(from)) throw new Error(`${dir} is in the production tree but not installed in ${ROOT}`);
    // Nested node_modules are separate entries of the tree: copy each package without them.
    cpSync(from, path.join(app, dir), { recursive: true, filter: (src) => src === from || !path.relative(from, src).split(path.sep).includes('node_modules') });
  }
  const dists = new Set<string>([`services/${service}`]);
  for (const [link, target] of links) {
    mkdirSync(path.dirname(path.join(app, link)), { recursive: true });
    symlinkSync(path.relative(path.dirname(path.join(app, link)), path.join(app, target)), path.join(app, link));
    dists.add(target);
  }
  for (const ws of WORKSPACES) {
    mkdirSync(path.join(app, ws), { recursive: true });
    cpSync(path.join(ROOT, ws, 'package.json'), path.join(app, ws, 'package.json'));
  }
  // The Dockerfile copies the dist of the service and of the shared packages it needs at run time.
  for (const ws of dists) {
    const dist = path.join(ROOT, ws, 'dist');
    if (!existsSync(path.join(dist, 'index.js')) && !existsSync(path.join(dist, 'main.js'))) {
      if (ws.startsWith('services/') && ws !== `services/${service}`) continue; // devDependency link (types only)
      throw new Error(`${ws}/dist is missing: run \`npx turbo run build\` first`);
    }
    cpSync(dist, path.join(app, ws, 'dist'), { recursive: true });
  }
  if (service === 'operations') {
    cpSync(path.join(ROOT, 'node_modules/@prisma/schema-engine-wasm'), path.join(app, 'node_modules/@prisma/schema-engine-wasm'), { recursive: true });
    if (!existsSync(path.join(ROOT, 'dist/migrate/migrate.js'))) throw new Error('dist/migrate is missing: run `npx tsc -p scripts/deploy/tsconfig.migrate.json` first');
    cpSync(path.join(ROOT, 'dist/migrate'), path.join(app, 'dist/migrate'), { recursive: true });
    cpSync(path.join(ROOT, 'prisma/migrations'), path.join(app, 'prisma/migrations'), { recursive: true });
  }
  log(`${service}: ${dirs.length} packages, ${links.length} workspace links → ${app}`);
}

/** nobody:nogroup, when we are root (as in the image: a user that owns none of the files). */
const asNobody = process.getuid?.() === 0;

function run(name: string, cwd: string, args: string[], env: Record<string, string>, logFile: string): ChildProcess {
  // A clean environment: what the container would get, nothing inherited from this shell.
  const child = spawn(process.execPath, args, {
    cwd,
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', NODE_ENV: 'production', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(asNobody ? { uid: 65534, gid: 65534 } : {}),
  });
  const out = createWriteStream(logFile);
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  child.on('error', (e) => log(`${name}: ${e.message}`));
  return child;
}

async function waitReady(url: string, child: ChildProcess, logFile: string, timeoutMs = 90_000): Promise<unknown> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode} before ready:\n${tail(logFile)}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      const body = await res.text();
      if (res.status === 200) return JSON.parse(body);
      last = `${res.status} ${body}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms: ${last}\n${tail(logFile)}`);
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '';
  }
}

async function stop(child: ChildProcess, timeoutMs = 20_000): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM'); // what tini forwards to node in the image

  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

async function migrate(app: string, adminUrl: string, logDir: string): Promise<void> {
  const scratch = await createScratchDatabase(adminUrl, 'image_smoke');
  try {
    for (const [round, expect] of [
      [1, /applied \d{14}_/],
      [2, /no pending migrations/],
    ] as const) {
      const logFile = path.join(logDir, `migrate-${round}.log`);
      const child = run('migrate', app, ['dist/migrate/migrate.js', 'deploy'], { DATABASE_ADMIN_URL: scratch.url }, logFile);
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      await new Promise((r) => setTimeout(r, 100));
      const out = readFileSync(logFile, 'utf8');
      if (code !== 0 || !expect.test(out)) throw new Error(`migrate deploy (round ${round}) exited ${code}:\n${out}`);
      log(`migrator round ${round}: ${out.trim().split('\n').slice(1).join('; ')}`);
    }
  } finally {
    await scratch.drop();
  }
}

/**
 * The service's own NATS user, as every deployment gives it (<SERVICE>_NATS_USER from the local
 * stores); the operator's NATS_USER only for an external server that has a single user.
 */
function natsCredentials(stores: Record<string, string>, service: Service): Record<string, string> {
  const user = stores[`${service.toUpperCase()}_NATS_USER`];
  const password = stores[`${service.toUpperCase()}_NATS_PASSWORD`];
  if (user && password) return { NATS_USER: user, NATS_PASSWORD: password };
  return stores['NATS_USER'] ? { NATS_USER: stores['NATS_USER'], NATS_PASSWORD: stores['NATS_PASSWORD'] ?? '' } : {};
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'port-base': { type: 'string', default: '4601' }, keep: { type: 'boolean', default: false } } });
  const base = Number(values['port-base']);
  const stores = storeEnv();
  for (const k of ['DATABASE_URL', 'DATABASE_ADMIN_URL', 'NATS_URL', 'NEO4J_URI', 'NEO4J_USER', 'NEO4J_PASSWORD']) {
    if (!stores[k]) throw new Error(`${k} is not set: start the stores (bash scripts/infra.sh up) or export their URLs`);
  }
  const work = mkdtempSync(path.join(tmpdir(), 'agent-platform-images-'));
  for (let dir = path.dirname(work); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'node_modules'))) throw new Error(`${dir}/node_modules exists: the smoke tree could resolve packages from it`);
  }
  const logDir = path.join(ROOT, '.data', 'logs', 'image-smoke');
  mkdirSync(logDir, { recursive: true });
  const ports: Record<Service, number> = { knowledge: base, operations: base + 1, coordination: base + 2 };
  const running: ChildProcess[] = [];
  try {
    for (const service of SERVICES) {
      const app = path.join(work, service, 'app');
      mkdirSync(app, { recursive: true });
      await assemble(service, app);
    }
    execFileSync('chmod', ['-R', 'a+rX,go-w', work]);

    await migrate(path.join(work, 'operations', 'app'), stores['DATABASE_ADMIN_URL']!, logDir);

    for (const service of SERVICES) {
      const env: Record<string, string> = {
        HOST: '127.0.0.1',
        PORT: String(ports[service]),
        LOG_LEVEL: 'info',
        // inline: the service may run as nobody, which cannot read .data/keys (0600)
        ...DEV_AUTH.serviceEnv(service, { inlineKey: true }),
        NATS_URL: stores['NATS_URL']!,
        ...natsCredentials(stores, service),
        ...(service === 'knowledge' ? { NEO4J_URI: stores['NEO4J_URI']!, NEO4J_USER: stores['NEO4J_USER']!, NEO4J_PASSWORD: stores['NEO4J_PASSWORD']! } : {}),
        ...(service === 'operations' ? { DATABASE_URL: stores['DATABASE_URL']!, KNOWLEDGE_URL: `http://127.0.0.1:${ports.knowledge}` } : {}),
      };
      const free = await fetch(`http://127.0.0.1:${ports[service]}/healthz`, { signal: AbortSignal.timeout(1_000) }).then(
        () => false,
        () => true,
      );
      if (!free) throw new Error(`port ${ports[service]} is already in use: pick another --port-base`);
      const cwd = path.join(work, service, 'app', 'services', service);
      const logFile = path.join(logDir, `${service}.log`);
      // The image's CMD.
      const child = run(service, cwd, ['--import', './dist/instrumentation.js', 'dist/main.js'], env, logFile);
      running.push(child);
      const ready = await waitReady(`http://127.0.0.1:${ports[service]}/readyz`, child, logFile);
      const health = await fetch(`http://127.0.0.1:${ports[service]}/healthz`);
      if (health.status !== 200) throw new Error(`${service} /healthz answered ${health.status}`);
      log(`${service}: /readyz 200 ${JSON.stringify(ready)}${asNobody ? ' (running as nobody)' : ''}`);
    }
    for (const child of running.reverse()) {
      const code = await stop(child);
      if (code !== 0) throw new Error(`a service exited with ${code} on SIGTERM (logs in ${logDir})`);
    }
    running.length = 0;
    log('all services stopped cleanly on SIGTERM (exit 0)');
    writeFileSync(path.join(logDir, 'ok'), new Date().toISOString());
  } finally {
    for (const child of running) child.kill('SIGKILL');
    if (!values.keep) rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  () => log('passed'),
  (err: unknown) => {
    process.stderr.write(`[image-smoke] FAILED: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
