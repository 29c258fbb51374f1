import { DomainError, createTrpc } from '@platform/kit';

/** The service's one tRPC setup (context, error formatter and auth come from the kit). */
export const { router, publicProcedure, authedProcedure, createCallerFactory } = createTrpc();

/** Procedures only agents call: the principal's id is the agent's name. */
export const agentProcedure = authedProcedure.use(({ ctx, next }) => {
  if (ctx.principal.kind !== 'agent') throw new DomainError('FORBIDDEN', 'only agents may call this');
  return next({ ctx: { ...ctx, agent: ctx.principal.id } });
});

/** Procedures for users and services (triggering, cancelling, scheduling): agents take work, they do not make it. */
export const callerProcedure = authedProcedure.use(({ ctx, next }) => {
  if (ctx.principal.kind === 'agent') throw new DomainError('FORBIDDEN', 'agents cannot call this; use a user or service token');
  return next();
});
