import { createCoordinationRouter } from '@platform/coordination/router';
import { createKnowledgeRouter } from '@platform/knowledge/router';
import { createOperationsRouter } from '@platform/operations/router';
import type { z } from 'zod';
import type { ServiceName } from '@platform/testkit';

export interface ProcedureInfo {
  service: ServiceName;
  path: string;
  type: 'query' | 'mutation' | 'subscription';
  input: z.ZodType | undefined;
  /** Where the procedure is on the REST surface (/api), from its `.meta({ openapi })`. */
  rest: { method: 'GET' | 'POST'; path: string } | undefined;
}

interface RouterDef {
  _def: {
    procedures: Record<
      string,
      { _def: { type: ProcedureInfo['type']; inputs: z.ZodType[]; meta?: { openapi?: { method: 'GET' | 'POST'; path: string } } } }
    >;
  };
}

// Routers are built with empty dependencies only to read their definitions: building one runs no
// procedure, and the procedure list and input schemas do not depend on the dependencies.
const routers: Record<ServiceName, RouterDef> = {
  knowledge: createKnowledgeRouter({} as never) as unknown as RouterDef,
  operations: createOperationsRouter({} as never) as unknown as RouterDef,
  coordination: createCoordinationRouter({} as never, {} as never) as unknown as RouterDef,
};

/** Every procedure of every service, with its input schema: the fuzzer and the authorization matrix walk this. */
export function allProcedures(): ProcedureInfo[] {
  return (Object.entries(routers) as Array<[ServiceName, RouterDef]>).flatMap(([service, r]) =>
    Object.entries(r._def.procedures).map(([path, p]) => {
      const openapi = p._def.meta?.openapi;
      return {
        service,
        path,
        type: p._def.type,
        input: p._def.inputs[0],
        rest: openapi ? { method: openapi.method, path: openapi.path } : undefined,
      };
    }),
  );
}
