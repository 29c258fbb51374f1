import type { JetStreamClient, OutboxRelay } from '@platform/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBlock, getBlock, updateBlock } from '../src/domain/blocks.js';
import { startKnowledgeOutbox } from '../src/events/outbox.js';
import { alice, log, startHarness, type Harness } from './support/harness.js';

// The rule: an event written by a domain write reaches NATS promptly with no router (and no caller at
// all) telling the relay. writeTx rings graph.outboxWritten once a transaction that appended outbox
// nodes committed; the relay listens. Its safety-net poll is a minute here.
const SAFETY_NET_MS = 60_000;
const PROMPT_MS = 1_000;

let h: Harness;
let relay: OutboxRelay;
/**
 * Block id → when this file's relay had knowledge.block.created for it acknowledged by JetStream.
 * Counted at this relay's publish, not on a subscription: Neo4j and NATS are shared with other test
 * files whose relays poll every 200 ms and could deliver the event instead.
 */
const publishedByThisRelay = new Map<string, number>();

/** The JetStream client the relay is given, noting what it publishes. */
function watched(js: JetStreamClient): JetStreamClient {
  return new Proxy(js, {
    get(target, prop) {
      if (prop === 'publish') {
        return async (...args: Parameters<JetStreamClient['publish']>) => {
          const ack = await target.publish(...args);
          const [subject, data] = args;
          if (subject === 'knowledge.block.created' && typeof data === 'string')
            publishedByThisRelay.set((JSON.parse(data) as { data: { blockId: string } }).data.blockId, Date.now());
          return ack;
        };
      }
      const v: unknown = Reflect.get(target, prop);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

beforeAll(async () => {
  h = await startHarness('kb-signal');
  // The harness's relay polls often, which would hide a missing ring: this file's relay only polls every minute.
  await h.relay.stop();
  relay = startKnowledgeOutbox(h.graph, watched(h.nc.jetstream()), log, SAFETY_NET_MS);
});
afterAll(async () => {
  await relay?.stop();
  await h?.cleanup();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Counts the rings of the graph's signal while `fn` runs (and a moment after). */
async function ringsDuring(fn: () => Promise<unknown>): Promise<number> {
  let rings = 0;
  const unlisten = h.graph.outboxWritten.listen(() => rings++);
  try {
    await fn().catch(() => undefined);
    await sleep(20);
    return rings;
  } finally {
    unlisten();
  }
}

describe('the knowledge outbox relay hears of committed writes by itself', () => {
  it('publishes the event of a block created through the domain layer within a second, with no router call and a minute-long poll', async () => {
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      const block = await createBlock(h.deps, alice, {
        type: 'Decision',
        sessionId: h.tag,
        title: `direct ${i}`,
        content: '',
        status: 'active',
        confidence: 0.5,
      });
      // Timed from the write's return (it has committed), so a slow write on a busy machine does not count.
      const committed = Date.now();
      while (!publishedByThisRelay.has(block.id)) {
        if (Date.now() - committed > PROMPT_MS)
          throw new Error(`block ${block.id}'s created event not published by this relay ${PROMPT_MS} ms after its write returned`);
        await sleep(10);
      }
      delays.push(Math.max(0, publishedByThisRelay.get(block.id)! - committed));
    }
    console.log(`knowledge writeTx ring → JetStream ack: ${delays.join(', ')} ms (safety-net poll ${SAFETY_NET_MS} ms)`);
    expect(Math.max(...delays)).toBeLessThan(PROMPT_MS);
  });

  it('rings once per committed write that made events, and not for a refused write or a read', async () => {
    const block = await createBlock(h.deps, alice, {
      type: 'Risk',
      sessionId: h.tag,
      title: 'rings',
      content: '',
      status: 'active',
      confidence: 0.5,
    });
    expect(await ringsDuring(() => updateBlock(h.deps, alice, { id: block.id, expectedVersion: 1, patch: { title: 'rings 2' } }))).toBe(1);
    // A stale version: the transaction throws, nothing commits, nothing rings.
    expect(await ringsDuring(() => updateBlock(h.deps, alice, { id: block.id, expectedVersion: 1, patch: { title: 'stale' } }))).toBe(0);
    expect(await ringsDuring(() => getBlock(h.deps, alice, block.id))).toBe(0);
    // The relay's own write (deleting what it sent) wrote no outbox node: it does not wake itself.
    expect(await ringsDuring(() => sleep(300))).toBe(0);
  });
});
