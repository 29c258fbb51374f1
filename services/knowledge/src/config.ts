import { baseEnv, loadConfig } from '@platform/kit';
import { z } from 'zod';

/** What every knowledge process needs to reach its graph (the service, the CLIs, the bench). */
export const graphEnv = z.object({
  NEO4J_URI: z.string().regex(/^(neo4j|bolt)(\+s|\+ssc)?:\/\//, 'must be a bolt:// or neo4j:// URI'),
  NEO4J_USER: z.string().min(1),
  NEO4J_PASSWORD: z.string().min(1),
  NEO4J_DATABASE: z.string().min(1).default('neo4j'),
  /** Length of block embeddings; the vector index is created with it (changing it needs a new index). */
  EMBEDDING_DIMENSIONS: z.coerce.number().int().min(1).max(4096).default(384),
});
export type GraphConfig = z.infer<typeof graphEnv>;

/** The CLIs also read where they were started: `npm run -w` runs them in the workspace folder. */
export const cliEnv = graphEnv.extend({
  INIT_CWD: z.string().min(1).optional(),
});
export type CliConfig = z.infer<typeof cliEnv>;

export const knowledgeEnv = baseEnv.extend({
  ...graphEnv.shape,
  PORT: z.coerce.number().int().min(0).max(65535).default(4101),
  OUTBOX_POLL_MS: z.coerce.number().int().positive().default(500),
  /**
   * Events each run-recorder consumer records at once (events naming the same top node still go
   * one after another). One graph transaction per event takes several round trips, so one at a
   * time leaves Neo4j idle between them (see the knowledge bench's recorder table).
   */
  RUN_RECORDER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(8),
  /**
   * Coordination's base URL as a browser reaches it (the console's agents and queues view calls it
   * directly; coordination's CORS_ORIGINS must list knowledge's origin). Unset: that view says so.
   */
  CONSOLE_COORDINATION_URL: z
    .url({ protocol: /^https?$/ })
    .optional()
    .or(z.literal('').transform(() => undefined)),
});
export type KnowledgeConfig = z.infer<typeof knowledgeEnv>;

export const loadKnowledgeConfig = (env: NodeJS.ProcessEnv = process.env): KnowledgeConfig => loadConfig(knowledgeEnv, env);
export const loadGraphConfig = (env: NodeJS.ProcessEnv = process.env): GraphConfig => loadConfig(graphEnv, env);
export const loadCliConfig = (env: NodeJS.ProcessEnv = process.env): CliConfig => loadConfig(cliEnv, env);

export const graphSettings = (c: GraphConfig) => ({
  uri: c.NEO4J_URI,
  user: c.NEO4J_USER,
  password: c.NEO4J_PASSWORD,
  database: c.NEO4J_DATABASE,
});
