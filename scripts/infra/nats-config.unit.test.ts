import {
  COORDINATION_BUCKETS,
  EVENT_STREAM_OWNERS,
  EVENT_STREAMS,
  FOREIGN_DURABLES,
  HEARTBEATS_STREAM,
  JOBS_DEADLETTER_STREAM,
  JOBS_STREAM,
} from '@platform/contracts';
import { inboxPrefixOf, natsPermissions, renderNatsConfig } from '@platform/contracts/nats-permissions';
import { envelopeRefusal, natsInboxPrefix } from '@platform/kit';
import { describe, expect, it } from 'vitest';

// The names come from @platform/contracts (the services create what it names); these check that the
// permissions grant each service what it creates and reads, and nothing wider.
describe('NATS permissions', () => {
  it("event streams and their owners are one table both ways, and the inbox prefixes are the kit's", () => {
    expect(Object.fromEntries(Object.entries(EVENT_STREAM_OWNERS).map(([stream, svc]) => [svc, stream]))).toEqual(EVENT_STREAMS);
    for (const u of ['knowledge', 'agent', 'subscriber']) expect(inboxPrefixOf(u)).toBe(natsInboxPrefix(u));
  });

  it('each service may create its own event stream and its foreign durables, coordination its streams and buckets', () => {
    const perms = natsPermissions();
    for (const [svc, stream] of Object.entries(EVENT_STREAMS))
      expect(perms[svc as keyof typeof EVENT_STREAMS].publish.allow).toContain(`$JS.API.STREAM.CREATE.${stream}`);
    for (const [svc, durables] of Object.entries(FOREIGN_DURABLES)) {
      for (const { stream, durable } of durables)
        expect(perms[svc as keyof typeof EVENT_STREAMS].publish.allow).toContain(`$JS.API.CONSUMER.DURABLE.CREATE.${stream}.${durable}`);
    }
    expect(perms.knowledge.publish.allow).not.toContain(`$JS.API.STREAM.CREATE.${EVENT_STREAMS.operations}`);
    const coordination = perms.coordination.publish.allow;
    for (const stream of [HEARTBEATS_STREAM, JOBS_STREAM, JOBS_DEADLETTER_STREAM, EVENT_STREAMS.coordination])
      expect(coordination).toContain(`$JS.API.STREAM.CREATE.${stream}`);
    for (const bucket of Object.values(COORDINATION_BUCKETS)) expect(coordination).toContain(`$KV.${bucket}.>`);
  });

  it('gives no user but the operator a wildcard over the JetStream API, and agents nothing but heartbeats', () => {
    const perms = natsPermissions();
    for (const p of Object.values(perms)) {
      expect(p.publish.allow).not.toContain('$JS.API.>');
      expect(p.publish.allow).not.toContain('>');
      expect(p.subscribe.allow).not.toContain('_INBOX.>');
    }
    expect(perms.agent).toEqual({ publish: { allow: ['agents.heartbeat.*'] }, subscribe: { allow: ['_INBOX_agent.>'] } });
  });

  it('renders passwords as given, or as environment references for deployments', () => {
    expect(renderNatsConfig({ passwords: { knowledge: 'k"1' } })).toContain('{ user: "knowledge", password: "k\\"1",');
    const deploy = renderNatsConfig({ passwords: {}, envRefs: true });
    expect(deploy).toContain('{ user: "operations", password: $OPERATIONS_NATS_PASSWORD,');
    expect(deploy).toContain('{ user: "platform", password: $PLATFORM_NATS_PASSWORD }');
  });
});

describe('envelopeRefusal', () => {
  const from = { stream: 'COORDINATION_EVENTS', owner: 'coordination', subject: 'coordination.job.succeeded' };
  it('accepts the owner’s envelope on its own subject', () => {
    expect(envelopeRefusal({ source: 'coordination', subject: 'coordination.job.succeeded' }, from)).toBeNull();
  });
  it('refuses another source, and a subject other than the one it came on', () => {
    expect(envelopeRefusal({ source: 'operations', subject: 'coordination.job.succeeded' }, from)).toBe(
      'source "operations" does not own stream COORDINATION_EVENTS (owner coordination)',
    );
    expect(envelopeRefusal({ source: 'coordination', subject: 'coordination.agent.stuck' }, from)).toBe(
      'envelope subject coordination.agent.stuck was published on coordination.job.succeeded',
    );
  });
});

describe('NATS config for a cluster node', () => {
  it('writes JetStream with its fsync policy and the cluster block, before the users', () => {
    const conf = renderNatsConfig({
      passwords: { platform: 'pw' },
      serverName: 'n1',
      jetstream: { storeDir: '/data/js', syncInterval: 'always' },
      cluster: { name: 'platform', listen: '0.0.0.0:6222', routes: ['nats-route://a:6222', 'nats-route://b:6222'] },
    });
    expect(conf).toContain('jetstream {\n  store_dir: "/data/js"\n  sync_interval: "always"\n}');
    expect(conf).toContain(
      'cluster {\n  name: "platform"\n  listen: "0.0.0.0:6222"\n  routes: ["nats-route://a:6222", "nats-route://b:6222"]\n}',
    );
    expect(conf.indexOf('cluster {')).toBeLessThan(conf.indexOf('authorization {'));
  });

  it('refuses a cluster node without a server name or JetStream store (the cluster could not tell its nodes apart)', () => {
    expect(() =>
      renderNatsConfig({
        passwords: {},
        cluster: { name: 'c', listen: ':6222', routes: ['nats-route://a:6222'] },
        jetstream: { storeDir: '/d' },
      }),
    ).toThrow(/serverName/);
    expect(() =>
      renderNatsConfig({ passwords: {}, serverName: 'n1', cluster: { name: 'c', listen: ':6222', routes: ['nats-route://a:6222'] } }),
    ).toThrow(/jetstream/);
  });
});
