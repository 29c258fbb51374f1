/**
 * NATS users and their permissions: one place that says who may publish and subscribe to what.
 * scripts/infra/nats.sh (the local server, through the CLI scripts/infra/nats-config.ts), the private
 * test server (private-nats.ts) and the NATS permission tests render their config from here;
 * deployments render theirs with `--env-refs` (passwords read from the server's environment). Run:
 *
 *   node --conditions=@platform/source --import tsx scripts/infra/nats-config.ts [--server-name N] [--listen H:P] [--http H:P] \
 *     [--password user=secret ...] [--env-refs]
 *
 * Rules (the "NATS is least privilege" section of ARCHITECTURE.md):
 * - each service publishes only its own event subjects (`<service>.>`, its stream captures them)
 *   and uses the JetStream API only on the streams, consumers and KV buckets it owns or reads;
 * - every user receives replies only on its own inbox prefix, `_INBOX_<user>` (connectNats sets it
 *   from the user name), so no one sees another user's JetStream API, KV or publish replies;
 * - `subscriber` (outside event subscribers) reads the event streams and writes nothing;
 * - `agent` publishes heartbeats and receives their acknowledgements, nothing else;
 * - `platform` is the operator's (and the tests') user with every right; no service or agent gets it.
 *
 * Subject patterns below name the JetStream API request subjects of nats-server 2.11+ as nats.js
 * 2.29 sends them: `$JS.API.STREAM.<op>.<stream>`, `$JS.API.CONSUMER.<op>.<stream>[.<consumer>[.<filter>]]`,
 * `$JS.API.CONSUMER.DURABLE.CREATE.<stream>.<durable>`, `$JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>`,
 * `$JS.API.DIRECT.GET.<stream>[.<subject>]`, acks on `$JS.ACK.<stream>.<consumer>.…`, flow control
 * replies of push consumers on `$JS.FC.<stream>.…`, KV writes on `$KV.<bucket>.<key>`.
 */

import { HEARTBEATS_STREAM } from './heartbeats.js';
import {
  COORDINATION_BUCKETS,
  DEAD_LETTER_STREAM,
  EVENT_STREAM_OWNERS,
  EVENT_STREAMS,
  FOREIGN_DURABLES,
  JOBS_DEADLETTER_STREAM,
  JOBS_STREAM,
  type ServiceName,
} from './streams.js';
import { TEAM_MEMBERSHIP_BUCKET } from './team-membership.js';

export type NatsUserName = ServiceName | 'subscriber' | 'agent' | 'platform';
export const NATS_USER_NAMES: readonly NatsUserName[] = ['platform', 'knowledge', 'operations', 'coordination', 'subscriber', 'agent'];

/** The inbox prefix a user's connections use (shared/kit connectNats derives the same from the user name). */
export const inboxPrefixOf = (user: string): string => `_INBOX_${user}`;

/** Coordination's streams and buckets besides its event stream. */
const COORDINATION_STREAMS = [HEARTBEATS_STREAM, JOBS_STREAM, JOBS_DEADLETTER_STREAM];

export interface Permissions {
  publish: { allow: string[]; deny?: string[] };
  subscribe: { allow: string[]; deny?: string[] };
}

/** Creating, reading and updating a stream's config (never deleting or purging it). */
const streamAdmin = (stream: string) => ['INFO', 'CREATE', 'UPDATE'].map((op) => `$JS.API.STREAM.${op}.${stream}`);

/**
 * Everything on a stream its owner needs: its config, any consumer on it (create, info, delete,
 * pull, ack), flow control of push consumers (KV watchers), reading and deleting single messages.
 */
