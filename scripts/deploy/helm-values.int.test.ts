/**
 * The charts' values: every value documented with `## @param`, values.schema.json generated from
 * scripts/deploy/helm-schemas.ts and covering every value, the three service charts agreeing on
 * their shared defaults, `required` naming each store URL and secret name, bad values failing for
 * the right reason, and NOTES.txt telling how to reach and check each service.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isMap, isScalar, isSeq, parseAllDocuments, parseDocument, type Node, type Pair } from 'yaml';
import { chartSchemas } from './helm-schemas.js';
import { KUBE_VERSION, MUST_FAIL, renderMustFail, ROOT, run, SERVICE_CHARTS, tool } from './lib.js';

type Dict = Record<string, unknown>;
const VALUE_CHARTS = [...SERVICE_CHARTS, 'agent-platform'] as const;
const chartDir = (c: string) => path.join(ROOT, 'helm', c);
const valuesText = (c: string) => readFileSync(path.join(chartDir(c), 'values.yaml'), 'utf8');

/** Key paths of a values.yaml: every map key (dotted), with whether its value is a non-empty map. */
function keyPaths(node: Node | null, prefix = ''): Array<{ path: string; isMap: boolean }> {
  if (!isMap(node)) return [];
  return node.items.flatMap((pair: Pair) => {
    const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    const p = prefix ? `${prefix}.${key}` : key;
    const v = pair.value as Node | null;
    const nested = isMap(v) && v.items.length > 0;
    return [{ path: p, isMap: nested }, ...(nested ? keyPaths(v, p) : [])];
  });
}

