import type { PrincipalKind } from '@platform/contracts';

/**
 * Who may see what, as the store needs it: every read and write of a block, link or run filters by
 * this inside its Cypher, so a record the caller may not see is never returned, changed or walked
 * through. Records carry `ownerKind`, `ownerId` and optionally `teamId`; a record without owner
 * properties (written before ownership existed) is visible only when `all` is true.
 */
export interface Scope {
  /** Services and platform admins: every record. */
  all: boolean;
  /** The caller, as the owner it would be recorded as. */
  kind: PrincipalKind;
  id: string;
  /** Teams whose records the caller sees (empty for agents and for callers in no team). */
  teams: readonly string[];
}

/** Owner properties a new record is written with. */
export interface Ownership {
  ownerKind: PrincipalKind;
  ownerId: string;
  teamId: string | null;
}

/**
 * The visibility predicate for the node or relationship bound to `v`. Values are parameters
 * (see scopeParams); `v` is always one of our own variable names, never input.
 */
export const visible = (v: string): string =>
  `($scopeAll OR (${v}.ownerId = $scopeId AND ${v}.ownerKind = $scopeKind) OR ${v}.teamId IN $scopeTeams)`;

/** The parameters `visible` refers to; spread them into a statement's parameters. */
export const scopeParams = (s: Scope) => ({ scopeAll: s.all, scopeKind: s.kind, scopeId: s.id, scopeTeams: [...s.teams] });

/** The owner fields of a record as callers see them: null when it was written before ownership. */
export interface OwnerView {
  owner: { kind: PrincipalKind; id: string } | null;
  teamId: string | null;
}

export const ownerProjection = (v: string) => `ownerKind: ${v}.ownerKind, ownerId: ${v}.ownerId, teamId: ${v}.teamId`;

export function toOwnerView(raw: { ownerKind?: string | null; ownerId?: string | null; teamId?: string | null }): OwnerView {
  return {
    owner: raw.ownerKind && raw.ownerId ? { kind: raw.ownerKind as PrincipalKind, id: raw.ownerId } : null,
    teamId: raw.teamId ?? null,
  };
}
