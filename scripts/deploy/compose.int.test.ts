/**
 * docker-compose.yml without a Docker engine: the Compose Specification's JSON schema (from the
 * compose-go module, fetched by scripts/deploy-check.sh) plus the references `docker compose config`
 * would resolve and the ones it would not check at all (healthchecks behind service_healthy, every
 * ${VAR} in .env.example, each service's environment accepted by that service's own config schema).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { issuerFromEnv } from '@platform/kit';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, parseDocument } from 'yaml';
import type { z } from 'zod';
import { coordinationEnv } from '../../services/coordination/src/config.js';
import { knowledgeEnv } from '../../services/knowledge/src/config.js';
import { operationsEnv } from '../../services/operations/src/config.js';
import { devAuth, keyFile } from '@platform/testkit';
import { NATS_USER_NAMES, passwordEnvVar } from '@platform/contracts/nats-permissions';
import { DEPLOY_DATA, ROOT, SERVICE_PORTS, type ServiceName } from './lib.js';
import { COMPOSE_NATS_CONF, composeNatsConf } from './nats-conf.js';

type Dict = Record<string, unknown>;
const composeText = readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8');

/** .env.example as KEY → value. */
function readEnvExample(): Map<string, string> {
  const env = new Map<string, string>();
  for (const line of readFileSync(path.join(ROOT, '.env.example'), 'utf8').split('\n')) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) env.set(m[1]!, m[2]!);
  }
  return env;
}
const envExample = readEnvExample();

/** Compose interpolation: ${VAR}, ${VAR:-d}, ${VAR-d}, ${VAR:?err}, ${VAR?err}, $VAR; `$$` is a literal `$`. */
const VAR = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;
/** Variables referenced by any string in the document (comments excluded), `$$` escapes skipped. */
function referencedVariables(value: unknown, names = new Set<string>()): Set<string> {
  if (typeof value === 'string') {
    for (const m of value.matchAll(VAR)) {
      const name = m[1] ?? m[4];
      if (name) names.add(name);
    }
  } else if (Array.isArray(value)) {
    value.forEach((v) => referencedVariables(v, names));
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) referencedVariables([k, v], names);
  }
  return names;
}
function interpolate(value: unknown, env: Map<string, string>): unknown {
  if (typeof value === 'string') {
    return value.replace(VAR, (all, braced: string | undefined, op: string | undefined, arg: string | undefined, bare: string | undefined) => {
      if (all === '$$') return '$';
      const name = (braced ?? bare)!;
      const v = env.get(name);
      if (op === ':-') return v ? v : (arg ?? '');
      if (op === '-') return v ?? arg ?? '';
      if (op === ':?' && !v) throw new Error(`required variable ${name} is empty: ${arg}`);
      if (op === '?' && v === undefined) throw new Error(`required variable ${name} is unset: ${arg}`);
      return v ?? '';
    });
  }
  if (Array.isArray(value)) return value.map((v) => interpolate(v, env));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, env)]));
  return value;
}

/**
 * .env.example leaves AUTH_ISSUERS empty on purpose (compose must refuse to start without it); the
 * tests fill it the way `npm run dev-keys` does, from development keys made in a scratch directory.
 */
const keyDir = mkdtempSync(path.join(tmpdir(), 'compose-keys-'));
afterAll(() => rmSync(keyDir, { recursive: true, force: true }));
const dev = devAuth(keyDir);
const envWithKeys = new Map([...envExample, ['AUTH_ISSUERS', JSON.stringify(dev.issuers)]]);

const raw = parseDocument(composeText, { merge: true }).toJS({ maxAliasCount: 100 }) as Dict;
const compose = interpolate(raw, envWithKeys) as Dict;
const services = compose['services'] as Record<string, Dict>;
/** The services that sign tokens (and so hold a private key); knowledge only verifies. */
const SIGNING = ['operations', 'coordination'] as const;
const secretsOf = (svc: Dict): string[] => ((svc['secrets'] ?? []) as Array<string | Dict>).map((s) => (typeof s === 'string' ? s : String(s['source'])));
/** Where compose mounts a secret in the container (short syntax: /run/secrets/<name>; long: target). */
const secretTarget = (svc: Dict, name: string): string | undefined => {
  for (const s of (svc['secrets'] ?? []) as Array<string | Dict>) {
    if (s === name) return `/run/secrets/${name}`;
    if (typeof s === 'object' && s['source'] === name) {
      const t = String(s['target'] ?? name);
      return t.startsWith('/') ? t : `/run/secrets/${t}`;
    }
  }
  return undefined;
};

