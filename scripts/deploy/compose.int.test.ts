/**
 * docker-compose.yml without a Docker engine: the Compose Specification's JSON schema (from the
 * compose-go module, fetched by scripts/deploy-check.sh) plus the references `docker compose config`
 * would resolve and the ones it would not check at all (healthchecks behind service_healthy, every
 * ${VAR} in .env.example, each service's environment accepted by that service's own config schema).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parse, parseDocument } from 'yaml';
import type { z } from 'zod';
import { coordinationEnv } from '../../services/coordination/src/config.js';
import { knowledgeEnv } from '../../services/knowledge/src/config.js';
import { operationsEnv } from '../../services/operations/src/config.js';
import { DEPLOY_DATA, ROOT } from './lib.js';

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

const raw = parseDocument(composeText, { merge: true }).toJS({ maxAliasCount: 100 }) as Dict;
const compose = interpolate(raw, envExample) as Dict;
const services = compose['services'] as Record<string, Dict>;

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
    const natsConf = ((compose['configs'] as Record<string, { content?: string }>)['nats-conf']?.content ?? '');
    expect(natsConf).toMatch(/jetstream\s*\{[^}]*store_dir:\s*\/data/);
    expect(natsConf).toMatch(/authorization\s*\{/);
    expect(environment(services['neo4j']!)['NEO4J_AUTH']).toMatch(/^neo4j\/.{8,}$/);
    for (const [store, mount] of [['neo4j', '/data'], ['postgres', '/var/lib/postgresql/data'], ['nats', '/data']] as const) {
      const volumes = (services[store]?.['volumes'] ?? []) as string[];
      expect(volumes.some((v) => v.endsWith(`:${mount}`)), `${store} keeps ${mount} in a named volume`).toBe(true);
    }
  });

  it('declares every named volume and config it uses, and uses every one it declares', () => {
    const declaredVolumes = new Set(Object.keys((compose['volumes'] ?? {}) as Dict));
    const declaredConfigs = new Set(Object.keys((compose['configs'] ?? {}) as Dict));
    const usedVolumes = new Set<string>();
    const usedConfigs = new Set<string>();
    for (const svc of Object.values(services)) {
      for (const v of (svc['volumes'] ?? []) as Array<string | Dict>) {
        const source = typeof v === 'string' ? v.split(':')[0]! : String(v['source']);
        if (!source.startsWith('.') && !source.startsWith('/')) usedVolumes.add(source);
      }
      for (const c of (svc['configs'] ?? []) as Array<string | Dict>) usedConfigs.add(typeof c === 'string' ? c : String(c['source']));
    }
    expect([...usedVolumes].sort()).toEqual([...declaredVolumes].sort());
    expect([...usedConfigs].sort()).toEqual([...declaredConfigs].sort());
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
    expect(migrate['command']).toEqual(['node', '/app/dist/migrate/migrate.js', 'deploy']);
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

  it('publishes each service on its own port, mapped to the port it listens on, and nothing else', () => {
    const hostPorts = new Set<string>();
    const expected: Record<string, string> = { knowledge: '4101', operations: '4102', coordination: '4103' };
    for (const [name, svc] of Object.entries(services)) {
      const ports = (svc['ports'] ?? []) as string[];
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

  it("gives each service an environment its own config schema accepts (HOST 0.0.0.0, stores by service name)", () => {
    const schemas: Record<string, z.ZodType> = { knowledge: knowledgeEnv, operations: operationsEnv, coordination: coordinationEnv };
    for (const [name, schema] of Object.entries(schemas)) {
      const env = environment(services[name]!);
      const parsed = schema.safeParse(env);
      expect(parsed.success, `${name}: ${parsed.success ? '' : JSON.stringify(parsed.error.issues)}`).toBe(true);
      expect(env['HOST']).toBe('0.0.0.0');
      expect(env['NATS_URL']).toBe('nats://nats:4222');
    }
    expect(environment(services['knowledge']!)['NEO4J_URI']).toBe('bolt://neo4j:7687');
    expect(environment(services['operations']!)['KNOWLEDGE_URL']).toBe('http://knowledge:4101');
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
    }
  });

  it('fails fast when a required secret is missing from .env', () => {
    const withoutJwt = new Map(envExample);
    withoutJwt.delete('JWT_SECRET');
    expect(() => interpolate(parse(composeText, { merge: true }), withoutJwt)).toThrow(/JWT_SECRET/);
  });
});