function ownStream(stream: string): string[] {
  return [
    ...streamAdmin(stream),
    `$JS.API.STREAM.MSG.GET.${stream}`,
    `$JS.API.STREAM.MSG.DELETE.${stream}`,
    `$JS.API.DIRECT.GET.${stream}`,
    `$JS.API.DIRECT.GET.${stream}.>`,
    `$JS.API.CONSUMER.*.${stream}`, // CREATE (server-named ephemeral), NAMES, LIST
    `$JS.API.CONSUMER.*.${stream}.>`, // CREATE <name>[.<filter>], INFO, DELETE
    `$JS.API.CONSUMER.DURABLE.CREATE.${stream}.>`,
    `$JS.API.CONSUMER.MSG.NEXT.${stream}.>`,
    `$JS.ACK.${stream}.>`,
    `$JS.FC.${stream}.>`,
  ];
}

/** A KV bucket its owner reads and writes (its stream KV_<bucket>, keys on $KV.<bucket>.>). */
const ownBucket = (bucket: string) => [...ownStream(`KV_${bucket}`), `$KV.${bucket}.>`];

/**
 * Reading someone else's bucket: single keys (kv.get: direct get, or a message get without
 * allow_direct) and watchers (kv.watch: an ordered push consumer, created by name with the bucket's
 * filter, re-created server-named after a gap, flow-controlled). No writes, no consumer deletes.
 */
const readBucket = (bucket: string) => [
  `$JS.API.STREAM.INFO.KV_${bucket}`,
  `$JS.API.DIRECT.GET.KV_${bucket}`,
  `$JS.API.DIRECT.GET.KV_${bucket}.>`,
  `$JS.API.STREAM.MSG.GET.KV_${bucket}`,
  `$JS.API.CONSUMER.CREATE.KV_${bucket}`,
  `$JS.API.CONSUMER.CREATE.KV_${bucket}.>`,
  `$JS.API.CONSUMER.INFO.KV_${bucket}.*`,
  `$JS.FC.KV_${bucket}.>`,
];

/**
 * A durable consumer kept on another service's stream (consumeEvents): create or update it by its
 * name only, pull from it, ack its messages; the stream's config may only be read.
 */
const foreignDurable = ({ stream, durable }: { stream: string; durable: string }) => [
  `$JS.API.STREAM.INFO.${stream}`,
  `$JS.API.CONSUMER.INFO.${stream}.${durable}`,
  `$JS.API.CONSUMER.DURABLE.CREATE.${stream}.${durable}`,
  `$JS.API.CONSUMER.CREATE.${stream}.${durable}`,
  `$JS.API.CONSUMER.CREATE.${stream}.${durable}.>`,
  `$JS.API.CONSUMER.MSG.NEXT.${stream}.${durable}`,
  `$JS.ACK.${stream}.${durable}.>`,
  // Dead letters of this durable only, into the shared dead-letter stream (which consumeEvents ensures).
  `deadletter.${durable}`,
];

const eventStreamOf = (service: ServiceName) => EVENT_STREAMS[service];

/** What a service may do. */
function servicePermissions(service: ServiceName): Permissions {
  const foreign = FOREIGN_DURABLES[service];
  const publish = [
    // jetstreamManager() asks for the account info first.
    '$JS.API.INFO',
    `${service}.>`,
    ...streamAdmin(eventStreamOf(service)),
    ...foreign.flatMap(foreignDurable),
    ...(foreign.length ? streamAdmin(DEAD_LETTER_STREAM) : []),
  ];
  const subscribe = [`${inboxPrefixOf(service)}.>`];
  if (service === 'knowledge') publish.push(...readBucket(TEAM_MEMBERSHIP_BUCKET));
  if (service === 'operations') {
    publish.push(...ownBucket(TEAM_MEMBERSHIP_BUCKET));
  }
  if (service === 'coordination') {
    publish.push(
      ...ownStream('COORDINATION_EVENTS').filter((s) => !s.startsWith('$JS.API.STREAM.')),
      // Work items, dead jobs, and the core-NATS hints replicas send each other (WorkNotifier).
      'jobs.queue.>',
      'jobs.dead.>',
      '_coordination.work.>',
      ...COORDINATION_STREAMS.flatMap(ownStream),
      ...Object.values(COORDINATION_BUCKETS).flatMap(ownBucket),
      ...readBucket(TEAM_MEMBERSHIP_BUCKET),
    );
    // WorkNotifier: every replica sees each published work item and each hint (core NATS).
    subscribe.push('jobs.queue.>', '_coordination.work.>');
  }
  return { publish: { allow: [...new Set(publish)] }, subscribe: { allow: subscribe } };
}

