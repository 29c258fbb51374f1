import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { baseEnv, ConfigError, loadConfig } from './config.js';

const good = { PORT: '4101', JWT_SECRET: 'x'.repeat(32), NATS_URL: 'nats://127.0.0.1:4222' };

describe('loadConfig', () => {
  it('parses and coerces a valid environment, applying defaults', () => {
    const cfg = loadConfig(baseEnv, good);
    expect(cfg.PORT).toBe(4101);
    expect(cfg.HOST).toBe('127.0.0.1');
    expect(cfg.JWT_ISSUER).toBe('agent-platform');
  });

  it('names every missing or invalid variable in one error', () => {
    const schema = baseEnv.extend({ NEO4J_URI: z.string().startsWith('bolt://') });
    let error: unknown;
    try {
      loadConfig(schema, { PORT: 'eighty', JWT_SECRET: 'short', NEO4J_URI: 'http://x' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toMatch(/^PORT: invalid/m);
    expect(problems).toMatch(/^JWT_SECRET: invalid .*32 characters/m);
    expect(problems).toMatch(/^NATS_URL: missing/m);
    expect(problems).toMatch(/^NEO4J_URI: invalid/m);
    expect((error as ConfigError).problems).toHaveLength(4);
  });
});
