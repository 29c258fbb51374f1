import type { Principal } from '@platform/contracts';
import { DomainError, staticTeamDirectory } from '@platform/kit';
import { describe, expect, it } from 'vitest';
import { ownershipFor, scopeOf } from './access.js';

const T1 = '11111111-1111-4111-8111-111111111111';
const T2 = '22222222-2222-4222-8222-222222222222';
const teams = staticTeamDirectory({ alice: [T1], 'agent-7': [T2] });
const user = (id: string, roles: string[] = []): Principal => ({ kind: 'user', id, roles });

describe('scopeOf', () => {
  it('gives a user their own records and their teams', async () => {
    expect(await scopeOf(teams, user('alice'))).toEqual({ all: false, kind: 'user', id: 'alice', teams: [T1] });
    expect(await scopeOf(teams, user('bob'))).toEqual({ all: false, kind: 'user', id: 'bob', teams: [] });
  });

  it('gives an agent only what it created, even if the directory names it in a team', async () => {
    expect(await scopeOf(teams, { kind: 'agent', id: 'agent-7', roles: ['agent'] })).toEqual({
      all: false,
      kind: 'agent',
      id: 'agent-7',
      teams: [],
    });
  });

  it('lets services and platform admins see everything', async () => {
    expect((await scopeOf(teams, { kind: 'service', id: 'operations', roles: ['service'] })).all).toBe(true);
    expect((await scopeOf(teams, user('root', ['admin']))).all).toBe(true);
    // the role only counts on a user: an agent calling itself admin is still an agent
    expect((await scopeOf(teams, { kind: 'agent', id: 'a', roles: ['admin'] })).all).toBe(false);
  });
});

describe('ownershipFor', () => {
  it('records the creator, and a team only when the creator is in it', async () => {
    const alice = user('alice');
    const scope = await scopeOf(teams, alice);
    expect(ownershipFor(alice, scope, undefined)).toEqual({ ownerKind: 'user', ownerId: 'alice', teamId: null });
    expect(ownershipFor(alice, scope, T1)).toEqual({ ownerKind: 'user', ownerId: 'alice', teamId: T1 });
    const refused = (() => {
      try {
        ownershipFor(alice, scope, T2);
        return null;
      } catch (e) {
        return e;
      }
    })();
    expect(refused).toBeInstanceOf(DomainError);
    expect((refused as DomainError).code).toBe('FORBIDDEN');
  });

  it('lets a service name any team (it acts for others)', async () => {
    const svc: Principal = { kind: 'service', id: 'operations', roles: ['service'] };
    expect(ownershipFor(svc, await scopeOf(teams, svc), T2)).toEqual({ ownerKind: 'service', ownerId: 'operations', teamId: T2 });
  });
});
