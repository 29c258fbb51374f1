import type { Principal } from '@platform/contracts';
import {
  connectNats,
  createLogger,
  staticTeamDirectory,
  systemClock,
  uuid,
  type NatsConnection,
  type OutboxRelay,
  type TeamDirectory,
} from '@platform/kit';
import { randomBytes } from 'node:crypto';
import { storeEnv } from '@platform/testkit';
import { graphSettings, loadGraphConfig, type GraphConfig } from '../../src/config.js';
import { startKnowledgeOutbox } from '../../src/events/outbox.js';
import { ensureKnowledgeStream } from '../../src/events/streams.js';
import { createKnowledgeRouter, type KnowledgeDeps } from '../../src/router/index.js';
import { connectGraph, type Graph } from '../../src/store/neo4j.js';
import { bootstrapSchema } from '../../src/store/schema.js';
import { createCallerFactory } from '../../src/trpc.js';
import { deleteTagged } from './cleanup.js';

export { deleteTagged } from './cleanup.js';

/**
 * Real Neo4j and NATS for router tests through createCaller. Neo4j is shared with other tests, so
 * everything a test creates lives under its own `tag` (used as sessionId / run name) and is
 * removed by `cleanup`. Unreachable stores fail the test loudly (no skipping).
 */
export interface Harness {
  graph: Graph;
  config: GraphConfig;
  nc: NatsConnection;
  relay: OutboxRelay;
  deps: KnowledgeDeps;
  tag: string;
  caller(principal?: Principal): KnowledgeCaller;
  cleanup(): Promise<void>;
}

const callerFactory = (deps: KnowledgeDeps) => createCallerFactory(createKnowledgeRouter(deps));
export type KnowledgeCaller = ReturnType<ReturnType<typeof callerFactory>>;

export const log = createLogger('knowledge-test', process.env['LOG_LEVEL'] ?? 'silent');
export const alice: Principal = { kind: 'user', id: 'alice', roles: [] };

export function uniqueTag(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

export function testGraphConfig(): GraphConfig {
  const env = { ...storeEnv(), ...pick(process.env, ['EMBEDDING_DIMENSIONS', 'NEO4J_DATABASE']) };
  if (!env['NEO4J_URI']) throw new Error('NEO4J_URI not set: run `bash scripts/infra.sh up` or export the store URLs');
  return loadGraphConfig(env);
}

const pick = (env: NodeJS.ProcessEnv, keys: string[]) =>
  Object.fromEntries(keys.filter((k) => env[k] !== undefined).map((k) => [k, env[k]!]));

export async function openTestGraph(): Promise<{ graph: Graph; config: GraphConfig }> {
  const config = testGraphConfig();
  const graph = await connectGraph(graphSettings(config));
  await bootstrapSchema(graph, { embeddingDimensions: config.EMBEDDING_DIMENSIONS });
  return { graph, config };
}

/** `teams`: who is in which team for this harness (default: nobody is in any team). */
export async function startHarness(prefix: string, opts: { teams?: TeamDirectory } = {}): Promise<Harness> {
  const { graph, config } = await openTestGraph();
  const stores = storeEnv();
  if (!stores['NATS_URL']) throw new Error('NATS_URL not set: run `bash scripts/infra.sh up` or export the store URLs');
  const nc = await connectNats({
    url: stores['NATS_URL'],
    user: stores['NATS_USER'],
    password: stores['NATS_PASSWORD'],
    name: `knowledge-test-${prefix}`,
    log,
    attempts: 2,
  });
  await ensureKnowledgeStream(nc);
  const relay = startKnowledgeOutbox(graph, nc.jetstream(), log, 200);
  const deps: KnowledgeDeps = {
    graph,
    clock: systemClock,
    newId: uuid,
    embeddingDimensions: config.EMBEDDING_DIMENSIONS,
    teams: opts.teams ?? staticTeamDirectory(),
  };
  const factory = callerFactory(deps);
  const tag = uniqueTag(prefix);
  return {
    graph,
    config,
    nc,
    relay,
    deps,
    tag,
    caller: (principal = alice) => factory({ principal, authError: null, log }),
    cleanup: async () => {
      try {
        await deleteTagged(graph, tag);
      } finally {
        await relay.stop();
        await nc.drain();
        await graph.driver.close();
      }
    },
  };
}

/** A deterministic unit-length embedding pointing mostly along axis `axis` (cosine-friendly). */
export function axisEmbedding(dimensions: number, axis: number, tilt = 0): number[] {
  const v = Array.from({ length: dimensions }, (_, i) => (i === axis % dimensions ? 1 : i === (axis + 1) % dimensions ? tilt : 0));
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}