/**
 * Outside event subscribers: core subscriptions to every event subject, and ordered (ephemeral)
 * consumers on the event streams, replies on `_INBOX_subscriber`. Nothing else is published: no
 * event, no KV, no stream admin, no acks (ordered consumers do not ack).
 *
 * Creating a consumer cannot be told apart from creating a durable by its subject (the name is in
 * the subject, `durable_name` in the body), so the subscriber may create consumers of any name on
 * the event streams — the one thing it can create, read-only views of the streams — except the
 * names of the services' own durables, which it may neither create, update nor pull from (it would
 * take their messages). It may not delete consumers (ephemeral ones expire on their own).
 */
function subscriberPermissions(): Permissions {
  const streams = Object.keys(EVENT_STREAM_OWNERS);
  const allow = [
    '$JS.API.INFO',
    '$JS.API.STREAM.NAMES', // js.subscribe finds the stream of a subject
    ...streams.flatMap((s) => [
      `$JS.API.STREAM.INFO.${s}`,
      `$JS.API.CONSUMER.CREATE.${s}`,
      `$JS.API.CONSUMER.CREATE.${s}.>`,
      `$JS.API.CONSUMER.INFO.${s}.*`,
      `$JS.API.CONSUMER.MSG.NEXT.${s}.*`,
      `$JS.FC.${s}.>`,
    ]),
  ];
  const durables = Object.values(FOREIGN_DURABLES).flat();
  const deny = durables.flatMap(({ stream, durable }) => [
    `$JS.API.CONSUMER.CREATE.${stream}.${durable}`,
    `$JS.API.CONSUMER.CREATE.${stream}.${durable}.>`,
    `$JS.API.CONSUMER.INFO.${stream}.${durable}`,
    `$JS.API.CONSUMER.MSG.NEXT.${stream}.${durable}`,
  ]);
  return {
    publish: { allow, deny },
    subscribe: { allow: [...Object.values(EVENT_STREAM_OWNERS).map((svc) => `${svc}.>`), `${inboxPrefixOf('subscriber')}.>`] },
  };
}

/**
 * Agents: their heartbeat subject (a JetStream publish; its acknowledgement comes back on the
 * agents' inbox prefix). `agents.heartbeat.*`, not the agent's own subject: that needs a NATS user
 * per agent (next step: NATS auth callout issuing each enrolled agent its own credential).
 */
const agentPermissions = (): Permissions => ({
  publish: { allow: ['agents.heartbeat.*'] },
  subscribe: { allow: [`${inboxPrefixOf('agent')}.>`] },
});

export function natsPermissions(): Record<Exclude<NatsUserName, 'platform'>, Permissions> {
  return {
    knowledge: servicePermissions('knowledge'),
    operations: servicePermissions('operations'),
    coordination: servicePermissions('coordination'),
    subscriber: subscriberPermissions(),
    agent: agentPermissions(),
  };
}

/** A password per user: literal strings, or (`envRefs`) `$<USER>_NATS_PASSWORD` read from the server's environment. */
export type NatsPasswords = Partial<Record<NatsUserName, string>>;

export const passwordEnvVar = (user: NatsUserName) => `${user.toUpperCase()}_NATS_PASSWORD`;

const q = (s: string) => JSON.stringify(s);
const list = (xs: readonly string[]) => `[${xs.map(q).join(', ')}]`;

