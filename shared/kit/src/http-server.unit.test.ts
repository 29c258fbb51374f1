import { describe, expect, it } from 'vitest';
import { runReadiness } from './http-server.js';

describe('runReadiness', () => {
  it('names each failing dependency, including one that hangs past the timeout', async () => {
    const result = await runReadiness(
      {
        postgres: async () => 'ok',
        neo4j: () => Promise.reject(new Error('connection refused')),
        nats: () => new Promise(() => undefined),
      },
      100,
    );
    expect(result.ready).toBe(false);
    expect(result.failing.sort()).toEqual(['nats', 'neo4j']);
    expect(result.checks['neo4j']).toEqual({ ok: false, error: 'connection refused' });
    expect(result.checks['nats']).toMatchObject({ ok: false, error: expect.stringMatching(/timed out/) });
    expect(result.checks['postgres']).toEqual({ ok: true });
  });

  it('is ready when every check passes', async () => {
    await expect(runReadiness({ a: async () => 1 }, 100)).resolves.toMatchObject({ ready: true, failing: [] });
  });
});
