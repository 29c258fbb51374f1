import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivateNatsCluster, type PrivateNatsCluster } from './private-nats.js';
import { ensureKvBucket, ensureStream, replicasEnv, streamReplicas } from '@platform/kit';

// The testkit's three-node JetStream cluster (loopback), and against it what a service does at start
// when NATS_STREAM_REPLICAS changes (kit ensureStream / ensureKvBucket) and what a replicated bucket
// does when its leader dies.
let cluster: PrivateNatsCluster;

beforeAll(async () => {
  cluster = await startPrivateNatsCluster({ nodes: 3, as: 'platform' });
});
afterAll(async () => {
  await cluster?.destroy();
});

describe('stream replicas on a three-node cluster', () => {
  it('creates streams and buckets with the configured copies and moves existing ones to a new count', async () => {
    const nc = await cluster.connectAs('platform');
    const jsm = await nc.jetstreamManager();
    const one = streamReplicas(replicasEnv.parse({}));
    const three = streamReplicas(replicasEnv.parse({ NATS_STREAM_REPLICAS: '3', NATS_STREAM_REPLICAS_OVERRIDES: 'KV_scratch_one=1' }));

    expect(await ensureStream(nc, { name: 'SCALED', subjects: ['scaled.>'], num_replicas: one('SCALED') })).toBe('created');
    expect(await ensureStream(nc, { name: 'SCALED', subjects: ['scaled.>'], num_replicas: three('SCALED') })).toBe('updated');
    expect((await jsm.streams.info('SCALED')).config.num_replicas).toBe(3);

    await ensureKvBucket(nc, 'scratch', { history: 1, replicas: one });
    await ensureKvBucket(nc, 'scratch', { history: 1, replicas: three });
    await ensureKvBucket(nc, 'scratch_one', { history: 1, replicas: three });
    expect((await jsm.streams.info('KV_scratch')).config.num_replicas).toBe(3);
    expect((await jsm.streams.info('KV_scratch_one')).config.num_replicas).toBe(1);
  });

  it(
    'a bucket at replicas 3 keeps every acknowledged write when its leader is SIGKILLed, and takes writes again after the election',
    { timeout: 90_000 },
    async () => {
      const nc = await cluster.connectAs('platform');
      const kv = await ensureKvBucket(nc, 'survivor', { history: 1, replicas: () => 3 });
      for (let i = 0; i < 200; i++) await kv.put(`k${i}`, String(i));
      const leader = await cluster.streamLeader('KV_survivor');
      await leader.kill('SIGKILL');
      const killed = Date.now();
      const next = await cluster.streamLeader('KV_survivor', 30_000);
      const electedMs = Date.now() - killed;
      expect(next.name).not.toBe(leader.name);
      await kv.put('after', 'yes');
      for (let i = 0; i < 200; i++) expect((await kv.get(`k${i}`))?.string()).toBe(String(i));
      await leader.start();
      await cluster.waitForReplicasCurrent('KV_survivor');
      console.log(
        `cluster: KV_survivor leader ${leader.name} SIGKILLed, ${next.name} elected ${electedMs} ms later; all 200 keys read back, write accepted`,
      );
    },
  );
});
