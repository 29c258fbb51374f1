import { describe, expect, it } from 'vitest';
import { baseEnv } from './config.js';
import { replicasEnv, streamReplicas } from './replicas.js';

describe('stream replicas from the environment', () => {
  it('defaults to one copy of everything', () => {
    const replicas = streamReplicas(replicasEnv.parse({}));
    expect([replicas('OPERATIONS_EVENTS'), replicas('KV_jobs')]).toEqual([1, 1]);
  });

  it('takes a count for every stream and exceptions by stream name', () => {
    const replicas = streamReplicas(
      replicasEnv.parse({ NATS_STREAM_REPLICAS: '3', NATS_STREAM_REPLICAS_OVERRIDES: 'HEARTBEATS=1, KV_agent_liveness=1' }),
    );
    expect([replicas('JOBS'), replicas('HEARTBEATS'), replicas('KV_agent_liveness'), replicas('KV_jobs')]).toEqual([3, 1, 1, 3]);
  });

  it('refuses counts JetStream does not take and malformed exceptions, naming the variable', () => {
    for (const env of [
      { NATS_STREAM_REPLICAS: '0' },
      { NATS_STREAM_REPLICAS: '6' },
      { NATS_STREAM_REPLICAS: 'three' },
      { NATS_STREAM_REPLICAS_OVERRIDES: 'JOBS' },
      { NATS_STREAM_REPLICAS_OVERRIDES: 'JOBS=9' },
      { NATS_STREAM_REPLICAS_OVERRIDES: 'JOBS=1=2' },
    ]) {
      const r = replicasEnv.safeParse(env);
      expect(r.success, JSON.stringify(env)).toBe(false);
      expect(r.error?.issues[0]?.path, JSON.stringify(env)).toEqual([Object.keys(env)[0]]);
    }
  });

  it("is part of every service's base environment", () => {
    expect(Object.keys(baseEnv.shape)).toEqual(expect.arrayContaining(['NATS_STREAM_REPLICAS', 'NATS_STREAM_REPLICAS_OVERRIDES']));
  });
});
