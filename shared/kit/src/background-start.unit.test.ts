import { describe, expect, it } from 'vitest';
import { requireStarted, startInBackground, StartRefused } from './background-start.js';
import { DomainError } from './errors.js';
import { createLogger } from './logger.js';

const log = createLogger('test', 'silent');
const signal = () => AbortSignal.timeout(1_000);

describe('startInBackground', () => {
  it('retries a failing start until it succeeds; until then calls and /readyz are refused naming the store', async () => {
    let attempts = 0;
    const store = startInBackground({
      name: 'neo4j',
      log,
      minDelayMs: 5,
      maxDelayMs: 10,
      start: async () => {
        if (++attempts < 4) throw new Error('connect ECONNREFUSED 127.0.0.1:7791');
        return 'graph';
      },
    });
    let refusal: unknown;
    try {
      requireStarted(store)();
    } catch (err) {
      refusal = err;
    }
    expect(refusal).toBeInstanceOf(DomainError);
    expect((refusal as DomainError).code).toBe('SERVICE_UNAVAILABLE');
    expect((refusal as DomainError).message).toMatch(/^neo4j is unavailable/);
    await expect(store.readiness(async () => 'live')(signal())).rejects.toThrow(/not reached since start/);

    await expect(store.ready).resolves.toBe('graph');
    expect(attempts).toBe(4);
    expect(store.require()).toBe('graph');
    expect(store.waitingFor()).toBeNull();
    await expect(store.readiness(async (v) => `live ${v}`)(signal())).resolves.toBe('live graph');
    expect(() => requireStarted(store)()).not.toThrow();
  });

  it('does not retry a StartRefused: ready rejects with it', async () => {
    let attempts = 0;
    const store = startInBackground({
      name: 'postgres',
      log,
      minDelayMs: 5,
      start: async () => {
        attempts++;
        throw new StartRefused('role is a superuser');
      },
    });
    await expect(store.ready).rejects.toBeInstanceOf(StartRefused);
    expect(attempts).toBe(1);
    expect(() => store.require()).toThrow(/postgres is unavailable/);
  });

  it('stops retrying on stop()', async () => {
    let attempts = 0;
    const store = startInBackground({
      name: 'nats',
      log,
      minDelayMs: 20,
      maxDelayMs: 20,
      start: async () => {
        attempts++;
        throw new Error('down');
      },
    });
    await new Promise((r) => setTimeout(r, 50));
    store.stop();
    await expect(store.ready).rejects.toThrow(/abandoned/);
    const after = attempts;
    await new Promise((r) => setTimeout(r, 60));
    expect(attempts).toBe(after);
  });
});
