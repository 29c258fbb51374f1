import { createTrpc } from '@platform/kit';

/** The service's one tRPC setup (context, error formatter and auth come from the kit). */
export const { router, publicProcedure, authedProcedure, createCallerFactory } = createTrpc();
