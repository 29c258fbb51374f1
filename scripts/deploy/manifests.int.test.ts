/**
 * Every rendered output (each Helm values profile, each service chart alone, each kustomize overlay)
 * asserted the same way: every container has requests and limits and the hardened securityContext;
 * every service container has the three probes with their distinct meanings; each Deployment has its
 * Service, ServiceAccount, PodDisruptionBudget and NetworkPolicy; network policies allow exactly the
 * calls the architecture draws; no Secret value is ever rendered; and the environment each service
 * gets is accepted by that service's own config schema (services/<name>/src/config.ts).
 */
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { coordinationEnv } from '../../services/coordination/src/config.js';
import { knowledgeEnv } from '../../services/knowledge/src/config.js';
import { operationsEnv } from '../../services/operations/src/config.js';
import { authEnv } from '@platform/kit';
import { parseManifests, render, SERVICE_PORTS, TARGETS, type K8sObject, type ServiceName } from './lib.js';

type Dict = Record<string, unknown>;
interface Container {
  name: string;
  image: string;
  ports?: Array<{ name?: string; containerPort: number }>;
  env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string }; configMapKeyRef?: unknown } }>;
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  resources?: { requests?: Dict; limits?: Dict };
  securityContext?: Dict;
  startupProbe?: { httpGet?: { path: string; port: string | number } };
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
  args?: string[];
}
interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  securityContext?: Dict;
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  volumes?: Array<{ name: string; emptyDir?: Dict; secret?: { secretName: string; items?: Array<{ key: string; path: string }> }; projected?: Dict }>;
}
interface PodTemplate {
  metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
  spec: PodSpec;
}

const SCHEMAS: Record<ServiceName, z.ZodObject> = { knowledge: knowledgeEnv, operations: operationsEnv, coordination: coordinationEnv };
/** The services that sign tokens and so hold a private key (ARCHITECTURE "Tokens are verified by public key"). */
const SIGNING: ReadonlySet<ServiceName> = new Set(['operations', 'coordination']);
/** Stand-ins for values that only exist in Secrets, valid for the services' schemas. */
const SECRET_PLACEHOLDERS: Record<string, string> = {
  NATS_PASSWORD: 'placeholder',
  NEO4J_PASSWORD: 'placeholder',
  DATABASE_URL: 'postgresql://operations_app:placeholder@postgres:5432/platform',
  DATABASE_ADMIN_URL: 'postgresql://platform_owner:placeholder@postgres:5432/platform',
};
/**
 * Names of variables that hold secret material (a password, a token such as AGENT_ENROLMENT_TOKEN, a
 * private key); AUTH_MAX_TOKEN_LIFETIME_S, AGENT_TOKEN_TTL_S and AUTH_SIGNING_KEY_FILE (a path) are not.
 */
const SECRET_NAME = /SECRET|PASSWORD|TOKEN$|SIGNING_KEY$|PRIVATE/;
/** Variables a service reads that are not in its zod schema (read by the OpenTelemetry SDK or node). */
const EXTERNAL_ENV = new Set(['OTEL_EXPORTER_OTLP_ENDPOINT', 'NODE_OPTIONS']);

function podTemplate(o: K8sObject): PodTemplate | undefined {
  if (o.kind === 'Pod') return { metadata: o.metadata as PodTemplate['metadata'], spec: o.spec as unknown as PodSpec };
  if (['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job'].includes(o.kind)) return (o.spec as { template: PodTemplate }).template;
  if (o.kind === 'CronJob') return ((o.spec as { jobTemplate: { spec: { template: PodTemplate } } }).jobTemplate.spec.template);
  return undefined;
}
const matches = (selector: Record<string, string> | undefined, labels: Record<string, string>) =>
  !!selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }>;
}
/** A label selector as the API server evaluates it (both parts must hold); an empty one matches nothing here. */
const selects = (selector: LabelSelector, labels: Record<string, string>) => {
  const expressions = selector.matchExpressions ?? [];
  if (Object.keys(selector.matchLabels ?? {}).length === 0 && expressions.length === 0) return false;
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  return (
    byLabels &&
    expressions.every(({ key, operator, values = [] }) =>
      operator === 'In' ? values.includes(labels[key] ?? '\u0000') : operator === 'NotIn' ? !values.includes(labels[key] ?? '\u0000') : operator === 'Exists' ? key in labels : !(key in labels),
    )
  );
};
const serviceOf = (d: K8sObject): ServiceName | undefined => {
  const name = podTemplate(d)?.spec.containers[0]?.name;
  return name && name in SERVICE_PORTS ? (name as ServiceName) : undefined;
};