interface Param {
  path: string;
  modifier: string | undefined;
  description: string;
}
function params(text: string): Param[] {
  return [...text.matchAll(/^\s*## @param (\S+)(?: \[(\w+)\])? ?(.*)$/gm)].map((m) => ({ path: m[1]!, modifier: m[2], description: m[3]!.trim() }));
}

/** The schema node describing a dotted path, or 'free' when an ancestor allows anything. */
function schemaAt(schema: Dict, dotted: string): Dict | 'free' | undefined {
  let node: Dict | undefined = schema;
  for (const key of dotted.split('.')) {
    const props = node?.['properties'] as Record<string, Dict> | undefined;
    const open = node?.['type'] === 'object' && node['additionalProperties'] !== false;
    if (!props?.[key]) return open ? 'free' : undefined;
    node = props[key];
  }
  return node;
}

const schemas = chartSchemas();

describe.each(VALUE_CHARTS)('helm/%s values', (chart) => {
  const text = valuesText(chart);
  const doc = parseDocument(text);
  const paths = keyPaths(doc.contents);
  const documented = params(text);
  const schema = JSON.parse(readFileSync(path.join(chartDir(chart), 'values.schema.json'), 'utf8')) as Dict;

  it('documents every value with ## @param (an [object] param covers the keys below it)', () => {
    const byPath = new Map(documented.map((p) => [p.path, p]));
    const objects = documented.filter((p) => p.modifier === 'object').map((p) => `${p.path}.`);
    const undocumented = paths.filter((k) => !k.isMap && !byPath.has(k.path) && !objects.some((o) => k.path.startsWith(o))).map((k) => k.path);
    expect(undocumented, 'add ## @param lines for these').toEqual([]);
    const existing = new Set(paths.map((k) => k.path));
    expect(documented.filter((p) => !existing.has(p.path)).map((p) => p.path), '@param for values that do not exist').toEqual([]);
    expect(documented.filter((p) => p.description.length < 8).map((p) => p.path), '@param without a description').toEqual([]);
  });

  it('has a values.schema.json generated from scripts/deploy/helm-schemas.ts (in step)', () => {
    expect(readFileSync(path.join(chartDir(chart), 'values.schema.json'), 'utf8')).toBe(schemas[chart]);
  });

  it('has a schema entry for every value, and a value for every schema entry', () => {
    const missing = paths.filter((k) => schemaAt(schema, k.path) === undefined).map((k) => k.path);
    expect(missing, 'values not described in values.schema.json').toEqual([]);
    const top = Object.keys(schema['properties'] as Dict).filter((k) => k !== 'platform-lib');
    const inValues = new Set(paths.filter((k) => !k.path.includes('.')).map((k) => k.path));
    if (chart !== 'agent-platform') expect(top.filter((k) => !inValues.has(k)), 'schema entries without a default in values.yaml').toEqual([]);
  });
});

describe('service charts', () => {
  const values = Object.fromEntries(SERVICE_CHARTS.map((c) => [c, parseDocument(valuesText(c)).toJS() as Dict]));
  /** Shared keys may differ only where the service differs. */
  const ALLOWED_DIFFERENCES = new Set(['image.repository', 'service.port', 'ingress.hosts']);

  it('agree on every shared default (one platform, three services)', () => {
    const flat = (o: unknown, prefix = ''): Array<[string, string]> =>
      o && typeof o === 'object' && !Array.isArray(o) && Object.keys(o).length
        ? Object.entries(o as Dict).flatMap(([k, v]) => flat(v, prefix ? `${prefix}.${k}` : k))
        : [[prefix, JSON.stringify(o)]];
    const [first, ...rest] = SERVICE_CHARTS.map((c) => new Map(flat(values[c])));
    for (const [i, other] of rest.entries()) {
      for (const [k, v] of first!) {
        if (!other.has(k) || ALLOWED_DIFFERENCES.has(k)) continue;
        expect(other.get(k), `${SERVICE_CHARTS[i + 1]}: ${k} differs from knowledge`).toBe(v);
      }
    }
  });

  it('use the service packages version as appVersion and require Kubernetes >= 1.30', () => {
    for (const c of [...SERVICE_CHARTS, 'agent-platform']) {
      const meta = parseDocument(readFileSync(path.join(chartDir(c), 'Chart.yaml'), 'utf8')).toJS() as Dict;
      expect(meta['apiVersion']).toBe('v2');
      expect(meta['kubeVersion']).toBe('>=1.30.0-0');
      const pkg = c === 'agent-platform' ? 'services/operations' : `services/${c}`;
      expect(meta['appVersion'], c).toBe((JSON.parse(readFileSync(path.join(ROOT, pkg, 'package.json'), 'utf8')) as { version: string }).version);
    }
  });

  /**
   * Each value that has no usable default: unset it (on top of the chart's minimal values) and the
   * render must name it. Lists are emptied (`[]`), strings blanked. The signing key is required of
   * the services that sign tokens (operations, coordination); knowledge has no such value at all.
   */
  const REQUIRED: Array<[string, string, string]> = [
    ['knowledge', 'global.auth.issuers', '[]'],
    ['knowledge', 'global.nats.url', '""'],
    ['knowledge', 'nats.existingSecret', '""'],
    ['operations', 'nats.existingSecret', '""'],
    ['coordination', 'nats.existingSecret', '""'],
    ['knowledge', 'neo4j.uri', '""'],
    ['knowledge', 'neo4j.existingSecret', '""'],
    ['operations', 'global.auth.issuers', '[]'],
    ['operations', 'database.existingSecret', '""'],
    ['operations', 'knowledge.url', '""'],
    ['operations', 'auth.signingKey.existingSecret', '""'],
    ['coordination', 'global.auth.issuers', '[]'],
    ['coordination', 'auth.signingKey.existingSecret', '""'],
    ['coordination', 'operations.url', '""'],
  ];
  it.each(REQUIRED)('%s: `required` fails the render naming %s', (c, key, empty) => {
    const r = run(tool('helm'), ['template', 'x', chartDir(c), '--kube-version', KUBE_VERSION, '-f', path.join(chartDir(c), 'ci/minimal-values.yaml'), '--set-json', `${key}=${empty}`]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(new RegExp(`${key.replace(/\./g, '\\.')}\\b[^\\n]*is required`));
  });

  it('only operations and coordination have a signing key value; knowledge has none, and no chart has global.jwt', () => {
    expect(values['operations']!['auth']).toEqual({ signingKey: { existingSecret: '', key: 'signing-key.jwk.json' } });
    expect(values['coordination']!['auth']).toEqual({ signingKey: { existingSecret: '', key: 'signing-key.jwk.json' } });
    expect(values['knowledge']!['auth']).toBeUndefined();
    for (const c of VALUE_CHARTS) {
      expect(valuesText(c), c).not.toMatch(/jwt/i);
      expect((parseDocument(valuesText(c)).toJS() as { global: Dict }).global['auth'], c).toMatchObject({ issuers: [], audience: 'agent-platform', maxTokenLifetimeSeconds: 3600, clockSkewSeconds: 30 });
    }
  });
});

describe('NATS credentials in the charts', () => {
  it('each service chart has its own NATS password Secret value; no chart has a shared NATS user or Secret in global', () => {
    for (const c of SERVICE_CHARTS) {
      expect((parseDocument(valuesText(c)).toJS() as Dict)['nats'], c).toEqual({ existingSecret: '', passwordKey: 'nats-password' });
    }
    for (const c of VALUE_CHARTS) {
      // The server and how many copies of each stream: no user, password or Secret.
      expect(Object.keys((parseDocument(valuesText(c)).toJS() as { global: { nats: Dict } }).global.nats), c).toEqual(['url', 'streamReplicas', 'streamReplicaOverrides']);
    }
    // The umbrella names each service's Secret under the service's block.
    const umbrella = parseDocument(valuesText('agent-platform')).toJS() as Record<string, Dict>;
    for (const c of SERVICE_CHARTS) expect(umbrella[c]!['nats'], c).toEqual({ existingSecret: '' });
  });
});

describe('renders that must fail', () => {
  it.each(MUST_FAIL.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const output = renderMustFail(c);
    for (const re of c.expect) expect(output).toMatch(re);
  });
});

describe('NOTES.txt', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'helm-notes-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  /** helm template skips NOTES.txt: render the named template it includes through a scratch copy of the chart. */
  function notes(chart: string, template: string, values: string): string {
    const dir = path.join(work, chart);
    cpSync(chartDir(chart), dir, { recursive: true });
    writeFileSync(path.join(dir, 'templates', 'zz-notes.yaml'), `notes: |\n  {{- include "${template}" . | nindent 2 }}\n`);
    const r = run(tool('helm'), ['template', 'platform', dir, '-n', 'agents', '--kube-version', KUBE_VERSION, '-f', path.join(dir, values), '--show-only', 'templates/zz-notes.yaml']);
    expect(r.code, r.stderr).toBe(0);
    return (parseDocument(r.stdout).toJS() as { notes: string }).notes;
  }

  it('umbrella: how to reach and check each service, the migration Job and helm test', () => {
    expect(readFileSync(path.join(chartDir('agent-platform'), 'templates/NOTES.txt'), 'utf8')).toContain('include "agent-platform.notes"');
    const text = notes('agent-platform', 'agent-platform.notes', 'ci/minimal-values.yaml');
    for (const [svc, port] of [['knowledge', 4101], ['operations', 4102], ['coordination', 4103]] as const) {
      expect(text).toContain(`http://platform-${svc}.agents.svc:${port}`);
      expect(text).toContain(`port-forward service/platform-${svc} ${port}:${port}`);
      expect(text).toContain(`curl -s http://127.0.0.1:${port}/readyz`);
    }
    expect(text).toContain('job/platform-operations-migrate');
    expect(text).toContain('helm test platform -n agents');
  });

  it.each(SERVICE_CHARTS)('%s: how to reach and check the service', (chart) => {
    expect(readFileSync(path.join(chartDir(chart), 'templates/NOTES.txt'), 'utf8')).toContain('include "platform-lib.notes"');
    const text = notes(chart, 'platform-lib.notes', 'ci/minimal-values.yaml');
    expect(text).toContain(`/readyz`);
    expect(text).toContain(`rollout status deployment/platform-${chart}`);
  });
});

describe('values.yaml parse check', () => {
  it('only block maps and sequences (no duplicate keys)', () => {
    for (const c of VALUE_CHARTS) {
      const doc = parseDocument(valuesText(c), { uniqueKeys: true });
      expect(doc.errors.map((e) => e.message), c).toEqual([]);
      expect(isMap(doc.contents) || isSeq(doc.contents)).toBe(true);
    }
  });
});

describe('the charts as a fresh checkout has them', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'helm-vendor-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const umbrella = chartDir('agent-platform');
  const template = (release: string, ...args: string[]) => run(tool('helm'), ['template', release, umbrella, '-n', 'agents', '-f', path.join(umbrella, 'ci/minimal-values.yaml'), ...args]);
  const objects = (text: string) => parseAllDocuments(text).map((d) => d.toJS() as { kind: string; metadata: { name: string; annotations?: Record<string, string>; labels?: Record<string, string> }; data?: Record<string, string>; spec?: Dict }).filter(Boolean);

  it('vendors every dependency as a directory under charts/ (no package, no lock file to build first)', () => {
    expect(readdirSync(path.join(umbrella, 'charts')).sort()).toEqual(['coordination', 'knowledge', 'operations']);
    for (const c of SERVICE_CHARTS) {
      expect(readdirSync(path.join(chartDir(c), 'charts')), c).toEqual(['platform-lib']);
      expect(statSync(path.join(umbrella, 'charts', c, 'charts', 'platform-lib', 'Chart.yaml')).isFile()).toBe(true);
    }
    const r = run('bash', [path.join(ROOT, 'scripts/deploy/charts-vendor.sh'), '--check']);
    expect(r.code, r.stderr).toBe(0);
  });

  it('charts-vendor.sh --check fails, naming the copies, when a source changed without re-vendoring', () => {
    mkdirSync(path.join(work, 'scripts', 'deploy'), { recursive: true });
    cpSync(path.join(ROOT, 'scripts/deploy/charts-vendor.sh'), path.join(work, 'scripts/deploy/charts-vendor.sh'));
    cpSync(path.join(ROOT, 'helm'), path.join(work, 'helm'), { recursive: true });
    writeFileSync(path.join(work, 'helm/platform-lib/templates/_helpers.tpl'), '{{/* changed */}}\n', { flag: 'a' });
    const r = run('bash', [path.join(work, 'scripts/deploy/charts-vendor.sh'), '--check']);
    expect(r.code).toBe(1);
    for (const c of [...SERVICE_CHARTS, 'agent-platform']) expect(r.stderr).toContain(`helm/${c}/charts/ differs from its sources`);
    expect(run('bash', [path.join(work, 'scripts/deploy/charts-vendor.sh')]).code).toBe(0);
    expect(run('bash', [path.join(work, 'scripts/deploy/charts-vendor.sh'), '--check']).code).toBe(0);
  });

  it('renders with the plain documented command: no --kube-version (the helm build assumes its own client-go minor, as a release build does)', () => {
    const r = template('platform');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/symbolic link/);
    expect(objects(r.stdout).filter((o) => o.kind === 'Deployment')).toHaveLength(3);
  });

  it('the URLs between the services follow the fullname rule (a release name containing the chart name too)', () => {
    for (const [release, knowledge, operations] of [
      ['platform', 'platform-knowledge', 'platform-operations'],
      ['knowledge-prod', 'knowledge-prod', 'knowledge-prod-operations'],
    ] as const) {
      const r = template(release);
      expect(r.code, r.stderr).toBe(0);
      const objs = objects(r.stdout);
      const services = objs.filter((o) => o.kind === 'Service').map((o) => o.metadata.name);
      expect(services).toEqual(expect.arrayContaining([knowledge, operations]));
      const config = Object.assign({}, ...objs.filter((o) => o.kind === 'ConfigMap').map((o) => o.data ?? {})) as Record<string, string>;
      expect(config['KNOWLEDGE_URL']).toBe(`http://${knowledge}:4101`);
      expect(config['OPERATIONS_URL']).toBe(`http://${operations}:4102`);
    }
  });

  it("operations' Postgres connections at the most replicas fit under max_connections, or the render fails naming the numbers", () => {
    // Each replica: poolMax + max(2, ceil(poolMax / 2)) + 1 (main pool, event store pool, LISTEN).
    const scaled = ['--set', 'operations.autoscaling.enabled=true', '--set', 'operations.autoscaling.maxReplicas=8'];
    // 8 replicas + 2 surge = 10, x (4 + 2 + 1) = 70 <= 100 - 10: renders, with the pool size in the ConfigMap.
    const fits = template('platform', ...scaled, '--set', 'operations.database.poolMax=4');
    expect(fits.code, fits.stderr).toBe(0);
    const config = Object.assign({}, ...objects(fits.stdout).filter((o) => o.kind === 'ConfigMap').map((o) => o.data ?? {})) as Record<string, string>;
    expect(config['DATABASE_POOL_MAX']).toBe('4');
    // poolMax 6: 10 x (6 + 3 + 1) = 100 > 90: refused before anything reaches the cluster.
    const over = template('platform', ...scaled, '--set', 'operations.database.poolMax=6');
    expect(over.code).not.toBe(0);
    expect(over.stderr).toMatch(/could open 100 Postgres connections \(10 replicas at most, incl\. rolling-update surge, x 10 each for database\.poolMax=6\), more than database\.maxConnections \(100\) minus database\.reservedConnections \(10\)/);
    // The same values fit a server that allows more.
    expect(template('platform', ...scaled, '--set', 'operations.database.poolMax=6', '--set', 'operations.database.maxConnections=200').code).toBe(0);
  });

  it('a renamed service (fullnameOverride) fails the render until its callers URL is set', () => {
    const renamed = template('platform', '--set', 'knowledge.fullnameOverride=graph');
    expect(renamed.code).not.toBe(0);
    expect(renamed.stderr).toContain('set operations.knowledge.url too (e.g. http://graph:4101)');
    const set = template('platform', '--set', 'knowledge.fullnameOverride=graph', '--set', 'operations.knowledge.url=http://graph:4101');
    expect(set.code, set.stderr).toBe(0);
    expect(objects(set.stdout).some((o) => o.kind === 'Service' && o.metadata.name === 'graph')).toBe(true);
  });

  it('hooks leave nothing behind once they succeeded; helm test runs under its own ServiceAccount without a token', () => {
    const r = run(tool('helm'), ['template', 'platform', umbrella, '-n', 'agents', '-f', path.join(umbrella, 'ci/all-features-values.yaml')]);
    expect(r.code, r.stderr).toBe(0);
    const objs = objects(r.stdout);
    const hooks = objs.filter((o) => o.metadata.annotations?.['helm.sh/hook']);
    expect(hooks.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(
      expect.arrayContaining(['ServiceAccount/platform-operations-migrate', 'NetworkPolicy/platform-operations-migrate', 'Job/platform-operations-migrate', 'Job/platform-operations-bootstrap']),
    );
    for (const h of hooks) expect(h.metadata.annotations!['helm.sh/hook-delete-policy']!.split(','), `${h.kind}/${h.metadata.name}`).toEqual(['before-hook-creation', 'hook-succeeded']);
    const testPods = objs.filter((o) => o.kind === 'Pod' && o.metadata.annotations?.['helm.sh/hook'] === 'test');
    expect(testPods).toHaveLength(3);
    for (const p of testPods) {
      const sa = (p.spec as { serviceAccountName?: string }).serviceAccountName;
      expect(sa, p.metadata.name).toBe(p.metadata.name);
      const account = objs.find((o) => o.kind === 'ServiceAccount' && o.metadata.name === sa) as { automountServiceAccountToken?: boolean; metadata: { annotations: Record<string, string> } } | undefined;
      expect(account?.metadata.annotations['helm.sh/hook']).toBe('test');
      expect(account?.automountServiceAccountToken).toBe(false);
    }
  });

  it('the bootstrap Job (roles, database) runs before the migrations, with the admin Secret, and is off by default', () => {
    const off = template('platform');
    expect(objects(off.stdout).some((o) => o.metadata.name.endsWith('-bootstrap'))).toBe(false);
    const missing = template('platform', '--set', 'operations.bootstrap.enabled=true');
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/bootstrap\.existingSecret is required/);
    const on = template('platform', '--set', 'operations.bootstrap.enabled=true', '--set', 'operations.bootstrap.existingSecret=pg-admin');
    expect(on.code, on.stderr).toBe(0);
    const objs = objects(on.stdout);
    const job = (suffix: string) => objs.find((o) => o.kind === 'Job' && o.metadata.name === `platform-operations-${suffix}`)!;
    const weight = (suffix: string) => Number(job(suffix).metadata.annotations!['helm.sh/hook-weight']);
    expect(weight('bootstrap')).toBeLessThan(weight('migrate'));
    const pod = (job('bootstrap').spec as { template: { metadata: { labels: Record<string, string> }; spec: { serviceAccountName: string; containers: Array<{ command: string[]; env: Array<{ name: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }> }> } } }).template;
    expect(pod.spec.serviceAccountName).toBe('platform-operations-migrate');
    const env = Object.fromEntries(pod.spec.containers[0]!.env.map((e) => [e.name, e.valueFrom?.secretKeyRef]));
    expect(env['ADMIN_URL']).toEqual({ name: 'pg-admin', key: 'admin-url' });
    expect(env['OWNER_PASSWORD']).toEqual({ name: 'pg-admin', key: 'owner-password' });
    expect(env['APP_PASSWORD']).toEqual({ name: 'pg-admin', key: 'app-password' });
    // Idempotent SQL, values only through psql variables.
    const script = pod.spec.containers[0]!.command.join('\n');
    expect(script).toContain("WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'owner') \\gexec");
    expect(script).toContain('NOBYPASSRLS');
    expect(script).not.toContain('platform_owner');
    // The shared NetworkPolicy (DNS and Postgres only) applies to the bootstrap pod too.
    const np = objs.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'platform-operations-migrate')!;
    const selector = (np.spec as { podSelector: { matchExpressions: Array<{ key: string; values: string[] }> } }).podSelector;
    expect(selector.matchExpressions[0]!.values).toContain(pod.metadata.labels['app.kubernetes.io/name']);
  });

  it('every chart has a README generated from its @param comments, in step', () => {
    const r = run(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/deploy/chart-readme.ts'), '--check']);
    expect(r.code, r.stderr).toBe(0);
    const readme = readFileSync(path.join(chartDir('operations'), 'README.md'), 'utf8');
    expect(readme).toContain('| `bootstrap.enabled` |');
    expect(readme).toContain('| `database.existingSecret` | (required)');
  });
});
