/**
 * The service images, run for real (podman), hardened as a cluster runs them: read-only root
 * filesystem, uid 1000, every capability dropped, no-new-privileges, a tmpfs on /tmp only.
 *
 *   1. inside each image: Node 24, no npm/npx/corepack on the PATH, no npm cache, no TypeScript,
 *      uid 1000, the OCI labels
 *   2. the operations image's migrator on a scratch database: applies every migration, then finds
 *      none pending
 *   3. knowledge, coordination, operations as containers (host network, 127.0.0.1, ports from
 *      --port-base: 4601–4603 by default, apart from `npm start`'s 4101–4103) against the local
 *      stores, each /readyz 200, tini as PID 1 (knowledge also serves its console page)
 *   4. the vertical slice (scripts/lib/vertical-slice.ts, what `npm run demo` walks) through them,
 *      with an example agent on the host taking the job
 *   5. SIGTERM (`podman stop`: the image's STOPSIGNAL, forwarded by tini): every container exits 0
 *
 *   bash scripts/images/build.sh   (the images)
 *   eval "$(bash scripts/infra.sh env)"; npx tsx --conditions=@platform/source scripts/images/check.ts [--port-base 4601] [--tag dev]
 *
 * Expects CONTAINERS_CONF as scripts/images/engine.sh writes it (scripts/images/check.sh sets both up).
 * Container logs: .data/logs/images/.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createScratchDatabase } from '@platform/operations/migrate';
import { agentNatsEnv, DEV_AUTH, ROOT, storeEnv, type ServiceName } from '@platform/testkit';
import { enrolAgent, EXAMPLE_AGENT_ARGS, spawnNode, type ServiceProcess } from '../lib/processes.js';
import { walkVerticalSlice } from '../lib/vertical-slice.js';

const SERVICES: ServiceName[] = ['knowledge', 'coordination', 'operations'];
const LABELS = ['title', 'description', 'version', 'revision', 'created', 'source'].map((l) => `org.opencontainers.image.${l}`);
/**
 * How every container here runs: what the Helm charts' securityContext and compose ask for.
 * --no-healthcheck: podman runs HEALTHCHECK through systemd timers, absent here; the check polls
 * /readyz itself.
 */
const HARDENED = [
  '--read-only',
  '--cap-drop=ALL',
  '--security-opt',
  'no-new-privileges',
  '--user',
  '1000',
  '--tmpfs',
  '/tmp:rw,size=64m,mode=1777',
  '--network=host',
  '--no-healthcheck',
];
const LOG_DIR = path.join(ROOT, '.data', 'logs', 'images');

function log(msg: string): void {
  process.stdout.write(`[images] ${msg}\n`);
}

function fail(msg: string): never {
  throw new Error(msg);
}

