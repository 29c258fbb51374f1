import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { baseEnv, ConfigError, loadConfig } from './config.js';

const ISSUERS = JSON.stringify([{ issuer: 'https://idp.example', jwks: 'https://idp.example/jwks.json', kinds: ['user'] }]);
const good = { PORT: '4101', AUTH_ISSUERS: ISSUERS, NATS_URL: 'nats://127.0.0.1:4222' };

describe('loadConfig', () => {
  it('parses and coerces a valid environment, applying defaults', () => {
    const cfg = loadConfig(baseEnv, good);
    expect(cfg.PORT).toBe(4101);
    expect(cfg.HOST).toBe('127.0.0.1');
    expect(cfg.AUTH_AUDIENCE).toBe('agent-platform');
    expect(cfg.AUTH_MAX_TOKEN_LIFETIME_S).toBe(3600);
    expect(cfg.AUTH_ISSUERS[0]).toMatchObject({ issuer: 'https://idp.example', kinds: ['user'], delegates: false });
  });

  it('names every missing or invalid variable in one error', () => {
    const schema = baseEnv.extend({ NEO4J_URI: z.string().startsWith('bolt://') });
    let error: unknown;
    try {
      loadConfig(schema, {
        PORT: 'eighty',
        AUTH_ISSUERS: JSON.stringify([{ issuer: 'x', jwks: 'http://evil.example/jwks', kinds: ['user'] }]),
        NEO4J_URI: 'http://x',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toMatch(/^PORT: invalid/m);
    expect(problems).toMatch(/^AUTH_ISSUERS: invalid .*0\.jwks/m);
    expect(problems).toMatch(/^NATS_URL: missing/m);
    expect(problems).toMatch(/^NEO4J_URI: invalid/m);
    expect((error as ConfigError).problems).toHaveLength(4);
  });
});
