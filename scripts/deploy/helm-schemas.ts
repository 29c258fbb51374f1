/**
 * values.schema.json of every chart, generated from one description so the three service charts and
 * the umbrella chart stay in step (Helm validates values against them on lint/template/install, and
 * validates each subchart's values with the subchart's schema when the umbrella is rendered).
 *
 *   npx tsx scripts/deploy/helm-schemas.ts          write helm/<chart>/values.schema.json
 *   npx tsx scripts/deploy/helm-schemas.ts --check  exit 1 when a committed schema differs (CI)
 *
 * The schemas reject what would render a broken or unsafe workload: wrong types, out-of-range ports
 * and counts, unknown keys (typos), malformed URLs/quantities/digests, missing requests or limits,
 * a weakened securityContext, and probes that swap meanings (liveness/startup must be /healthz, which
 * makes no dependency calls; readiness must be /readyz). Values that must be set (store URLs, secret
 * names) default to "" here and are enforced with `required` in the templates, which names them.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

type Schema = Record<string, unknown>;

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const str = (extra: Schema = {}): Schema => ({ type: 'string', ...extra });
const int = (minimum: number, maximum?: number): Schema => ({ type: 'integer', minimum, ...(maximum === undefined ? {} : { maximum }) });
const bool: Schema = { type: 'boolean' };
/** Closed object: every listed key required (a `null` override that deletes one fails), no others allowed. */
const obj = (properties: Record<string, Schema>, extra: Schema = {}): Schema => ({
  type: 'object',
  additionalProperties: false,
  required: Object.keys(properties),
  properties,
  ...extra,
});
const described = (description: string, s: Schema): Schema => ({ description, ...s });
const stringMap: Schema = { type: 'object', additionalProperties: { type: 'string' } };
const objects: Schema = { type: 'array', items: { type: 'object' } };

const K8S_NAME = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
const optionalName = str({ pattern: `^$|${K8S_NAME}`, maxLength: 253 });
const secretKey = str({ pattern: '^[-._a-zA-Z0-9]+$' });
const cpu = { oneOf: [str({ pattern: '^([0-9]+m|[0-9]+(\\.[0-9]+)?)$' }), { type: 'number', exclusiveMinimum: 0 }] };
const memory = str({ pattern: '^[0-9]+(\\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$' });
const duration = str({ pattern: '^[0-9]+(ms|s|m|h)$' });
const percentOrCount = (min: number) => ({ oneOf: [int(min), str({ pattern: '^[0-9]{1,3}%$' })] });

const resources = described(
  'Container requests and limits; both, with cpu and memory',
  obj({ requests: obj({ cpu, memory }), limits: obj({ cpu, memory }) }),
);

function probe(meaning: string, pathSchema: Schema): Schema {
  return described(meaning, {
    type: 'object',
    additionalProperties: false,
    required: ['httpGet', 'periodSeconds', 'timeoutSeconds', 'failureThreshold'],
    properties: {
      httpGet: obj({ path: pathSchema, port: { oneOf: [str({ const: 'http' }), int(1, 65535)] } }),
      initialDelaySeconds: int(0),
      periodSeconds: int(1),
      timeoutSeconds: int(1),
      failureThreshold: int(1),
      successThreshold: int(1),
      terminationGracePeriodSeconds: int(1),
    },
  });
}

const podSecurityContext = described('Pod security context; must run as non-root with a seccomp profile', {
  type: 'object',
  required: ['runAsNonRoot', 'seccompProfile'],
  properties: {
    runAsNonRoot: { const: true },
    runAsUser: int(1),
    runAsGroup: int(1),
    fsGroup: int(1),
    seccompProfile: { type: 'object', required: ['type'], properties: { type: { enum: ['RuntimeDefault', 'Localhost'] } } },
  },
});

const securityContext = described('Container security context; the hardening cannot be switched off', {
  type: 'object',
  required: ['runAsNonRoot', 'allowPrivilegeEscalation', 'readOnlyRootFilesystem', 'capabilities', 'seccompProfile'],
  properties: {
    runAsNonRoot: { const: true },
    runAsUser: int(1),
    runAsGroup: int(1),
    allowPrivilegeEscalation: { const: false },
    readOnlyRootFilesystem: { const: true },
    privileged: { const: false },
    capabilities: {
      type: 'object',
      required: ['drop'],
      properties: { drop: { type: 'array', contains: { const: 'ALL' } }, add: { type: 'array', maxItems: 0 } },
    },
    seccompProfile: { type: 'object', required: ['type'], properties: { type: { enum: ['RuntimeDefault', 'Localhost'] } } },
  },
});

