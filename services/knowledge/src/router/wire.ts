import {
  BlockId,
  BlockStatus,
  BlockType,
  Confidence,
  IsoDateTime,
  PrincipalId,
  PrincipalKind,
  RelationshipType,
  SessionId,
  Uuid,
} from '@platform/contracts';
import { z } from 'zod';

/** Output and input shapes shared by several routers. */

export const JsonObject = z.record(z.string(), z.unknown());

export const LegacyInfo = z.object({
  legacyId: z.string(),
  originalType: z.string(),
  migratedFrom: z.string().nullable(),
  importFlags: z.array(z.string()),
  propertiesRaw: z.string().nullable(),
});

/** A team of operations' (its id); records shared with it are seen by its members. */
export const TeamId = Uuid;

/** Who owns a record (null for records written before ownership: only services and admins see those). */
export const ownerFields = {
  owner: z.object({ kind: PrincipalKind, id: PrincipalId }).nullable(),
  teamId: z.string().nullable(),
};

export const Block = z.object({
  id: BlockId,
  type: BlockType,
  sessionId: z.string(),
  ideaId: z.string().nullable(),
  title: z.string(),
  content: z.string(),
  status: BlockStatus,
  confidence: z.number(),
  properties: JsonObject,
  abstractionLevel: z.string().nullable(),
  version: z.number().int(),
  createdBy: z.string().nullable(),
  ...ownerFields,
  createdAt: z.string(),
  updatedAt: z.string(),
  validFrom: z.string(),
  validTo: z.string().nullable(),
  hasEmbedding: z.boolean(),
  legacy: LegacyInfo.nullable(),
});

export const Link = z.object({
  sourceId: BlockId,
  targetId: BlockId,
  type: RelationshipType,
  confidence: z.number().nullable(),
  reason: z.string().nullable(),
  createdAt: z.string().nullable(),
  createdBy: z.string().nullable(),
  ...ownerFields,
});

/** An embedding of exactly the configured length (the vector index only accepts that dimension). */
export const embeddingSchema = (dimensions: number) =>
  z
    .array(z.number().finite())
    .length(dimensions, `embedding must have exactly ${dimensions} numbers`)
    // Cosine similarity is undefined for the zero vector; Neo4j's vector index refuses it.
    .refine((v) => {
      const norm = Math.sqrt(v.reduce((sum, x) => sum + x * x, 0));
      return norm > 1e-12 && Number.isFinite(norm);
    }, 'embedding must have a positive, finite length (not all zeros)');

export const Title = z.string().trim().min(1).max(500);
export const Content = z.string().max(100_000);
export const IdeaId = z.string().min(1).max(200);
export const AbstractionLevel = z.string().trim().min(1).max(100);

/** Fields a caller may give when creating a block (also used for a supersede's replacement). */
export const blockFields = (dimensions: number) => ({
  title: Title,
  content: Content.default(''),
  confidence: Confidence.default(0.5),
  ideaId: IdeaId.optional(),
  properties: JsonObject.optional(),
  abstractionLevel: AbstractionLevel.optional(),
  embedding: embeddingSchema(dimensions).optional(),
  teamId: TeamId.optional(),
});

export const createBlockInput = (dimensions: number) =>
  z.strictObject({
    type: BlockType,
    sessionId: SessionId,
    status: BlockStatus.exclude(['superseded', 'archived']).default('active'),
    validFrom: IsoDateTime.optional(),
    ...blockFields(dimensions),
  });
