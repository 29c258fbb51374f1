import { parseEnvelope, type EventSubject, type TypedEnvelope } from '@platform/contracts';
import { staticTeamDirectory, systemClock, uuid, type NatsConnection } from '@platform/kit';
import type { Subscription } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '@platform/testkit';
import { startKnowledgeOutbox } from '../src/events/outbox.js';
import { createKnowledgeRouter } from '../src/router/index.js';
import { createCallerFactory } from '../src/trpc.js';
import { expectTrpcError } from './support/errors.js';
import { alice, log, startHarness, type Harness, type KnowledgeCaller } from './support/harness.js';

// Every change publishes its event through the outbox: written in the change's transaction,
// relayed to JetStream afterwards, so a crash between commit and publish loses nothing.
let h: Harness;
let api: KnowledgeCaller;
let sub: Subscription;
const received: Array<TypedEnvelope<EventSubject>> = [];

function listen(nc: NatsConnection): Subscription {
  const s = nc.subscribe('knowledge.>');
  void (async () => {
    for await (const m of s) {
      const parsed = parseEnvelope(m.json());
      if (!parsed.ok) throw new Error(`invalid event on ${m.subject}: ${parsed.reason}`);
      // Core subscribers see every publish; two relays racing on one outbox node publish twice
      // (JetStream keeps one, by Nats-Msg-Id), so the test dedupes by envelope id like a consumer.
      if (!received.some((e) => e.id === parsed.envelope.id)) received.push(parsed.envelope);
    }
  })();
  return s;
}

const about = (id: string) => received.filter((e) => JSON.stringify(e.data).includes(id));
const waitFor = (what: string, pred: () => boolean) => eventually(async () => pred(), Boolean, 15_000, what);

beforeAll(async () => {
  h = await startHarness('kb-events');
  api = h.caller();
  sub = listen(h.nc);
  await h.nc.flush();
});
afterAll(async () => {
  sub?.unsubscribe();
  await h?.cleanup();
});

describe('knowledge events', () => {
  it('publishes created, updated, superseded, archived, link created and removed, each valid for its subject', async () => {
    const a = await api.blocks.create({ type: 'Decision', sessionId: h.tag, title: 'A' });
    const b = await api.blocks.create({ type: 'Risk', sessionId: h.tag, title: 'B' });
    await api.blocks.update({ id: a.id, expectedVersion: 1, patch: { title: 'A2', confidence: 0.7 } });
    await expectTrpcError(api.blocks.update({ id: a.id, expectedVersion: 1, patch: { title: 'stale' } }), 'CONFLICT');
    await api.links.create({ sourceId: a.id, targetId: b.id, type: 'ADDRESSES' });
    await api.links.remove({ sourceId: a.id, targetId: b.id, type: 'ADDRESSES' });
    const { replacement } = await api.blocks.supersede({ id: a.id, replacement: { title: 'A3' } });
    await api.blocks.archive({ id: b.id });

    await waitFor('all block and link events', () => about(a.id).length >= 5 && about(b.id).length >= 4);
    // The relay publishes in commit-time order; calls a millisecond apart may tie, so compare as sets.
    const subjects = (id: string) =>
      about(id)
        .map((e) => e.subject)
        .sort();
    expect(subjects(a.id)).toEqual([
      'knowledge.block.created',
      'knowledge.block.superseded',
      'knowledge.block.updated',
      'knowledge.link.created',
      'knowledge.link.removed',
    ]);
    const updated = about(a.id).find((e) => e.subject === 'knowledge.block.updated')!;
    expect(updated.data).toEqual({
      blockId: a.id,
      type: 'Decision',
      version: 2,
      changed: ['confidence', 'title'],
      status: 'active',
      updatedBy: 'alice',
    });
    const superseded = about(a.id).find((e) => e.subject === 'knowledge.block.superseded')!;
    expect(superseded.data).toMatchObject({ blockId: a.id, replacedBy: replacement.id, supersededBy: 'alice' });
    expect(about(replacement.id).map((e) => e.subject)).toContain('knowledge.block.created');
    // A created event says whose the block is (optional fields: older events have none).
    expect(about(b.id).find((e) => e.subject === 'knowledge.block.created')!.data).toMatchObject({
      createdBy: 'alice',
      ownerKind: 'user',
      ownerId: 'alice',
      teamId: null,
    });
    expect(subjects(b.id)).toEqual([
      'knowledge.block.archived',
      'knowledge.block.created',
      'knowledge.link.created',
      'knowledge.link.removed',
    ]);
    // The refused (stale) update wrote no event: exactly one updated event for the block.
    expect(about(a.id).filter((e) => e.subject === 'knowledge.block.updated')).toHaveLength(1);
  });

  it('publishes one step.changed per run change, in seq order', async () => {
    const { run, root } = await api.runs.create({ name: 'ev', sessionId: h.tag });
    const { steps } = await api.runs.addSteps({
      runId: run.id,
      steps: [
        { parentId: root.id, name: 's1' },
        { parentId: root.id, name: 's2' },
      ],
    });
    await api.runs.updateStep({ stepId: steps[0]!.id, status: 'running' });
    await api.runs.moveStep({ stepId: steps[1]!.id, parentId: steps[0]!.id });
    await waitFor('5 step events', () => about(run.id).length >= 5);
    const changes = about(run.id).filter(
      (e): e is TypedEnvelope<'knowledge.run.step.changed'> => e.subject === 'knowledge.run.step.changed',
    );
    expect(changes.map((e) => [e.data.seq, e.data.change]).sort((x, y) => (x[0] as number) - (y[0] as number))).toEqual([
      [1, 'added'],
      [2, 'added'],
      [3, 'added'],
      [4, 'status'],
      [5, 'moved'],
    ]);
  });

  it('keeps an event committed with its change while no relay runs, and publishes it once a relay starts', async () => {
    // The harness relay is stopped and this router's relay is "crashed": nothing publishes the outbox.
    await h.relay.stop();
    const caller = createCallerFactory(
      createKnowledgeRouter({
        graph: h.graph,
        clock: systemClock,
        newId: uuid,
        embeddingDimensions: h.config.EMBEDDING_DIMENSIONS,
        teams: staticTeamDirectory(),
      }),
    )({ principal: alice, authError: null, log });
    const block = await caller.blocks.create({ type: 'Question', sessionId: h.tag, title: 'survives a crash' });
    const pending = await h.graph.driver.executeQuery(
      "MATCH (o:Outbox {subject: 'knowledge.block.created'}) WHERE o.envelope CONTAINS $id RETURN count(o) AS n",
      { id: block.id },
      { database: h.graph.database },
    );
    expect(pending.records[0]!.get('n')).toBe(1);

    const relay = startKnowledgeOutbox(h.graph, h.nc.jetstream(), log, 100);
    try {
      await waitFor('the stranded event', () => about(block.id).some((e) => e.subject === 'knowledge.block.created'));
    } finally {
      await relay.stop();
    }
    const left = await h.graph.driver.executeQuery(
      'MATCH (o:Outbox) WHERE o.envelope CONTAINS $id RETURN count(o) AS n',
      { id: block.id },
      { database: h.graph.database },
    );
    expect(left.records[0]!.get('n')).toBe(0);
  });
});