/**
 * One trusted token issuer (shared/kit/src/auth-config.ts IssuerConfig): its public keys inline (a
 * JWKS, never a private key: a key with `d` is rejected here, before it could reach a ConfigMap), or
 * where to fetch them (`file:` inside the pod, or an https:// jwks_uri of an identity provider).
 */
const publicJwk = described('A public key (JWK with kid); a private key (with "d") is refused', {
  type: 'object',
  required: ['kty', 'kid'],
  properties: { kty: { enum: ['OKP', 'EC'] }, kid: str({ minLength: 1, maxLength: 200 }), alg: { enum: ['EdDSA', 'ES256'] } },
  not: { required: ['d'] },
});
const issuer = described(
  'A trusted issuer: its `iss`, its public keys (inline JWKS, file:/path or https:// jwks_uri) and the principal kinds it may sign for',
  {
    type: 'object',
    additionalProperties: false,
    required: ['issuer', 'jwks', 'kinds'],
    properties: {
      issuer: str({ minLength: 1 }),
      jwks: {
        oneOf: [
          str({ pattern: '^(file:/|https://)[^\\s]+$' }),
          { type: 'object', additionalProperties: false, required: ['keys'], properties: { keys: { type: 'array', minItems: 1, items: publicJwk } } },
        ],
      },
      kinds: { type: 'array', minItems: 1, uniqueItems: true, items: { enum: ['user', 'service', 'agent'] } },
      delegates: bool,
    },
  },
);

const global = described(
  'Values shared by every service chart (set once in the umbrella chart)',
  obj({
    imageRegistry: str({ pattern: '^$|^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._/-]+)?$' }),
    imageTag: str({ pattern: '^$|^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$' }),
    imagePullSecrets: { type: 'array', items: str({ pattern: K8S_NAME }) },
    // issuers may be empty here: the template fails the render naming global.auth.issuers.
    auth: obj({ issuers: { type: 'array', items: issuer }, audience: str({ minLength: 1 }), maxTokenLifetimeSeconds: int(60, 604_800), clockSkewSeconds: int(0, 300) }),
    // No shared NATS credentials here: each service has its own user and Secret (its `nats` value).
    // Replicas: 1..5 copies of each stream and KV bucket (3 on a three-node cluster); overrides by stream name.
    nats: obj({
      url: str({ pattern: '^$|^(nats|tls)://[^\\s/]+$' }),
      streamReplicas: int(1, 5),
      streamReplicaOverrides: { type: 'object', propertyNames: { pattern: '^[A-Za-z0-9_-]+$' }, additionalProperties: int(1, 5) },
    }),
    otel: obj({ endpoint: str({ pattern: '^$|^https?://[^\\s]+$' }) }),
    // Origins exactly as a browser sends them (no path, no trailing slash); the kit refuses others at start.
    cors: obj({ allowedOrigins: { type: 'array', uniqueItems: true, items: str({ pattern: '^https?://[^\\s/]+$' }) } }),
  }),
);

/** An age limit in seconds: 0 (none) or at least 600 (longer than the streams' 2-minute duplicate window). */
const maxAgeSeconds: Schema = { type: 'integer', anyOf: [{ const: 0 }, { minimum: 600 }] };
/** Stream retention every service reads (shared/kit/src/retention.ts); charts add their own keys. */
const streamRetention = (extra: Record<string, Schema> = {}): Schema =>
  obj({ eventStreamMaxAgeSeconds: maxAgeSeconds, eventStreamMaxBytes: int(0), deadLetterMaxAgeSeconds: maxAgeSeconds, deadLetterMaxBytes: int(0), ...extra });

