import { openApiMeta } from '@platform/kit';
import { z } from 'zod';
import type { CoreDeps } from '../domain/deps.js';
import { getMe, registerUser, updateUser } from '../domain/users.js';
import type { UserRow } from '../store/users.js';
import { authedProcedure, router } from '../trpc.js';
import { iso } from './wire.js';

const meta = openApiMeta('users');

export const User = z.object({
  id: z.uuid(),
  principalId: z.string(),
  email: z.string().nullable(),
  name: z.string().nullable(),
  role: z.enum(['admin', 'member', 'agent', 'service']),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const Email = z
  .email()
  .max(320)
  .transform((e) => e.toLowerCase());
const Name = z.string().trim().min(1).max(200);

const toUser = (u: UserRow): z.infer<typeof User> => ({ ...u, createdAt: iso(u.createdAt), updatedAt: iso(u.updatedAt) });

export function usersRouter(deps: CoreDeps) {
  return router({
    create: authedProcedure
      .meta(meta('POST', '/users/create', "Register the caller's profile (email unique)"))
      .input(z.strictObject({ email: Email, name: Name }))
      .output(User)
      .mutation(async ({ ctx, input }) => toUser(await registerUser(deps, ctx.principal, input))),
    me: authedProcedure
      .meta(meta('GET', '/users/me', "The caller's profile"))
      .input(z.strictObject({}))
      .output(User)
      .query(async ({ ctx }) => toUser(await getMe(deps, ctx.principal))),
    update: authedProcedure
      .meta(meta('POST', '/users/update', "Change the caller's name or email"))
      .input(z.strictObject({ email: Email.optional(), name: Name.optional() }))
      .output(User)
      .mutation(async ({ ctx, input }) => toUser(await updateUser(deps, ctx.principal, input))),
  });
}