const rendered = TARGETS.map((t) => ({ target: t, objects: parseManifests(render(t)) }));

describe.each(rendered)('$target.name', ({ target, objects }) => {
  const deployments = objects.filter((o) => o.kind === 'Deployment');
  const workloads = objects.filter((o) => podTemplate(o));
  const byKind = (kind: string) => objects.filter((o) => o.kind === kind);

  it('renders at least one Deployment, and never a Secret', () => {
    expect(deployments.length).toBeGreaterThan(0);
    expect(byKind('Secret'), 'secret values are never committed or rendered').toEqual([]);
  });

  it('every container: resource requests and limits (cpu, memory) and the hardened securityContext', () => {
    for (const w of workloads) {
      const pod = podTemplate(w)!;
      const where = `${w.kind}/${w.metadata.name}`;
      expect(pod.spec.automountServiceAccountToken, `${where}: no API token`).toBe(false);
      for (const host of ['hostNetwork', 'hostPID', 'hostIPC'] as const) expect(pod.spec[host], `${where}: ${host}`).toBeFalsy();
      const podSc = pod.spec.securityContext ?? {};
      for (const c of [...pod.spec.containers, ...(pod.spec.initContainers ?? [])]) {
        const at = `${where} container ${c.name}`;
        for (const kind of ['requests', 'limits'] as const) {
          for (const r of ['cpu', 'memory']) expect(c.resources?.[kind]?.[r], `${at}: resources.${kind}.${r}`).toBeDefined();
        }
        const sc = c.securityContext ?? {};
        expect(sc['runAsNonRoot'] ?? podSc['runAsNonRoot'], `${at}: runAsNonRoot`).toBe(true);
        expect(sc['readOnlyRootFilesystem'], `${at}: readOnlyRootFilesystem`).toBe(true);
        expect(sc['allowPrivilegeEscalation'], `${at}: allowPrivilegeEscalation`).toBe(false);
        expect(sc['privileged'] ?? false, `${at}: privileged`).toBe(false);
        expect((sc['capabilities'] as { drop?: string[] } | undefined)?.drop, `${at}: capabilities.drop`).toContain('ALL');
        expect((sc['capabilities'] as { add?: string[] } | undefined)?.add ?? [], `${at}: capabilities.add`).toEqual([]);
        const seccomp = (sc['seccompProfile'] ?? podSc['seccompProfile']) as { type?: string } | undefined;
        expect(seccomp?.type, `${at}: seccompProfile`).toBe('RuntimeDefault');
        // Read-only root: the only writable path is an emptyDir on /tmp.
        const tmp = c.volumeMounts?.find((m) => m.mountPath === '/tmp');
        if (w.kind !== 'Pod') {
          expect(tmp, `${at}: /tmp mount`).toBeDefined();
          expect(pod.spec.volumes?.find((v) => v.name === tmp?.name)?.emptyDir, `${at}: /tmp is an emptyDir`).toBeDefined();
        }
      }
    }
  });

  it('every service container: startup and liveness on /healthz, readiness on /readyz, on its http port', () => {
    for (const d of deployments) {
      for (const c of podTemplate(d)!.spec.containers) {
        const at = `Deployment/${d.metadata.name} container ${c.name}`;
        expect(c.startupProbe?.httpGet?.path, `${at}: startupProbe`).toBe('/healthz');
        expect(c.livenessProbe?.httpGet?.path, `${at}: livenessProbe (no dependency calls)`).toBe('/healthz');
        expect(c.readinessProbe?.httpGet?.path, `${at}: readinessProbe (dependency checks)`).toBe('/readyz');
        const http = c.ports?.find((p) => p.name === 'http');
        expect(http?.containerPort, `${at}: http port`).toBe(SERVICE_PORTS[c.name as ServiceName]);
        for (const p of [c.startupProbe, c.livenessProbe, c.readinessProbe]) expect([http?.name, http?.containerPort]).toContain(p?.httpGet?.port);
      }
    }
  });

  it('each Deployment has its Service, ServiceAccount, PodDisruptionBudget and NetworkPolicy (and HPA when autoscaled)', () => {
    for (const d of deployments) {
      const pod = podTemplate(d)!;
      const labels = pod.metadata.labels;
      const at = `Deployment/${d.metadata.name}`;
      const port = pod.spec.containers[0]!.ports![0]!.containerPort;
      const svc = byKind('Service').find((s) => matches((s.spec as { selector?: Record<string, string> }).selector, labels));
      expect(svc, `${at}: a Service selects its pods`).toBeDefined();
      expect((svc!.spec as { ports: Array<{ port: number }> }).ports.map((p) => p.port)).toContain(port);
      const sa = pod.spec.serviceAccountName;
      if (sa && sa !== 'default') expect(byKind('ServiceAccount').map((s) => s.metadata.name), `${at}: ServiceAccount ${sa}`).toContain(sa);
      const pdb = byKind('PodDisruptionBudget').find((p) => matches((p.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels, labels));
      expect(pdb, `${at}: PDB`).toBeDefined();
      // Running-but-unready pods (crash loop) must not block node drains.
      expect((pdb!.spec as { unhealthyPodEvictionPolicy?: string }).unhealthyPodEvictionPolicy, `${at}: PDB unhealthyPodEvictionPolicy`).toBe('AlwaysAllow');
      expect(byKind('NetworkPolicy').some((n) => selects((n.spec as { podSelector: LabelSelector }).podSelector, labels)), `${at}: NetworkPolicy`).toBe(true);
      const hpa = byKind('HorizontalPodAutoscaler').find((h) => (h.spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name === d.metadata.name);
      if (hpa) expect((d.spec as { replicas?: number }).replicas, `${at}: replicas left to the HPA`).toBeUndefined();
      // No other pod may carry labels the Service/PDB select (a Job pod must not receive traffic).
      for (const other of workloads.filter((w) => w !== d)) {
        expect(matches((svc!.spec as { selector: Record<string, string> }).selector, podTemplate(other)!.metadata.labels), `${other.kind}/${other.metadata.name} matches ${at}'s Service`).toBe(false);
      }
    }
  });

  it('rolls pods when their config changes (checksum annotation / hash-suffixed ConfigMaps)', () => {
    for (const d of deployments) {
      const pod = podTemplate(d)!;
      const refs = pod.spec.containers[0]!.envFrom?.map((e) => e.configMapRef?.name).filter(Boolean) ?? [];
      expect(refs.length).toBeGreaterThan(0);
      if (target.kind === 'helm') expect(pod.metadata.annotations?.['checksum/config'], d.metadata.name).toMatch(/^[a-f0-9]{64}$/);
      else for (const r of refs) expect(r, 'kustomize configMapGenerator hash suffix').toMatch(/-[a-z0-9]{10}$/);
    }
  });

  /** A container's plain environment: its ConfigMaps (envFrom) and literal env values (not Secrets). */
  const plainEnv = (d: K8sObject): Record<string, string> => {
    const configMaps = new Map(byKind('ConfigMap').map((c) => [c.metadata.name, c.data ?? {}]));
    const c = podTemplate(d)!.spec.containers[0]!;
    const env: Record<string, string> = {};
    for (const from of c.envFrom ?? []) Object.assign(env, configMaps.get(from.configMapRef?.name ?? '') ?? {});
    for (const e of c.env ?? []) if (!e.valueFrom) env[e.name] = e.value ?? '';
    return env;
  };

  it('never mentions the old shared HS256 secret (no JWT_* variable, no jwt Secret)', () => {
    expect(JSON.stringify(objects)).not.toMatch(/JWT_|platform-jwt|jwt-secret/);
  });

  it('every service trusts issuers by public key only: AUTH_ISSUERS set, parsed by the kit, no private key ("d") in it', () => {
    for (const d of deployments) {
      const env = plainEnv(d);
      const at = `${d.metadata.name}`;
      expect(env['AUTH_ISSUERS'], `${at}: AUTH_ISSUERS`).toBeDefined();
      const parsed = authEnv.safeParse(env);
      expect(parsed.success, `${at}: ${parsed.success ? '' : JSON.stringify(parsed.error.issues)}`).toBe(true);
      expect(env['AUTH_ISSUERS'], `${at}: a private key in AUTH_ISSUERS`).not.toMatch(/"d"\s*:/);
      expect(env['AUTH_SIGNING_KEY'], `${at}: a private key is a file from a Secret, never an env value`).toBeUndefined();
    }
  });

  it('operations and coordination get their own private key from a Secret, mounted read-only as AUTH_SIGNING_KEY_FILE; knowledge gets none', () => {
    const signingSecrets = new Map<string, ServiceName>();
    for (const d of deployments) {
      const service = serviceOf(d)!;
      const pod = podTemplate(d)!;
      const c = pod.spec.containers[0]!;
      const env = plainEnv(d);
      const secretVolumes = (pod.spec.volumes ?? []).filter((v) => v.secret || v.projected);
      if (!SIGNING.has(service)) {
        expect(Object.keys(env).filter((k) => k.startsWith('AUTH_SIGNING_KEY')), `${service} signs nothing`).toEqual([]);
        expect(secretVolumes, `${service} mounts no Secret`).toEqual([]);
        expect((c.env ?? []).filter((e) => /SIGNING/.test(e.name))).toEqual([]);
        continue;
      }
      const file = env['AUTH_SIGNING_KEY_FILE'];
      expect(file, `${service}: AUTH_SIGNING_KEY_FILE`).toMatch(/^\//);
      const mount = c.volumeMounts?.find((m) => file!.startsWith(`${m.mountPath.replace(/\/$/, '')}/`));
      expect(mount, `${service}: ${file} is on a mounted volume`).toBeDefined();
      expect(mount!.readOnly, `${service}: key mount read-only`).toBe(true);
      const volume = pod.spec.volumes?.find((v) => v.name === mount!.name);
      expect(volume?.secret?.secretName, `${service}: the key comes from a Secret`).toMatch(/\S/);
      const item = volume!.secret!.items?.find((i) => `${mount!.mountPath.replace(/\/$/, '')}/${i.path}` === file);
      expect(item, `${service}: the Secret key is projected to ${file}`).toBeDefined();
      expect(secretVolumes, `${service}: the signing key is its only mounted Secret`).toHaveLength(1);
      // One key per service: no two services share a signing Secret.
      expect(signingSecrets.get(volume!.secret!.secretName), `${service} shares its key Secret`).toBeUndefined();
      signingSecrets.set(volume!.secret!.secretName, service);
    }
    // Other workloads (the migration Job, test pods) hold no key either.
    for (const w of workloads.filter((w) => w.kind !== 'Deployment')) {
      expect((podTemplate(w)!.spec.volumes ?? []).filter((v) => v.secret || v.projected), `${w.kind}/${w.metadata.name}`).toEqual([]);
    }
  });

  it("gives each service an environment its own config schema accepts; secrets only through secretKeyRef", () => {
    const configMaps = new Map(byKind('ConfigMap').map((c) => [c.metadata.name, c.data ?? {}]));
    for (const d of deployments) {
      const service = serviceOf(d)!;
      const c = podTemplate(d)!.spec.containers[0]!;
      const env: Record<string, string> = {};
      for (const from of c.envFrom ?? []) {
        const data = configMaps.get(from.configMapRef?.name ?? '');
        expect(data, `${d.metadata.name}: ConfigMap ${from.configMapRef?.name} is rendered`).toBeDefined();
        const secretish = Object.keys(data ?? {}).filter((k) => k in SECRET_PLACEHOLDERS || SECRET_NAME.test(k));
        expect(secretish, `secret material in ConfigMap ${from.configMapRef?.name}`).toEqual([]);
        Object.assign(env, data);
      }
      for (const e of c.env ?? []) {
        if (e.valueFrom?.secretKeyRef) {
          expect(SECRET_PLACEHOLDERS[e.name], `${e.name} from a Secret`).toBeDefined();
          env[e.name] = SECRET_PLACEHOLDERS[e.name]!;
        } else {
          expect(e.name, `${e.name} is a secret and must come from a Secret`).not.toMatch(SECRET_NAME);
          expect(e.name, `${e.name} is a secret and must come from a Secret`).not.toMatch(/DATABASE_URL/);
          env[e.name] = e.value ?? '';
        }
      }
      const schema = SCHEMAS[service];
      const unknown = Object.keys(env).filter((k) => !(k in schema.shape) && !EXTERNAL_ENV.has(k));
      expect(unknown, `${d.metadata.name}: variables ${service} does not read (typos?)`).toEqual([]);
      const parsed = schema.safeParse(env);
      expect(parsed.success, `${d.metadata.name}: ${parsed.success ? '' : JSON.stringify(parsed.error.issues)}`).toBe(true);
      expect(env['HOST']).toBe('0.0.0.0');
      expect(Number(env['PORT'])).toBe(SERVICE_PORTS[service]);
    }
  });

  it('network policies allow exactly the calls the architecture draws', () => {
    const policies = byKind('NetworkPolicy') as Array<K8sObject & { spec: { podSelector: LabelSelector; policyTypes?: string[]; ingress?: Array<{ ports?: Array<{ port: string | number }>; from?: Dict[] }>; egress?: Array<{ ports?: Array<{ port: number }>; to?: Dict[] }> } }>;
    const otel = deployments.some((d) => byKind('ConfigMap').some((c) => c.data?.['OTEL_EXPORTER_OTLP_ENDPOINT'] && (podTemplate(d)!.spec.containers[0]!.envFrom ?? []).some((e) => e.configMapRef?.name === c.metadata.name)));
    const expected: Record<ServiceName, number[]> = {
      knowledge: [53, 4222, 7687],
      operations: [53, 4222, 4101, 5432],
      coordination: [53, 4222, 4102],
    };
    /** Every service fetches the public keys of an identity provider listed by https:// jwks_uri. */
    const jwksPorts = (d: K8sObject): number[] => {
      const issuers = JSON.parse(plainEnv(d)['AUTH_ISSUERS'] ?? '[]') as Array<{ jwks: unknown }>;
      return [...new Set(issuers.flatMap((i) => (typeof i.jwks === 'string' && i.jwks.startsWith('https://') ? [Number(new URL(i.jwks).port || 443)] : [])))];
    };
    const applying = (labels: Record<string, string>) => policies.filter((p) => selects(p.spec.podSelector, labels));
    for (const d of deployments) {
      const service = serviceOf(d)!;
      const labels = podTemplate(d)!.metadata.labels;
      const nps = applying(labels);
      expect(nps.every((p) => (p.spec.policyTypes ?? []).includes('Egress') || !p.spec.egress)).toBe(true);
      expect(nps.some((p) => p.spec.policyTypes?.includes('Ingress')) && nps.some((p) => p.spec.policyTypes?.includes('Egress')), `${service}: ingress and egress restricted`).toBe(true);
      const egressPorts = new Set(nps.flatMap((p) => (p.spec.egress ?? []).flatMap((r) => (r.ports ?? []).map((x) => Number(x.port)))));
      const want = [...new Set([...expected[service], ...jwksPorts(d), ...(otel ? [4318] : [])])].sort((a, b) => a - b);
      expect([...egressPorts].sort((a, b) => a - b), `${service}: egress ports`).toEqual(want);
      for (const p of nps) for (const r of p.spec.egress ?? []) expect(r.ports?.length, `${service}: every egress rule names its ports`).toBeGreaterThan(0);
      const ingressPorts = new Set(nps.flatMap((p) => (p.spec.ingress ?? []).flatMap((r) => (r.ports ?? []).map((x) => x.port))));
      expect([...ingressPorts].every((x) => x === 'http' || x === SERVICE_PORTS[service]), `${service}: ingress only to the tRPC port`).toBe(true);
      expect(ingressPorts.size, `${service}: ingress to the tRPC port`).toBeGreaterThan(0);
      if (service === 'operations') {
        // operations → knowledge over tRPC: only to knowledge's pods.
        const toKnowledge = nps.flatMap((p) => p.spec.egress ?? []).filter((r) => r.ports?.some((x) => Number(x.port) === 4101));
        expect(toKnowledge.length).toBeGreaterThan(0);
        for (const r of toKnowledge) expect(JSON.stringify(r.to)).toContain('"app.kubernetes.io/name":"knowledge"');
      }
      if (service === 'coordination') {
        // coordination → operations over tRPC (asked as the caller whether a job may target a task): only to operations' pods.
        const toOperations = nps.flatMap((p) => p.spec.egress ?? []).filter((r) => r.ports?.some((x) => Number(x.port) === 4102));
        expect(toOperations.length).toBeGreaterThan(0);
        for (const r of toOperations) expect(JSON.stringify(r.to)).toContain('"app.kubernetes.io/name":"operations"');
      }
    }
    // The migration Job reaches Postgres (and DNS) only, and takes no traffic.
    for (const job of byKind('Job')) {
      const nps = applying(podTemplate(job)!.metadata.labels);
      expect(nps.length, `Job/${job.metadata.name} has a NetworkPolicy`).toBeGreaterThan(0);
      const ports = new Set(nps.flatMap((p) => (p.spec.egress ?? []).flatMap((r) => (r.ports ?? []).map((x) => Number(x.port)))));
      expect([...ports].sort((a, b) => a - b)).toEqual([53, 5432]);
      expect(nps.flatMap((p) => p.spec.ingress ?? [])).toEqual([]);
    }
  });

  it('every service connects to NATS as the user of its own name, with its own password Secret; none as platform, agent or subscriber', () => {
    /** Secret name → the services whose NATS_PASSWORD comes from it. */
    const natsSecrets = new Map<string, ServiceName[]>();
    for (const d of deployments) {
      const service = serviceOf(d)!;
      const c = podTemplate(d)!.spec.containers[0]!;
      // The user is plain config (ConfigMap), not a Secret anyone could point elsewhere.
      expect(plainEnv(d)['NATS_USER'], `${service}: NATS_USER`).toBe(service);
      expect((c.env ?? []).filter((e) => e.name === 'NATS_USER' && e.valueFrom), `${service}: NATS_USER from a Secret`).toEqual([]);
      const ref = c.env?.find((e) => e.name === 'NATS_PASSWORD')?.valueFrom?.secretKeyRef;
      expect(ref, `${service}: NATS_PASSWORD from a Secret`).toBeDefined();
      expect(ref!.name, `${service}: the old shared NATS Secret`).not.toBe('platform-nats');
      natsSecrets.set(ref!.name, [...(natsSecrets.get(ref!.name) ?? []), service]);
      // That Secret holds only NATS credentials: no other variable of this container reads it.
      expect((c.env ?? []).filter((e) => e.valueFrom?.secretKeyRef?.name === ref!.name).map((e) => e.name), service).toEqual(['NATS_PASSWORD']);
    }
    for (const [secret, users] of natsSecrets) expect(users, `Secret ${secret} is shared`).toHaveLength(1);
    // Nothing else in the release (migration Job, test pods) holds NATS credentials or claims a NATS user.
    for (const w of workloads.filter((w) => w.kind !== 'Deployment')) {
      for (const c of podTemplate(w)!.spec.containers) expect((c.env ?? []).map((e) => e.name).filter((n) => n.startsWith('NATS_')), `${w.kind}/${w.metadata.name}`).toEqual([]);
    }
    for (const cm of byKind('ConfigMap')) {
      expect(['platform', 'agent', 'subscriber'], `ConfigMap/${cm.metadata.name} NATS_USER`).not.toContain(cm.data?.['NATS_USER']);
    }
  });

  it('migrates with a one-shot Job (the operations image, owner URL from a Secret), never in the service pods', () => {
    // The optional bootstrap Job (roles and database, a stock Postgres image) is checked in helm-values.int.test.ts.
    const jobs = byKind('Job').filter((j) => j.metadata.labels?.['app.kubernetes.io/component'] !== 'bootstrap');
    const operations = deployments.find((d) => serviceOf(d) === 'operations');
    if (!operations) return expect(jobs).toEqual([]);
    expect(jobs).toHaveLength(1);
    const c = podTemplate(jobs[0]!)!.spec.containers[0]!;
    expect(c.image).toBe(podTemplate(operations)!.spec.containers[0]!.image);
    expect(c.args).toEqual(['node', '/app/services/operations/dist/migrate/migrate.js', 'deploy']);
    expect(c.env?.find((e) => e.name === 'DATABASE_ADMIN_URL')?.valueFrom?.secretKeyRef).toBeDefined();
    expect(JSON.stringify(podTemplate(operations))).not.toContain('DATABASE_ADMIN_URL');
    if (target.kind === 'helm') {
      expect(jobs[0]!.metadata.annotations?.['helm.sh/hook']).toBe('pre-install,pre-upgrade');
      // What the Job needs exists before it runs (hooks, lower weight).
      for (const kind of ['ServiceAccount', 'NetworkPolicy']) {
        const dep = byKind(kind).find((o) => o.metadata.name === jobs[0]!.metadata.name);
        expect(dep?.metadata.annotations?.['helm.sh/hook'], `${kind} of the migration is a hook too`).toBe('pre-install,pre-upgrade');
        expect(Number(dep?.metadata.annotations?.['helm.sh/hook-weight'])).toBeLessThan(Number(jobs[0]!.metadata.annotations?.['helm.sh/hook-weight']));
      }
    }
  });

  if (target.kind === 'helm') {
    it('has a `helm test` pod per service calling its /readyz through the Service', () => {
      const tests = byKind('Pod').filter((p) => p.metadata.annotations?.['helm.sh/hook'] === 'test');
      expect(tests).toHaveLength(deployments.length);
      for (const d of deployments) {
        const svc = byKind('Service').find((s) => matches((s.spec as { selector: Record<string, string> }).selector, podTemplate(d)!.metadata.labels))!;
        const url = `http://${svc.metadata.name}.agents.svc:${SERVICE_PORTS[serviceOf(d)!]}/readyz`;
        expect(tests.some((t) => JSON.stringify(t.spec).includes(url)), `a test pod calls ${url}`).toBe(true);
      }
    });

    it('uses one image tag for the whole release', () => {
      const ours = workloads.flatMap((w) => podTemplate(w)!.spec.containers.map((c) => c.image)).filter((image) => image.includes('agent-platform/'));
      const tags = new Set(ours.map((image) => image.replace(/@sha256:.*/, '').split(':').at(-1)));
      expect(tags.size).toBe(1);
    });
  }
});

describe('examples/in-cluster-stores-values.yaml', () => {
  it("knowledge's egress to Neo4j selects the pods of the official neo4j chart (labels app and helm.neo4j.com/instance)", () => {
    const objs = parseManifests(render(TARGETS.find((t) => t.name === 'helm-agent-platform-in-cluster-stores')!));
    const np = objs.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'platform-knowledge')!;
    const rules = (np.spec as { egress: Array<{ ports: Array<{ port: number }>; to?: Array<{ podSelector?: LabelSelector }> }> }).egress;
    const bolt = rules.filter((r) => r.ports.some((p) => p.port === 7687));
    expect(bolt).toHaveLength(1);
    // What neo4j/neo4j's StatefulSet puts on its pods for release `neo4j` (no app.kubernetes.io/name).
    const neo4jPod = { app: 'neo4j', 'helm.neo4j.com/instance': 'neo4j' };
    expect(bolt[0]!.to!.some((peer) => peer.podSelector && selects(peer.podSelector, neo4jPod))).toBe(true);
  });
});
