import { AGENT_STUCK_CONSUMER } from '../../services/operations/src/domain/agent-stuck.js';
import { JOB_RESULTS_CONSUMER } from '../../services/operations/src/domain/job-results.js';
import { BUCKETS, COORDINATION_STREAM, DEADLETTER_STREAM, HEARTBEATS_STREAM, JOBS_STREAM } from '../../services/coordination/src/store/streams.js';
import { KNOWLEDGE_STREAM } from '../../services/knowledge/src/events/streams.js';
import { OPERATIONS_STREAM } from '../../services/operations/src/events/streams.js';
import { TEAM_MEMBERSHIP_BUCKET as CONTRACT_BUCKET } from '@platform/contracts';
import { DEAD_LETTER_STREAM as KIT_DEAD_LETTER, envelopeRefusal, EVENT_STREAM_OWNERS, natsInboxPrefix } from '@platform/kit';
import { describe, expect, it } from 'vitest';
import { DEAD_LETTER_STREAM, EVENT_STREAMS, FOREIGN_DURABLES, inboxPrefixOf, natsPermissions, renderNatsConfig, TEAM_MEMBERSHIP_BUCKET } from '@platform/testkit';

// The renderer names streams, buckets and durables the services define in code: if one is renamed
// there and not here, the service would be refused at start. These keep the two in step.
describe('nats-config names what the code uses', () => {
  it('event streams, their owners, the team bucket, the dead-letter stream and inbox prefixes', () => {
    expect(EVENT_STREAMS).toEqual({ [KNOWLEDGE_STREAM]: 'knowledge', [OPERATIONS_STREAM]: 'operations', [COORDINATION_STREAM]: 'coordination' });
    expect(EVENT_STREAMS).toEqual(EVENT_STREAM_OWNERS);
    expect(TEAM_MEMBERSHIP_BUCKET).toBe(CONTRACT_BUCKET);
    expect(DEAD_LETTER_STREAM).toBe(KIT_DEAD_LETTER);
    for (const u of ['knowledge', 'agent', 'subscriber']) expect(inboxPrefixOf(u)).toBe(natsInboxPrefix(u));
  });

  it("operations' durables on coordination's stream, and coordination's streams and buckets", () => {
    expect(FOREIGN_DURABLES.operations.map((d) => d.durable).sort()).toEqual([AGENT_STUCK_CONSUMER, JOB_RESULTS_CONSUMER].sort());
    const coordination = natsPermissions().coordination.publish.allow;
    for (const stream of [HEARTBEATS_STREAM, JOBS_STREAM, DEADLETTER_STREAM, COORDINATION_STREAM]) expect(coordination).toContain(`$JS.API.STREAM.CREATE.${stream}`);
    for (const bucket of Object.values(BUCKETS)) expect(coordination).toContain(`$KV.${bucket}.>`);
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
    expect(envelopeRefusal({ source: 'operations', subject: 'coordination.job.succeeded' }, from)).toBe('source "operations" does not own stream COORDINATION_EVENTS (owner coordination)');
    expect(envelopeRefusal({ source: 'coordination', subject: 'coordination.agent.stuck' }, from)).toBe('envelope subject coordination.agent.stuck was published on coordination.job.succeeded');
  });
});
