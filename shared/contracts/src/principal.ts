import { z } from 'zod';
import { PrincipalId } from './ids.js';

export const PrincipalKind = z.enum(['user', 'service', 'agent']);
export type PrincipalKind = z.infer<typeof PrincipalKind>;

/** Who is calling: carried in the JWT (`sub`, `kind`, `roles`) and put in every tRPC context. */
export const Principal = z.object({
  kind: PrincipalKind,
  id: PrincipalId,
  roles: z.array(z.string().min(1).max(100)).max(50).default([]),
  /** The service that sent this principal's identity on its behalf (token `act` claim), when one did. */
  via: z.string().min(1).max(100).optional(),
});
export type Principal = z.infer<typeof Principal>;
