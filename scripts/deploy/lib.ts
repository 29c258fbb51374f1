/**
 * Shared by scripts/deploy-check.sh (through render.ts) and the deployment tests: pinned versions,
 * tool paths, and the list of everything that is rendered (Helm charts with each values profile,
 * kustomize overlays) or must fail to render (bad values).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEPLOY_DATA = path.join(ROOT, '.data', 'deploy');
export const FIXTURES = path.join(ROOT, 'scripts', 'deploy', 'fixtures');

/** scripts/deploy/versions.env as a map (KEY=value, optional double quotes). */
export function versions(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(path.join(ROOT, 'scripts', 'deploy', 'versions.env'), 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(?:"([^"]*)"|(\S*))\s*$/.exec(line.trim());
    if (m) out[m[1]!] = m[2] ?? m[3] ?? '';
  }
  return out;
}

export const KUBERNETES_VERSIONS = (versions()['KUBERNETES_VERSIONS'] ?? '').split(/\s+/).filter(Boolean);
/** The version Helm renders for (--kube-version): the newest validated one. */
export const KUBE_VERSION = KUBERNETES_VERSIONS[0] ?? '1.37.2';

export type Tool = 'helm' | 'kustomize' | 'kubeconform';
export function tool(name: Tool): string {
  const bin = path.join(ROOT, '.data', 'bin', name);
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run \`bash scripts/deploy-check.sh\` (it installs the pinned tools with go install)`);
  return bin;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}