const environment = (svc: Dict): Record<string, string> => {
  const env = svc['environment'];
  if (Array.isArray(env)) return Object.fromEntries(env.map((e: string) => [e.split('=')[0], e.split('=').slice(1).join('=')]));
  return Object.fromEntries(Object.entries((env ?? {}) as Dict).map(([k, v]) => [k, v === null ? '' : String(v)]));
};
const dependsOn = (svc: Dict): Record<string, { condition?: string }> => {
  const d = svc['depends_on'];
  if (Array.isArray(d)) return Object.fromEntries(d.map((n: string) => [n, { condition: 'service_started' }]));
  return (d ?? {}) as Record<string, { condition?: string }>;
};
const isOneShot = (svc: Dict) => svc['restart'] === 'no';

/** The services, each connecting to NATS as the user of its own name (scripts/infra/nats-config.ts). */
const SERVICES = ['knowledge', 'operations', 'coordination'] as const;
/** One password variable per NATS user, as the server's config reads them ($<USER>_NATS_PASSWORD). */
const NATS_PASSWORD_VARS = NATS_USER_NAMES.map(passwordEnvVar);

describe('docker-compose.yml', () => {
  it('is valid against the Compose Specification JSON schema (compose-go)', () => {
    const schemaFile = path.join(DEPLOY_DATA, 'compose-spec.json');
    if (!existsSync(schemaFile)) throw new Error(`${schemaFile} is missing: run \`bash scripts/deploy-check.sh\` (fetches it through the Go module proxy)`);
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    const validate = ajv.compile(JSON.parse(readFileSync(schemaFile, 'utf8')) as object);
    const ok = validate(compose);
    expect(ok, JSON.stringify(validate.errors, null, 2)).toBe(true);
    // The schema is not vacuous: a typo in a service key is rejected.
    expect(validate({ services: { x: { image: 'busybox', restrat: 'always' } } })).toBe(false);
  });

  it('runs Neo4j 5.26, Postgres 15 and NATS with JetStream, each with a volume', () => {
    expect(services['neo4j']?.['image']).toMatch(/^neo4j:5\.26(\.\d+)?-community$/);
    expect(services['postgres']?.['image']).toMatch(/^postgres:15(\.\d+)?(-[a-z]+)?$/);
    expect(services['nats']?.['image']).toMatch(/^nats:2\.(1[1-9]|[2-9]\d)/);
    // JetStream on the command line, its store in the volume (the config file holds the users).
    expect(services['nats']?.['command']).toEqual(['-c', '/etc/nats/nats.conf', '-js', '-sd', '/data']);
    expect(environment(services['neo4j']!)['NEO4J_AUTH']).toMatch(/^neo4j\/.{8,}$/);
    for (const [store, mount] of [['neo4j', '/data'], ['postgres', '/var/lib/postgresql/data'], ['nats', '/data']] as const) {
      const volumes = (services[store]?.['volumes'] ?? []) as string[];
      expect(volumes.some((v) => v.endsWith(`:${mount}`)), `${store} keeps ${mount} in a named volume`).toBe(true);
    }
  });

  it('declares every named volume, config and secret it uses, and uses every one it declares', () => {
    const declaredVolumes = new Set(Object.keys((compose['volumes'] ?? {}) as Dict));
    const declaredConfigs = new Set(Object.keys((compose['configs'] ?? {}) as Dict));
    const declaredSecrets = new Set(Object.keys((compose['secrets'] ?? {}) as Dict));
    const usedVolumes = new Set<string>();
    const usedConfigs = new Set<string>();
    const usedSecrets = new Set<string>();
    for (const svc of Object.values(services)) {
      for (const v of (svc['volumes'] ?? []) as Array<string | Dict>) {
        const source = typeof v === 'string' ? v.split(':')[0]! : String(v['source']);
        if (!source.startsWith('.') && !source.startsWith('/')) usedVolumes.add(source);
      }
      for (const c of (svc['configs'] ?? []) as Array<string | Dict>) usedConfigs.add(typeof c === 'string' ? c : String(c['source']));
      for (const name of secretsOf(svc)) usedSecrets.add(name);
    }
    expect([...usedVolumes].sort()).toEqual([...declaredVolumes].sort());
    expect([...usedConfigs].sort()).toEqual([...declaredConfigs].sort());
    expect([...usedSecrets].sort()).toEqual([...declaredSecrets].sort());
  });

  it('orders start-up with healthchecks: depends_on targets exist, service_healthy targets have a healthcheck', () => {
    for (const [name, svc] of Object.entries(services)) {
      for (const [dep, { condition }] of Object.entries(dependsOn(svc))) {
        expect(services[dep], `${name} depends on unknown service ${dep}`).toBeDefined();
        expect(['service_healthy', 'service_completed_successfully'], `${name} → ${dep} must wait for health or completion`).toContain(condition);
        if (condition === 'service_healthy') {
          const hc = services[dep]!['healthcheck'] as Dict | undefined;
          expect(hc && !hc['disable'] && Array.isArray(hc['test']) && (hc['test'] as string[]).length > 1, `${dep} needs a healthcheck (${name} waits for it)`).toBe(true);
        }
        if (condition === 'service_completed_successfully') expect(isOneShot(services[dep]!), `${dep} is a one-shot (restart: "no")`).toBe(true);
      }
    }
  });

  it('has a healthcheck on every long-running service, and the services wait for their stores', () => {
    for (const [name, svc] of Object.entries(services)) {
      if (isOneShot(svc)) continue;
      expect(svc['healthcheck'], `${name} has a healthcheck`).toBeDefined();
    }
    expect(Object.keys(dependsOn(services['knowledge']!)).sort()).toEqual(['nats', 'neo4j']);
    expect(Object.keys(dependsOn(services['coordination']!)).sort()).toEqual(['nats']);
    expect(dependsOn(services['operations']!)).toMatchObject({
      postgres: { condition: 'service_healthy' },
      nats: { condition: 'service_healthy' },
      knowledge: { condition: 'service_healthy' },
      migrate: { condition: 'service_completed_successfully' },
    });
  });

  it('runs migrations once, as the schema owner, with the operations image', () => {
    const migrate = services['migrate']!;
    expect(migrate['restart']).toBe('no');
    expect(migrate['image']).toBe(services['operations']!['image']);
    expect(migrate['command']).toEqual(['node', '/app/services/operations/dist/migrate/migrate.js', 'deploy']);
    expect(environment(migrate)['DATABASE_ADMIN_URL']).toMatch(/^postgresql:\/\/platform_owner:[^@]+@postgres:5432\/platform$/);
    // The service itself connects as the weak role, never as the owner.
    expect(environment(services['operations']!)['DATABASE_URL']).toMatch(/^postgresql:\/\/operations_app:/);
  });

  it('takes every ${VAR} from .env.example, and .env.example has no unused variable', () => {
    const referenced = referencedVariables(parse(composeText));
    const missing = [...referenced].filter((v) => !envExample.has(v));
    expect(missing, 'add these to .env.example').toEqual([]);
    const unused = [...envExample.keys()].filter((v) => !referenced.has(v));
    expect(unused, 'not used by docker-compose.yml').toEqual([]);
  });

  it('publishes each service on its own port, mapped to the port it listens on, NATS on loopback only, and nothing else', () => {
    const hostPorts = new Set<string>();
    const expected: Record<string, string> = { knowledge: '4101', operations: '4102', coordination: '4103' };
    for (const [name, svc] of Object.entries(services)) {
      const ports = (svc['ports'] ?? []) as string[];
      if (name === 'nats') {
        // Event subscribers on this machine reach NATS; no other host does (an address-less mapping binds every interface).
        expect(ports).toEqual(['127.0.0.1:4222:4222']);
        continue;
      }
      if (!(name in expected)) {
        expect(ports, `${name} is not published`).toEqual([]);
        continue;
      }
      expect(ports).toHaveLength(1);
      const [host, container] = ports[0]!.split(':');
      expect(container).toBe(expected[name]);
      expect(environment(svc)['PORT']).toBe(expected[name]);
      expect(hostPorts.has(host!), `host port ${host} used twice`).toBe(false);
      hostPorts.add(host!);
    }
  });

  it("gives each service an environment its own config schema accepts (HOST 0.0.0.0, stores by service name), and no variable it does not read", () => {
    const schemas: Record<string, z.ZodObject> = { knowledge: knowledgeEnv, operations: operationsEnv, coordination: coordinationEnv };
    for (const [name, schema] of Object.entries(schemas)) {
      const env = environment(services[name]!);
      const parsed = schema.safeParse(env);
      expect(parsed.success, `${name}: ${parsed.success ? '' : JSON.stringify(parsed.error.issues)}`).toBe(true);
      // zod drops unknown keys silently: a leftover (JWT_SECRET) or a typo would go unnoticed.
      const unknown = Object.keys(env).filter((k) => !(k in schema.shape) && k !== 'OTEL_EXPORTER_OTLP_ENDPOINT');
      expect(unknown, `${name}: variables the service does not read`).toEqual([]);
      expect(env['HOST']).toBe('0.0.0.0');
      expect(env['NATS_URL']).toBe('nats://nats:4222');
    }
    expect(environment(services['knowledge']!)['NEO4J_URI']).toBe('bolt://neo4j:7687');
    expect(environment(services['operations']!)['KNOWLEDGE_URL']).toBe('http://knowledge:4101');
    expect(environment(services['coordination']!)['OPERATIONS_URL']).toBe('http://operations:4102');
  });

  it('runs the services hardened: read-only root, /tmp tmpfs, no capabilities, no privilege escalation', () => {
    for (const name of ['knowledge', 'operations', 'coordination', 'migrate']) {
      const svc = services[name]!;
      expect(svc['read_only'], name).toBe(true);
      expect((svc['tmpfs'] as string[]).some((t) => t.startsWith('/tmp')), name).toBe(true);
      expect(svc['cap_drop'], name).toEqual(['ALL']);
      expect(svc['security_opt'], name).toContain('no-new-privileges:true');
      const build = svc['build'] as Dict;
      expect(build['context']).toBe('.');
      expect(existsSync(path.join(ROOT, String(build['dockerfile']))), `${name}: ${String(build['dockerfile'])}`).toBe(true);
      // The one Dockerfile builds each service from its SERVICE/PORT pair (the migrator is operations').
      const service = name === 'migrate' ? 'operations' : name;
      expect(build['args'], name).toEqual({ SERVICE: service, PORT: String(SERVICE_PORTS[service as ServiceName]) });
    }
  });

  it('fails fast when a required secret or setting is missing from .env', () => {
    for (const name of [...NATS_PASSWORD_VARS, 'NEO4J_PASSWORD', 'POSTGRES_PASSWORD', 'AUTH_ISSUERS']) {
      const without = new Map(envWithKeys);
      without.delete(name);
      expect(() => interpolate(parse(composeText, { merge: true }), without), name).toThrow(new RegExp(name));
    }
  });
});