/** podman with `env` added to its environment: `-e NAME` (no value) passes NAME from there, so secrets never show in argv. */
function podman(args: string[], env: Record<string, string> = {}): { code: number; out: string; err: string } {
  const r = spawnSync('podman', args, { env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { code: r.status ?? 1, out: r.stdout.trim(), err: r.stderr.trim() };
}

function podmanOk(args: string[], env: Record<string, string> = {}): string {
  const r = podman(args, env);
  if (r.code !== 0) fail(`podman ${args.join(' ')} exited ${r.code}: ${r.err || r.out}`);
  return r.out;
}

const envFlags = (env: Record<string, string>) => Object.keys(env).flatMap((k) => ['-e', k]);

/** Step 1: what is (and is not) inside the image, from the image itself. */
function inspectImage(service: ServiceName, image: string): void {
  const labels = JSON.parse(podmanOk(['image', 'inspect', '--format', '{{json .Labels}}', image])) as Record<string, string> | null;
  for (const l of LABELS) if (!labels?.[l]) fail(`${image}: label ${l} is missing`);
  if (labels!['org.opencontainers.image.title'] !== `agent-platform-${service}`)
    fail(`${image}: title label is ${labels!['org.opencontainers.image.title']}`);
  // One shell in the image, hardened like the service, that prints facts; asserted here.
  const script = [
    'echo "node=$(node --version)"',
    'echo "uid=$(id -u)"',
    'for t in npm npx corepack yarn gcc make python3 tsc; do command -v "$t" >/dev/null && echo "tool=$t"; done',
    'for d in /root/.npm /home/node/.npm /app/node_modules/typescript /app/node_modules/.cache /run/secrets/npm_ca; do [ -e "$d" ] && echo "present=$d"; done',
    'touch /app/x 2>/dev/null && echo "writable=/app"',
    'touch /tmp/x && echo "tmp=writable"',
    'echo "pid1=$(tr "\\0" " " </proc/1/cmdline)"',
  ].join('; ');
  // No --user here: uid 1000 must be the image's own USER.
  const facts = podmanOk([
    'run',
    '--rm',
    '--read-only',
    '--cap-drop=ALL',
    '--security-opt',
    'no-new-privileges',
    '--tmpfs',
    '/tmp',
    '--network=none',
    '--no-healthcheck',
    image,
    'sh',
    '-c',
    script,
  ]);
  const lines = facts.split('\n');
  const get = (k: string) => lines.filter((l) => l.startsWith(`${k}=`)).map((l) => l.slice(k.length + 1));
  if (!/^v24\./.test(get('node')[0] ?? '')) fail(`${image}: node --version is ${get('node')[0]}, not v24`);
  if (get('uid')[0] !== '1000') fail(`${image}: runs as uid ${get('uid')[0]}, not 1000`);
  if (get('tool').length) fail(`${image}: has ${get('tool').join(', ')} on the PATH`);
  if (get('present').length) fail(`${image}: contains ${get('present').join(', ')}`);
  if (get('writable').length) fail(`${image}: /app is writable`);
  if (get('tmp')[0] !== 'writable') fail(`${image}: /tmp (tmpfs) is not writable`);
  if (!/^\/usr\/bin\/tini -- /.test(get('pid1')[0] ?? '')) fail(`${image}: PID 1 is "${get('pid1')[0]}", not tini`);
  log(
    `${service}: ${get('node')[0]}, uid 1000, no npm/npx/corepack/build tools, no npm cache or CA secret, /app read-only, tini PID 1, labels ${labels!['org.opencontainers.image.version']}@${(labels!['org.opencontainers.image.revision'] ?? '').slice(0, 12)}`,
  );
}

/** Step 2: the migrator, twice, on a scratch database. */
async function migrate(image: string, adminUrl: string): Promise<void> {
  const scratch = await createScratchDatabase(adminUrl, 'image_check');
  try {
    for (const [round, expect] of [
      [1, /applied \d{14}_/],
      [2, /no pending migrations/],
    ] as const) {
      const env = { DATABASE_ADMIN_URL: scratch.url };
      const r = podman(
        ['run', '--rm', ...HARDENED, ...envFlags(env), image, 'node', '/app/services/operations/dist/migrate/migrate.js', 'deploy'],
        env,
      );
      const out = `${r.out}\n${r.err}`.trim();
      writeFileSync(path.join(LOG_DIR, `migrate-${round}.log`), out);
      if (r.code !== 0 || !expect.test(out)) fail(`migrator round ${round} exited ${r.code}:\n${out}`);
      log(`migrator round ${round}: ${out.split('\n').slice(1).join('; ')}`);
    }
  } finally {
    await scratch.drop();
  }
}

/** The service's own NATS user (<SERVICE>_NATS_USER), as every deployment gives it. */
function natsCredentials(stores: Record<string, string>, service: ServiceName): Record<string, string> {
  const user = stores[`${service.toUpperCase()}_NATS_USER`];
  const password = stores[`${service.toUpperCase()}_NATS_PASSWORD`];
  if (user && password) return { NATS_USER: user, NATS_PASSWORD: password };
  return stores['NATS_USER'] ? { NATS_USER: stores['NATS_USER'], NATS_PASSWORD: stores['NATS_PASSWORD'] ?? '' } : {};
}

async function waitReady(service: ServiceName, container: string, port: number, timeoutMs = 90_000): Promise<unknown> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const state = podman(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', container]).out;
    if (!state.startsWith('running'))
      fail(`${service} container is ${state} before ready:\n${podman(['logs', '--tail', '30', container]).err}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2_000) });
      const body = await res.text();
      if (res.status === 200) return JSON.parse(body);
      last = `${res.status} ${body}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  fail(`${service} /readyz not 200 after ${timeoutMs} ms: ${last}`);
}

function saveLogs(container: string, file: string): void {
  const r = podman(['logs', container]);
  writeFileSync(path.join(LOG_DIR, file), `${r.out}\n${r.err}`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { 'port-base': { type: 'string', default: '4601' }, tag: { type: 'string', default: process.env['IMAGE_TAG'] ?? 'dev' } },
  });
  const base = Number(values['port-base']);
  const ports: Record<ServiceName, number> = { knowledge: base, operations: base + 1, coordination: base + 2 };
  const image = (s: ServiceName) => `localhost/agent-platform/${s}:${values.tag}`;
  const stores = storeEnv();
  for (const k of ['DATABASE_URL', 'DATABASE_ADMIN_URL', 'NATS_URL', 'NEO4J_URI', 'NEO4J_USER', 'NEO4J_PASSWORD']) {
    if (!stores[k]) fail(`${k} is not set: start the stores (bash scripts/infra.sh up) or export their URLs`);
  }
  mkdirSync(LOG_DIR, { recursive: true });
  const name = (s: ServiceName) => `agent-platform-check-${s}`;
  // Left over from an interrupted run.
  podman(['rm', '--force', '--ignore', ...SERVICES.map(name)]);

  for (const s of SERVICES) inspectImage(s, image(s));
  await migrate(image('operations'), stores['DATABASE_ADMIN_URL']!);

  let agent: ServiceProcess | undefined;
  const started: ServiceName[] = [];
  try {
    for (const service of SERVICES) {
      const free = await fetch(`http://127.0.0.1:${ports[service]}/healthz`, { signal: AbortSignal.timeout(1_000) }).then(
        () => false,
        () => true,
      );
      if (!free) fail(`port ${ports[service]} is already in use: pick another --port-base`);
      const env: Record<string, string> = {
        // Loopback only (the machine's rule for servers); the image's default is 0.0.0.0 for a pod network.
        HOST: '127.0.0.1',
        PORT: String(ports[service]),
        LOG_LEVEL: 'info',
        // The private key inline: the container's uid cannot read .data/keys (0600), as in a cluster it gets a Secret.
        ...DEV_AUTH.serviceEnv(service, { inlineKey: true }),
        NATS_URL: stores['NATS_URL']!,
        ...natsCredentials(stores, service),
        ...(service === 'knowledge'
          ? { NEO4J_URI: stores['NEO4J_URI']!, NEO4J_USER: stores['NEO4J_USER']!, NEO4J_PASSWORD: stores['NEO4J_PASSWORD']! }
          : {}),
        ...(service === 'operations'
          ? { DATABASE_URL: stores['DATABASE_URL']!, KNOWLEDGE_URL: `http://127.0.0.1:${ports.knowledge}` }
          : {}),
        ...(service === 'coordination' ? { OPERATIONS_URL: `http://127.0.0.1:${ports.operations}` } : {}),
      };
      podmanOk(['run', '--detach', '--name', name(service), ...HARDENED, ...envFlags(env), image(service)], env);
      started.push(service);
      const ready = await waitReady(service, name(service), ports[service]);
      const pid1 = podmanOk(['exec', name(service), 'sh', '-c', 'tr "\\0" " " </proc/1/cmdline']);
      if (!pid1.startsWith('/usr/bin/tini -- node ')) fail(`${service}: PID 1 is "${pid1}"`);
      if (service === 'knowledge') {
        // The operator console's bundle (built into dist/console by knowledge's build) ships in the image.
        const page = await fetch(`http://127.0.0.1:${ports.knowledge}/console/`);
        if (page.status !== 200 || !(page.headers.get('content-type') ?? '').startsWith('text/html'))
          fail(`knowledge /console/ answered ${page.status} ${page.headers.get('content-type')}`);
      }
      log(`${service}: container up, /readyz 200 ${JSON.stringify(ready)}${service === 'knowledge' ? ', /console/ 200' : ''}`);
    }

    const coordinationUrl = `http://127.0.0.1:${ports.coordination}`;
    agent = spawnNode(
      'example-agent',
      EXAMPLE_AGENT_ARGS,
      {
        ...agentNatsEnv(),
        COORDINATION_URL: coordinationUrl,
        AGENT_NAME: 'image-check-agent',
        AGENT_ENROLMENT_TOKEN: await enrolAgent(coordinationUrl, 'image-check-agent'),
        AGENT_WORK_MS: '20',
      },
      'images/example-agent',
    );
    log('vertical slice through the containers (example agent on the host):');
    await walkVerticalSlice(ports, 'image-check-user', (n, text, detail) => log(`  ${n}. ${text} ${JSON.stringify(detail)}`));
    const agentCode = await agent.stop();
    agent = undefined;
    if (agentCode !== 0) fail(`the example agent exited ${agentCode} on SIGTERM`);

    // Dependents first, as a rollout drains them.
    for (const service of [...started].reverse()) {
      const t0 = Date.now();
      podmanOk(['stop', '--time', '30', name(service)]);
      const code = podmanOk(['inspect', '--format', '{{.State.ExitCode}}', name(service)]);
      saveLogs(name(service), `${service}.log`);
      if (code !== '0') fail(`${service} exited ${code} on SIGTERM (log: .data/logs/images/${service}.log)`);
      log(`${service}: SIGTERM → exit 0 in ${Date.now() - t0} ms`);
    }
    started.length = 0;
    writeFileSync(path.join(LOG_DIR, 'ok'), new Date().toISOString());
  } finally {
    await agent?.stop('SIGKILL');
    for (const service of started) saveLogs(name(service), `${service}.log`);
    podman(['rm', '--force', '--ignore', ...SERVICES.map(name)]);
  }
}

main().then(
  () => log('passed'),
  (err: unknown) => {
    process.stderr.write(
      `[images] FAILED: ${err instanceof Error ? err.message : String(err)}\n(container logs: ${path.relative(ROOT, LOG_DIR)}/)\n`,
    );
    process.exit(1);
  },
);