function renderPermissions(p: Permissions, indent: string): string {
  const side = (name: string, s: { allow: string[]; deny?: string[] | undefined }) =>
    `${indent}  ${name}: { allow: ${list(s.allow)}${s.deny?.length ? `, deny: ${list(s.deny)}` : ''} }`;
  return `{\n${side('publish', p.publish)}\n${side('subscribe', p.subscribe)}\n${indent}}`;
}

/**
 * The `authorization { users: [...] }` block. Users without a password are left out (a private
 * server that has no use for some of them). With `envRefs`, every user is written with
 * `$<USER>_NATS_PASSWORD` for its password, which nats-server reads from its environment.
 */
export function renderNatsAuthorization(passwords: NatsPasswords, opts: { envRefs?: boolean } = {}): string {
  const perms = natsPermissions();
  const users: string[] = [];
  for (const user of NATS_USER_NAMES) {
    const pw = opts.envRefs ? `$${passwordEnvVar(user)}` : passwords[user] !== undefined ? q(passwords[user]) : undefined;
    if (pw === undefined) continue;
    if (user === 'platform') {
      users.push(
        `    # Operators and test tooling only; no service or agent is given this user.\n    { user: ${q(user)}, password: ${pw} }`,
      );
    } else {
      users.push(`    { user: ${q(user)}, password: ${pw},\n      permissions: ${renderPermissions(perms[user], '      ')} }`);
    }
  }
  return `authorization {\n  users: [\n${users.join('\n')}\n  ]\n}\n`;
}

/**
 * One node of a JetStream cluster: the cluster's name (the same on every node), where this node
 * listens for routes, and the route URL of every node (its own included; the server skips itself).
 * Each node needs its own `serverName` and store directory.
 */
export interface NatsClusterOptions {
  name: string;
  /** host:port for routes from the other nodes. */
  listen: string;
  /** nats-route://host:port of every node. */
  routes: string[];
}

export interface NatsConfigOptions {
  serverName?: string;
  /** host:port for clients. */
  listen?: string;
  /** host:port for monitoring. */
  http?: string;
  passwords: NatsPasswords;
  envRefs?: boolean;
  /** Makes this server a node of a JetStream cluster (needs `serverName` and `jetstream`). */
  cluster?: NatsClusterOptions;
  /**
   * JetStream in the config file rather than on the command line (-js -sd): where it stores, and
   * how often it fsyncs (`sync_interval`: `always` fsyncs before every acknowledgement, the
   * setting docs/deploy.md asks of a cluster; nats-server's default is every 2 minutes).
   */
  jetstream?: { storeDir: string; syncInterval?: string };
}

/** A whole nats-server config file (JetStream is enabled here with `jetstream`, or on the command line: -js -sd <dir>). */
export function renderNatsConfig(o: NatsConfigOptions): string {
  if (o.cluster && (!o.serverName || !o.jetstream)) throw new Error('a cluster node needs serverName and jetstream');
  return [
    '# Rendered from shared/contracts/src/nats-permissions.ts (CLI: scripts/infra/nats-config.ts); edit that file, not this one.',
    ...(o.serverName ? [`server_name: ${q(o.serverName)}`] : []),
    ...(o.listen ? [`listen: ${q(o.listen)}`] : []),
    ...(o.http ? [`# Monitoring (healthz/varz).`, `http: ${q(o.http)}`] : []),
    ...(o.jetstream
      ? [
          `jetstream {\n  store_dir: ${q(o.jetstream.storeDir)}${o.jetstream.syncInterval ? `\n  sync_interval: ${q(o.jetstream.syncInterval)}` : ''}\n}`,
        ]
      : []),
    ...(o.cluster
      ? [`cluster {\n  name: ${q(o.cluster.name)}\n  listen: ${q(o.cluster.listen)}\n  routes: ${list(o.cluster.routes)}\n}`]
      : []),
    renderNatsAuthorization(o.passwords, { envRefs: o.envRefs ?? false }),
  ].join('\n');
}