describe('docker-compose.yml: tokens and keys', () => {
  it('requires AUTH_ISSUERS, and .env.example leaves it empty so compose refuses to start until `npm run dev-keys` (or you) set it', () => {
    expect(raw['x-service-env'] as Dict).toMatchObject({ AUTH_ISSUERS: expect.stringMatching(/^\$\{AUTH_ISSUERS:\?[^}]*dev-keys/) });
    for (const name of ['knowledge', 'operations', 'coordination']) expect(environment(services[name]!)['AUTH_ISSUERS'], name).toBe(JSON.stringify(dev.issuers));
    expect(envExample.get('AUTH_ISSUERS')).toBe('');
    expect(() => interpolate(parse(composeText, { merge: true }), envExample)).toThrow(/AUTH_ISSUERS/);
  });

  it('has no shared HS256 secret anywhere (no JWT_* in docker-compose.yml or .env.example)', () => {
    expect(composeText).not.toMatch(/JWT_/);
    expect(readFileSync(path.join(ROOT, '.env.example'), 'utf8')).not.toMatch(/JWT_/);
    for (const svc of Object.values(services)) expect(Object.keys(environment(svc)).filter((k) => k.startsWith('JWT_'))).toEqual([]);
  });

  it.each(SIGNING)('%s (signs tokens) gets its own private key as a compose secret from .data/keys, read through AUTH_SIGNING_KEY_FILE', (name) => {
    const svc = services[name]!;
    const secret = `${name}-signing-key`;
    expect(secretsOf(svc)).toEqual([secret]);
    const file = ((compose['secrets'] as Record<string, { file?: string }>)[secret])?.file;
    expect(file).toBe(`./.data/keys/${name}.private.jwk.json`);
    const env = environment(svc);
    expect(env['AUTH_SIGNING_KEY_FILE']).toBe(secretTarget(svc, secret));
    expect(env['AUTH_SIGNING_KEY'], 'the key itself never goes into the environment').toBeUndefined();
    // The file `npm run dev-keys` makes is what the service loads: start its issuer from it, as main.ts does.
    const config = (name === 'operations' ? operationsEnv : coordinationEnv).parse({ ...env, AUTH_SIGNING_KEY_FILE: keyFile(keyDir, name) });
    expect(() => issuerFromEnv(config, name)).not.toThrow();
    expect(() => issuerFromEnv({ ...config, AUTH_SIGNING_KEY_FILE: undefined }, name), 'without the file it would not start').toThrow(/AUTH_SIGNING_KEY/);
  });

  it('knowledge signs nothing: no secret mounted, no signing key variable', () => {
    const knowledge = services['knowledge']!;
    expect(secretsOf(knowledge)).toEqual([]);
    expect(Object.keys(environment(knowledge)).filter((k) => k.startsWith('AUTH_SIGNING_KEY') || k === 'AUTH_ISSUER')).toEqual([]);
  });

  it('mounts each private key into exactly one service, and puts no private key in AUTH_ISSUERS', () => {
    const holders = Object.keys((compose['secrets'] ?? {}) as Dict).map((secret) => Object.entries(services).filter(([, svc]) => secretsOf(svc).includes(secret)).map(([n]) => n));
    for (const h of holders) expect(h).toHaveLength(1);
    expect(holders.flat().sort()).toEqual([...SIGNING].sort());
    expect(JSON.stringify(dev.issuers)).not.toMatch(/"d":/);
  });

  it('gives coordination the agent token lifetime, and every service the request limits (optional, defaults in .env.example)', () => {
    expect(environment(services['coordination']!)['AGENT_TOKEN_TTL_S']).toBe('900');
    for (const name of ['knowledge', 'operations', 'coordination']) {
      const env = environment(services[name]!);
      expect(env, name).toMatchObject({ MAX_BODY_BYTES: '1048576', MAX_BATCH_CALLS: '20', RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_REQUESTS: '3000', RATE_LIMIT_ANONYMOUS_REQUESTS: '600', RATE_LIMIT_WINDOW_SECONDS: '60' });
    }
    // Optional: every limit has a default in compose itself, so an .env without them still starts.
    for (const v of ['MAX_BODY_BYTES', 'MAX_BATCH_CALLS', 'RATE_LIMIT_ENABLED', 'RATE_LIMIT_REQUESTS', 'RATE_LIMIT_ANONYMOUS_REQUESTS', 'RATE_LIMIT_WINDOW_SECONDS', 'AGENT_TOKEN_TTL_S']) {
      expect(composeText).toMatch(new RegExp(`\\$\\{${v}:-[^}]+\\}`));
    }
  });
});

