import type { Principal } from '@platform/contracts';
import { DomainError, type Clock, type TokenIssuer } from '@platform/kit';
import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { AlreadyExists, RevisionConflict, type TypedKv } from '../store/typed-kv.js';

/**
 * Agent enrolment: an operator (a platform admin) or a service enrols an agent by name and gets a
 * one-time enrolment token; the agent trades it once for a short-lived agent token bound to its
 * name, and refreshes that token while it is valid. Agents never hold a signing key, so they can
 * never obtain a user, service or admin token. Only a hash of the enrolment token is stored.
 */
export const Enrolment = z.object({
  agentName: z.string().min(1),
  createdBy: z.object({ kind: z.string(), id: z.string() }),
  expiresAt: z.iso.datetime(),
  usedAt: z.iso.datetime().nullable(),
});
export type Enrolment = z.infer<typeof Enrolment>;

export interface EnrolmentDeps {
  enrolments: TypedKv<Enrolment>;
  issuer: TokenIssuer;
  clock: Clock;
  /** Lifetime of the agent tokens coordination issues. */
  agentTokenTtlSeconds: number;
}

const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');

export function mayEnrol(p: Principal): boolean {
  return p.kind === 'service' || (p.kind === 'user' && p.roles.includes('admin'));
}

export async function createEnrolment(deps: EnrolmentDeps, by: Principal, input: { agentName: string; ttlSeconds: number }) {
  if (!mayEnrol(by)) throw new DomainError('FORBIDDEN', 'enrolling agents needs the platform admin role or a service');
  const enrolmentToken = `enr_${randomBytes(32).toString('base64url')}`;
  const expiresAt = new Date(deps.clock().getTime() + input.ttlSeconds * 1000).toISOString();
  try {
    await deps.enrolments.create(hashOf(enrolmentToken), {
      agentName: input.agentName,
      createdBy: { kind: by.kind, id: by.id },
      expiresAt,
      usedAt: null,
    });
  } catch (err) {
    if (err instanceof AlreadyExists) throw new DomainError('CONFLICT', 'enrolment token collision; try again');
    throw err;
  }
  return { enrolmentToken, agentName: input.agentName, expiresAt };
}

async function agentToken(deps: EnrolmentDeps, agentName: string) {
  const token = await deps.issuer.sign({ kind: 'agent', id: agentName, roles: ['agent'] }, deps.agentTokenTtlSeconds);
  return { token, agentName, expiresAt: new Date(deps.clock().getTime() + deps.agentTokenTtlSeconds * 1000).toISOString() };
}

/** Trades an enrolment token for an agent token, once: a second use, an unknown or expired token are all UNAUTHORIZED. */
export async function exchangeEnrolment(deps: EnrolmentDeps, enrolmentToken: string) {
  const refused = () => new DomainError('UNAUTHORIZED', 'enrolment token is unknown, expired or already used');
  const key = hashOf(enrolmentToken);
  const found = await deps.enrolments.get(key);
  if (!found || found.record.usedAt !== null || Date.parse(found.record.expiresAt) <= deps.clock().getTime()) throw refused();
  try {
    // Compare-and-set: of two concurrent exchanges, one wins.
    await deps.enrolments.update(key, { ...found.record, usedAt: deps.clock().toISOString() }, found.revision);
  } catch (err) {
    if (err instanceof RevisionConflict) throw refused();
    throw err;
  }
  return agentToken(deps, found.record.agentName);
}

/** A fresh token for the agent that calls with a still valid one. */
export async function refreshAgentToken(deps: EnrolmentDeps, agent: Principal) {
  if (agent.kind !== 'agent' || agent.via) throw new DomainError('FORBIDDEN', 'only an agent refreshes its own token');
  return agentToken(deps, agent.id);
}
