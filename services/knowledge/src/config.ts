import { baseEnv, loadConfig } from '@platform/kit';
import { z } from 'zod';

export const knowledgeEnv = baseEnv.extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(4101),
  NEO4J_URI: z.string().regex(/^(neo4j|bolt)(\+s|\+ssc)?:\/\//, 'must be a bolt:// or neo4j:// URI'),
  NEO4J_USER: z.string().min(1),
  NEO4J_PASSWORD: z.string().min(1),
  NEO4J_DATABASE: z.string().min(1).default('neo4j'),
  OUTBOX_POLL_MS: z.coerce.number().int().positive().default(500),
});
export type KnowledgeConfig = z.infer<typeof knowledgeEnv>;

export const loadKnowledgeConfig = (env: NodeJS.ProcessEnv = process.env): KnowledgeConfig => loadConfig(knowledgeEnv, env);