/** nats-server as scripts/infra/nats.sh installs it (.data/bin) or from the PATH. */
function natsServer(): string {
  const local = path.join(ROOT, '.data', 'bin', 'nats-server');
  if (existsSync(local)) return local;
  const onPath = spawnSync('nats-server', ['--version'], { encoding: 'utf8' });
  if (onPath.status === 0) return 'nats-server';
  throw new Error('nats-server is missing: run `bash scripts/infra.sh up nats` (installs it into .data/bin)');
}
/** `nats-server -t` (parse and check the config, start nothing) with the given environment. */
function natsConfigTest(file: string, env: Record<string, string>): { ok: boolean; output: string } {
  const r = spawnSync(natsServer(), ['-t', '-c', file, '-js', '-sd', path.join(tmpdir(), 'nats-config-test')], {
    encoding: 'utf8',
    env: { PATH: process.env['PATH'] ?? '', ...env },
  });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

describe('docker-compose.yml: NATS users (least privilege)', () => {
  const nats = services['nats']!;
  const natsEnv = environment(nats);
  const rawEnv = (name: string) => (raw['services'] as Record<string, Dict>)[name]!['environment'] as Dict;

  it('mounts deploy/nats/nats.conf, which is exactly what scripts/infra/nats-config.ts renders (regenerate: npx tsx scripts/deploy/nats-conf.ts)', () => {
    const config = (compose['configs'] as Record<string, { file?: string; content?: string }>)['nats-conf']!;
    expect(config.content, 'the config is the generated file, not inline text').toBeUndefined();
    expect(path.resolve(ROOT, String(config.file))).toBe(COMPOSE_NATS_CONF);
    expect((nats['configs'] as Dict[]).map((c) => [c['source'], c['target']])).toEqual([['nats-conf', '/etc/nats/nats.conf']]);
    expect(readFileSync(COMPOSE_NATS_CONF, 'utf8'), `${path.relative(ROOT, COMPOSE_NATS_CONF)} is out of date`).toBe(composeNatsConf());
  });

  it('the config has every user of nats-permissions.ts, each password read from $<USER>_NATS_PASSWORD, and the nats service is given exactly those variables', () => {
    const conf = readFileSync(COMPOSE_NATS_CONF, 'utf8');
    const users = [...conf.matchAll(/\{ user: "([^"]+)", password: \$([A-Z_]+)/g)].map((m) => [m[1], m[2]]);
    expect(users).toEqual(NATS_USER_NAMES.map((u) => [u, passwordEnvVar(u)]));
    expect(Object.keys(natsEnv).sort()).toEqual([...NATS_PASSWORD_VARS].sort());
    for (const v of NATS_PASSWORD_VARS) {
      expect(rawEnv('nats')[v], `nats: ${v} is required from .env`).toMatch(new RegExp(`^\\$\\{${v}:\\?`));
      expect(natsEnv[v], v).toBe(envExample.get(v));
    }
  });

  it('nats-server accepts the config with the .env.example passwords (and refuses it when one is missing)', () => {
    const good = natsConfigTest(COMPOSE_NATS_CONF, natsEnv);
    expect(good.ok, good.output).toBe(true);
    const { PLATFORM_NATS_PASSWORD: _dropped, ...withoutOne } = natsEnv;
    const bad = natsConfigTest(COMPOSE_NATS_CONF, withoutOne);
    expect(bad.ok).toBe(false);
    expect(bad.output).toMatch(/PLATFORM_NATS_PASSWORD/);
  });

  it('.env.example NATS passwords are distinct and start with a letter (nats-server parses 12345 as a number and refuses it)', () => {
    const values = NATS_PASSWORD_VARS.map((v) => envExample.get(v));
    for (const [i, v] of values.entries()) expect(v, NATS_PASSWORD_VARS[i]).toMatch(/^[A-Za-z][A-Za-z0-9_-]*$/);
    expect(new Set(values).size).toBe(values.length);
    // Why the rule: a numeric password breaks the server's config.
    const dir = mkdtempSync(path.join(tmpdir(), 'nats-conf-'));
    try {
      const file = path.join(dir, 'nats.conf');
      writeFileSync(file, composeNatsConf());
      const numeric = natsConfigTest(file, { ...natsEnv, KNOWLEDGE_NATS_PASSWORD: '12345' });
      expect(numeric.ok).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each(SERVICES)('%s connects as its own NATS user with its own password variable', (name) => {
    const env = environment(services[name]!);
    expect(env['NATS_USER']).toBe(name);
    expect(rawEnv(name)['NATS_PASSWORD'], 'its own password, the one the server has for this user').toBe(`\${${passwordEnvVar(name)}}`);
    expect(env['NATS_PASSWORD']).toBe(natsEnv[passwordEnvVar(name)]);
  });

  it('no service uses the platform, agent or subscriber user or their passwords, and no two services share a password', () => {
    const others = ['platform', 'agent', 'subscriber'] as const;
    const passwords = SERVICES.map((name) => environment(services[name]!)['NATS_PASSWORD']);
    expect(new Set(passwords).size).toBe(SERVICES.length);
    for (const [name, svc] of Object.entries(services)) {
      if (name === 'nats') continue;
      const env = environment(svc);
      for (const u of others) {
        expect(env['NATS_USER'], name).not.toBe(u);
        expect(Object.values(env), `${name} holds ${u}'s password`).not.toContain(natsEnv[passwordEnvVar(u)]);
      }
      // A service holds at most one NATS password: its own.
      const held = NATS_USER_NAMES.filter((u) => Object.values(env).includes(natsEnv[passwordEnvVar(u)]!));
      expect(held, name).toEqual((SERVICES as readonly string[]).includes(name) ? [name] : []);
    }
    expect(raw['x-service-env'] as Dict, 'no shared NATS user for all services').not.toHaveProperty('NATS_USER');
    expect(raw['x-service-env'] as Dict).not.toHaveProperty('NATS_PASSWORD');
  });

  it('agents connect as `agent` (.env.example says so); the server has that user with heartbeat rights only', () => {
    expect(readFileSync(path.join(ROOT, '.env.example'), 'utf8')).toMatch(/AGENT_NATS_USER=agent\b/);
    const conf = readFileSync(COMPOSE_NATS_CONF, 'utf8');
    expect(conf).toMatch(/\{ user: "agent", password: \$AGENT_NATS_PASSWORD,\s*permissions: \{\s*publish: \{ allow: \["agents\.heartbeat\.\*"\] \}\s*subscribe: \{ allow: \["_INBOX_agent\.>"\] \}/);
  });
});
