import type { Principal } from '@platform/contracts';
import { createLogger, uuid, type Clock } from '@platform/kit';
import type { KnowledgePort } from '../../src/clients/knowledge.js';
import { SagaRegistry } from '../../src/domain/sagas/definition.js';
import { createOperationsRouter, type OperationsDeps } from '../../src/router/index.js';
import type { Db } from '../../src/store/prisma.js';
import type { SqlPool } from '../../src/store/sql.js';
import { createCallerFactory } from '../../src/trpc.js';

export const silentLog = createLogger('operations-test', 'silent');

/** Knowledge as a fake: only the given block ids exist. */
export const fakeKnowledge = (blocks: Iterable<string> = []): KnowledgePort & { blocks: Set<string> } => {
  const set = new Set(blocks);
  return { blocks: set, blockExists: async (id) => set.has(id) };
};

export function testDeps(stores: { db: Db; sql: SqlPool }, over: Partial<OperationsDeps> = {}): OperationsDeps {
  const clock: Clock = () => new Date();
  return {
    db: stores.db,
    sql: stores.sql,
    clock,
    newId: uuid,
    knowledge: fakeKnowledge(),
    registry: new SagaRegistry([]),
    pokeSagas: () => undefined,
    ...over,
  };
}

export const user = (id: string, roles: string[] = []): Principal => ({ kind: 'user', id, roles });
export const service = (id = 'coordination'): Principal => ({ kind: 'service', id, roles: ['service'] });

/** A tRPC caller acting as `principal` (the router's own validation and error mapping apply). */
export function callerFor(deps: OperationsDeps, principal: Principal | null) {
  const factory = createCallerFactory(createOperationsRouter(deps));
  return factory({ principal, authError: principal ? null : 'Missing bearer token', log: silentLog });
}

/** The tRPC error code a rejected call ended with. */
export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as { code?: string }).code ?? `not a tRPC error: ${String(err)}`;
  }
  throw new Error('expected the call to fail, it succeeded');
}