export function run(cmd: string, args: string[], cwd = ROOT): RunResult {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

export const CHARTS = ['platform-lib', 'knowledge', 'operations', 'coordination', 'agent-platform'] as const;
export const SERVICE_CHARTS = ['knowledge', 'operations', 'coordination'] as const;
export type ServiceName = (typeof SERVICE_CHARTS)[number];
export const SERVICE_PORTS: Record<ServiceName, number> = { knowledge: 4101, operations: 4102, coordination: 4103 };

export interface HelmTarget {
  name: string;
  kind: 'helm';
  chart: string;
  /** Values files, relative to the chart directory unless absolute. */
  values: string[];
  release: string;
  namespace: string;
}
export interface KustomizeTarget {
  name: string;
  kind: 'kustomize';
  overlay: string;
}
export type Target = HelmTarget | KustomizeTarget;

const helm = (name: string, chart: string, values: string[], release = 'platform'): HelmTarget => ({
  name,
  kind: 'helm',
  chart,
  values,
  release,
  namespace: 'agents',
});

/** Everything that must render, and pass kubeconform -strict and the workload assertions. */
export const TARGETS: Target[] = [
  helm('helm-agent-platform-default', 'agent-platform', ['ci/minimal-values.yaml']),
  helm('helm-agent-platform-production', 'agent-platform', ['values-production.yaml']),
  helm('helm-agent-platform-all-features', 'agent-platform', ['ci/all-features-values.yaml']),
  helm('helm-agent-platform-in-cluster-stores', 'agent-platform', ['examples/in-cluster-stores-values.yaml']),
  helm('helm-knowledge', 'knowledge', ['ci/minimal-values.yaml'], 'kn'),
  helm('helm-operations', 'operations', ['ci/minimal-values.yaml'], 'ops'),
  helm('helm-coordination', 'coordination', ['ci/minimal-values.yaml'], 'coord'),
  { name: 'kustomize-dev', kind: 'kustomize', overlay: 'dev' },
  { name: 'kustomize-prod', kind: 'kustomize', overlay: 'prod' },
];

export interface FailureCase {
  name: string;
  chart: string;
  /** Values files (fixtures are absolute); none = the chart's defaults alone. */
  values: string[];
  /** Every pattern must appear in helm's error output. */
  expect: RegExp[];
}

const fixture = (f: string) => path.join(FIXTURES, f);

/** Renders that must FAIL, each with the messages that prove it failed for the right reason. */
export const MUST_FAIL: FailureCase[] = [
  {
    name: 'defaults only: required store URLs and secret names unset',
    chart: 'agent-platform',
    values: [],
    expect: [/is required/],
  },
  {
    name: 'bad-values.yaml (schema: types, ranges, patterns, unknown keys, hardening, probe meanings)',
    chart: 'agent-platform',
    values: [fixture('bad-values.yaml')],
    expect: [
      /knowledge:[\s\S]*\/replicaCount/,
      /\/neo4j\/uri/,
      /\/livenessProbe\/httpGet\/path/,
      /\/securityContext\/allowPrivilegeEscalation/,
      /\/securityContext\/readOnlyRootFilesystem/,
      /operations:[\s\S]*\/resources/,
      /additional properties 'replicas' not allowed/,
      /coordination:[\s\S]*\/service\/port/,
      /\/image\/pullPolicy/,
      /global[\s\S]*\/nats\/url|\/global\/nats\/url/,
      // a private key (with "d") pasted into global.auth.issuers never reaches a ConfigMap
      /\/global\/auth\/issuers\/0\/jwks[\s\S]*(not|oneOf)/,
      /\/global\/auth\/issuers\/1\/kinds\/0/,
    ],
  },
  {
    name: 'operations without its signing key (it signs its own service tokens)',
    chart: 'operations',
    values: ['ci/minimal-values.yaml', fixture('missing-signing-key.yaml')],
    expect: [/operations: auth\.signingKey\.existingSecret is required/],
  },
  {
    name: 'coordination without its signing key (it signs agent tokens after enrolment)',
    chart: 'coordination',
    values: ['ci/minimal-values.yaml', fixture('missing-signing-key.yaml')],
    expect: [/coordination: auth\.signingKey\.existingSecret is required/],
  },
  {
    name: 'one NATS Secret shared by every service (global.nats.existingSecret): each service has its own',
    chart: 'agent-platform',
    values: ['ci/minimal-values.yaml', fixture('shared-nats-secret.yaml')],
    expect: [/\/global\/nats[\s\S]*additional properties 'existingSecret' not allowed/],
  },
  {
    name: 'coordination without its own NATS password Secret',
    chart: 'agent-platform',
    values: ['ci/minimal-values.yaml', fixture('missing-nats-secret.yaml')],
    expect: [/coordination: nats\.existingSecret is required: the Secret holding the password of NATS user coordination/],
  },
  {
    name: 'no trusted token issuer',
    chart: 'agent-platform',
    values: ['ci/minimal-values.yaml', fixture('no-issuers.yaml')],
    expect: [/global\.auth\.issuers is required/],
  },
  {
    name: 'a signing key for knowledge (it signs nothing: no such value)',
    chart: 'agent-platform',
    values: ['ci/minimal-values.yaml', fixture('knowledge-signing-key.yaml')],
    expect: [/knowledge[\s\S]*additional properties 'auth' not allowed/],
  },
  {
    name: 'missing Neo4j secret name',
    chart: 'knowledge',
    values: ['ci/minimal-values.yaml', fixture('missing-neo4j-secret.yaml')],
    expect: [/neo4j\.existingSecret is required/],
  },
  {
    name: 'autoscaling.minReplicas above maxReplicas',
    chart: 'coordination',
    values: ['ci/minimal-values.yaml', fixture('hpa-min-over-max.yaml')],
    expect: [/autoscaling\.minReplicas \(5\) must not exceed autoscaling\.maxReplicas \(2\)/],
  },
  {
    name: 'disruption budget that blocks every drain',
    chart: 'coordination',
    values: ['ci/minimal-values.yaml', fixture('pdb-blocks-drain.yaml')],
    expect: [/podDisruptionBudget\.minAvailable \(2\) must be below the replica count \(2\)/],
  },
  {
    name: 'shutdown longer than the termination grace period',
    chart: 'operations',
    values: ['ci/minimal-values.yaml', fixture('shutdown-too-long.yaml')],
    expect: [/shutdownTimeoutMs \(30000\) must be below/],
  },
  {
    name: 'autoscaling without a metric',
    chart: 'knowledge',
    values: ['ci/minimal-values.yaml', fixture('hpa-without-metric.yaml')],
    expect: [/\/autoscaling/],
  },
];

function helmArgs(t: { chart: string; values: string[]; release?: string; namespace?: string }): string[] {
  const chartDir = path.join(ROOT, 'helm', t.chart);
  const args = ['template', t.release ?? 'platform', chartDir, '--namespace', t.namespace ?? 'agents', '--kube-version', KUBE_VERSION];
  for (const v of t.values) args.push('--values', path.isAbsolute(v) ? v : path.join(chartDir, v));
  return args;
}

/** Renders one target; throws with the tool's error output when it fails. */
export function render(t: Target): string {
  const r =
    t.kind === 'helm'
      ? run(tool('helm'), helmArgs(t))
      : run(tool('kustomize'), ['build', path.join(ROOT, 'k8s', 'overlays', t.overlay)]);
  if (r.code !== 0) throw new Error(`${t.name}: render failed:\n${r.stderr || r.stdout}`);
  return r.stdout;
}

/** Renders a case that must fail; returns helm's error output (or throws when it rendered). */
export function renderMustFail(c: FailureCase): string {
  const r = run(tool('helm'), helmArgs(c));
  if (r.code === 0) throw new Error(`${c.name}: rendered, but it must fail`);
  return r.stderr + r.stdout;
}

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
} & Record<string, unknown>;

export function parseManifests(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((d) => {
      if (d.errors.length) throw new Error(d.errors.map((e) => e.message).join('\n'));
      return d.toJS() as K8sObject | null;
    })
    .filter((d): d is K8sObject => d !== null && typeof d === 'object' && 'kind' in d);
}
