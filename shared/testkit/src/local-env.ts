import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Principal } from '@platform/contracts';
import { devAuth } from './dev-keys.js';

// shared/testkit/src → the repository root.
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/**
 * Local development signing keys (.data/keys, made on first use): user tokens from a local identity
 * provider, service and agent tokens from the services' own keys. Never used in production.
 */
export const DEV_AUTH = devAuth(join(ROOT, '.data', 'keys'));
/** A token for `principal` signed by the issuer that vouches for its kind. */
export const devToken = (principal: Principal, ttlSeconds?: number) => DEV_AUTH.token(principal, ttlSeconds);

export const SERVICE_PORTS = { knowledge: 4101, operations: 4102, coordination: 4103 } as const;
export type ServiceName = keyof typeof SERVICE_PORTS;

/**
 * Store locations: the environment wins (CI or a developer pointing at their own servers),
 * then what `scripts/infra.sh up` wrote to .data/infra.env.
 */
export function storeEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const fromFile: Record<string, string> = {};
  try {
    for (const line of readFileSync(join(ROOT, '.data', 'infra.env'), 'utf8').split('\n')) {
      const m = /^export ([A-Z0-9_]+)=(?:'([^']*)'|"([^"]*)"|(\S*))$/.exec(line.trim());
      if (m) fromFile[m[1]!] = m[2] ?? m[3] ?? m[4] ?? '';
    }
  } catch {
    // no infra.env: everything must come from the environment
  }
  // NATS_USER/NATS_PASSWORD: the operator's user (tests and tools); each service has its own user
  // (<SERVICE>_NATS_USER, which processes.ts serviceEnv passes as its NATS_USER), agents and outside subscribers theirs.
  const nats = [
    'NATS_URL',
    'NATS_USER',
    'NATS_PASSWORD',
    ...['AGENT', 'SUBSCRIBER', 'KNOWLEDGE', 'OPERATIONS', 'COORDINATION'].flatMap((u) => [`${u}_NATS_USER`, `${u}_NATS_PASSWORD`]),
  ];
  const keys = ['DATABASE_URL', 'DATABASE_ADMIN_URL', ...nats, 'NEO4J_URI', 'NEO4J_USER', 'NEO4J_PASSWORD'];
  const out: Record<string, string> = {};
  for (const k of keys) {
    const v = env[k] ?? fromFile[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** What the example agent needs for heartbeats over NATS (the restricted agent user), when the local store env has it. */
export function agentNatsEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const stores = storeEnv(env);
  const { NATS_URL, AGENT_NATS_USER, AGENT_NATS_PASSWORD } = stores;
  return NATS_URL && AGENT_NATS_USER && AGENT_NATS_PASSWORD ? { NATS_URL, AGENT_NATS_USER, AGENT_NATS_PASSWORD } : {};
}