/** Everything a service chart has in common (the `helm create` values plus ours). */
function serviceProperties(port: number): Record<string, Schema> {
  return {
    enabled: described('Used by the umbrella chart (condition); ignored by this chart', bool),
    global,
    logLevel: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
    shutdownTimeoutMs: int(1000, 600_000),
    readinessTimeoutMs: int(100, 30_000),
    // The Secret with this service's own NATS password (the user is the service's name).
    nats: obj({ existingSecret: optionalName, passwordKey: secretKey }),
    limits: obj({
      maxBodyBytes: int(1_024, 1_073_741_824),
      maxBatchCalls: int(1, 1_000),
      maxJsonDepth: int(2, 1_000),
      subscriptionsPerPrincipal: int(1, 10_000),
      rateLimit: obj({ enabled: bool, requests: int(1, 1_000_000), anonymousRequests: int(1, 1_000_000), windowSeconds: int(1, 86_400) }),
    }),
    retention: streamRetention(),
    extraEnv: {
      type: 'object',
      propertyNames: { pattern: '^[A-Z_][A-Z0-9_]*$' },
      additionalProperties: { type: ['string', 'number', 'boolean'] },
    },
    replicaCount: int(1),
    revisionHistoryLimit: int(0),
    image: obj({
      registry: str({ pattern: '^$|^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._/-]+)?$' }),
      repository: str({ pattern: '^[a-z0-9]+([._/-][a-z0-9]+)*$' }),
      tag: str({ pattern: '^$|^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$' }),
      digest: str({ pattern: '^$|^sha256:[a-f0-9]{64}$' }),
      pullPolicy: { enum: ['Always', 'IfNotPresent', 'Never'] },
    }),
    imagePullSecrets: { type: 'array', items: str({ pattern: K8S_NAME }) },
    nameOverride: str({ pattern: '^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 }),
    fullnameOverride: str({ pattern: '^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 }),
    serviceAccount: obj({ create: bool, automount: bool, annotations: stringMap, name: optionalName }),
    podAnnotations: stringMap,
    podLabels: stringMap,
    podSecurityContext,
    securityContext,
    resources,
    tmpSizeLimit: memory,
    terminationGracePeriodSeconds: int(1, 3600),
    preStopSleepSeconds: int(0, 120),
    priorityClassName: optionalName,
    volumes: objects,
    volumeMounts: objects,
    nodeSelector: stringMap,
    tolerations: objects,
    affinity: { type: 'object' },
    topologySpreadConstraints: objects,
    startupProbe: probe('Startup: /healthz (no dependency calls) once the process has started', { const: '/healthz' }),
    livenessProbe: probe('Liveness: /healthz only (no dependency calls: a store outage must not restart pods)', { const: '/healthz' }),
    readinessProbe: probe('Readiness: /readyz (checks every dependency)', { const: '/readyz' }),
    service: obj({ type: { enum: ['ClusterIP', 'NodePort', 'LoadBalancer'] }, port: { const: port } }),
    ingress: obj({
      enabled: bool,
      className: str(),
      annotations: stringMap,
      hosts: {
        type: 'array',
        items: obj({
          host: str({ minLength: 1 }),
          paths: { type: 'array', minItems: 1, items: obj({ path: str({ pattern: '^/' }), pathType: { enum: ['Prefix', 'Exact', 'ImplementationSpecific'] } }) },
        }),
      },
      tls: { type: 'array', items: obj({ secretName: str({ pattern: K8S_NAME }), hosts: { type: 'array', items: str() } }) },
    }),
    autoscaling: obj(
      {
        enabled: bool,
        minReplicas: int(1),
        maxReplicas: int(1),
        targetCPUUtilizationPercentage: int(0, 1000),
        targetMemoryUtilizationPercentage: int(0, 1000),
      },
      {
        // An HPA without a metric does nothing.
        if: { properties: { enabled: { const: true } } },
        then: { anyOf: [{ properties: { targetCPUUtilizationPercentage: { minimum: 1 } } }, { properties: { targetMemoryUtilizationPercentage: { minimum: 1 } } }] },
      },
    ),
    podDisruptionBudget: obj({ enabled: bool, minAvailable: { oneOf: [{ const: '' }, ...percentOrCount(1).oneOf] }, maxUnavailable: percentOrCount(1) }),
    serviceMonitor: obj({ enabled: bool, path: str({ pattern: '^/' }), interval: duration, scrapeTimeout: duration, labels: stringMap }),
    tests: obj({ enabled: bool, resources }),
  };
}

/** For the services that sign tokens: the existing Secret with the private key (required in the template). */
const signingKey = described('The Secret holding this service\'s private signing key (a JWK with kid and alg), mounted as a file', obj({ signingKey: obj({ existingSecret: optionalName, key: secretKey }) }));

function networkPolicy(withStore: boolean): Schema {
  return obj({
    enabled: bool,
    ingress: obj({ from: objects }),
    egress: obj({ dnsTo: objects, natsTo: objects, ...(withStore ? { storeTo: objects } : {}), otelTo: objects, jwksTo: objects, extra: objects }),
  });
}

function chartSchema(title: string, properties: Record<string, Schema>, library = true): Schema {
  const schema = obj(properties);
  // Helm adds a (global-only) values block for every dependency, the library chart included.
  if (library) (schema['properties'] as Record<string, Schema>)['platform-lib'] = described('Added by Helm for the platform-lib library chart (no values of its own)', { type: 'object' });
  return { $schema: 'http://json-schema.org/draft-07/schema#', title, ...schema };
}

const schemas: Record<string, Schema> = {
  knowledge: chartSchema('knowledge chart values', {
    ...serviceProperties(4101),
    networkPolicy: networkPolicy(true),
    neo4j: obj({
      uri: str({ pattern: '^$|^(neo4j|bolt)(\\+s|\\+ssc)?://[^\\s/]+$' }),
      user: str({ minLength: 1 }),
      database: str({ minLength: 1 }),
      existingSecret: optionalName,
      passwordKey: secretKey,
    }),
    outboxPollMs: int(50, 60_000),
    runRecorderConcurrency: int(1, 64),
    console: obj({ coordinationUrl: str({ pattern: '^$|^https?://[^\\s]+$' }) }),
  }),
  operations: chartSchema('operations chart values', {
    ...serviceProperties(4102),
    networkPolicy: networkPolicy(true),
    database: obj({ existingSecret: optionalName, urlKey: secretKey, port: int(1, 65535), poolMax: int(2, 200), maxConnections: int(1, 100000), reservedConnections: int(0, 100000) }),
    knowledge: obj({
      // Rendered with tpl: a URL or a template producing one.
      url: str({ pattern: '^$|^https?://.+$' }),
      timeoutMs: int(100, 60_000),
      podSelector: { ...stringMap, minProperties: 1 },
      namespaceSelector: stringMap,
    }),
    migration: obj({
      enabled: bool,
      existingSecret: optionalName,
      urlKey: secretKey,
      backoffLimit: int(0, 10),
      activeDeadlineSeconds: int(30),
      ttlSecondsAfterFinished: int(0),
      resources,
    }),
    bootstrap: obj({
      enabled: bool,
      existingSecret: optionalName,
      adminUrlKey: secretKey,
      ownerPasswordKey: secretKey,
      appPasswordKey: secretKey,
      // Identifiers go into the SQL through psql variables (:"x"), but they must also be roles and a
      // database name that the service URLs can name without quoting.
      database: str({ pattern: '^[a-z_][a-z0-9_]{0,62}$' }),
      ownerRole: str({ pattern: '^[a-z_][a-z0-9_]{0,62}$' }),
      appRole: str({ pattern: '^[a-z_][a-z0-9_]{0,62}$' }),
      image: obj({
        repository: str({ pattern: '^[a-z0-9]+([._/-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._/-][a-z0-9]+)*)*$' }),
        tag: str({ pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$' }),
        digest: str({ pattern: '^$|^sha256:[a-f0-9]{64}$' }),
        pullPolicy: { enum: ['Always', 'IfNotPresent', 'Never'] },
      }),
      resources,
    }),
    outboxPollMs: int(50, 60_000),
    retention: streamRetention({ outboxSentSeconds: int(0), processedEventsSeconds: int(0), pruneIntervalSeconds: int(1, 86_400), pruneBatch: int(1, 100_000) }),
    auth: signingKey,
  }),
  coordination: chartSchema('coordination chart values', {
    ...serviceProperties(4103),
    networkPolicy: networkPolicy(false),
    claimWaitMs: int(0, 30_000),
    outboxSweepMs: int(100, 600_000),
    agentTokenTtlSeconds: int(60, 86_400),
    retention: streamRetention({ jobsStreamMaxBytes: int(0) }),
    operations: obj({
      // Rendered with tpl: a URL or a template producing one.
      url: str({ pattern: '^$|^https?://.+$' }),
      timeoutMs: int(100, 60_000),
      podSelector: { ...stringMap, minProperties: 1 },
      namespaceSelector: stringMap,
    }),
    auth: signingKey,
  }),
  'agent-platform': chartSchema('agent-platform umbrella chart values (each service block is validated by its own chart schema)', {
    global,
    knowledge: { type: 'object', required: ['enabled'], properties: { enabled: bool } },
    operations: { type: 'object', required: ['enabled'], properties: { enabled: bool } },
    coordination: { type: 'object', required: ['enabled'], properties: { enabled: bool } },
    grafanaDashboard: obj({ enabled: bool, namespace: optionalName, labels: stringMap, annotations: stringMap }),
  }, false),
};

export function chartSchemas(): Record<string, string> {
  return Object.fromEntries(Object.entries(schemas).map(([chart, s]) => [chart, `${JSON.stringify(s, null, 2)}\n`]));
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const [chart, text] of Object.entries(chartSchemas())) {
    const file = path.join(ROOT, 'helm', chart, 'values.schema.json');
    const current = await readFile(file, 'utf8').catch(() => '');
    if (current === text) continue;
    if (check) {
      process.stderr.write(`${path.relative(ROOT, file)} is out of date: run npx tsx scripts/deploy/helm-schemas.ts\n`);
      stale++;
    } else {
      await writeFile(file, text);
      process.stdout.write(`wrote ${path.relative(ROOT, file)}\n`);
    }
  }
  process.exit(stale ? 1 : 0);
}
