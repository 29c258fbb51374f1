import type { Principal } from '@platform/contracts';
import { conflict } from '@platform/kit';
import { asUser } from '../store/scope.js';
import { findSelf, updateSelf, type UserRow } from '../store/users.js';
import type { CoreDeps } from './deps.js';

/**
 * The caller's profile. Identity comes from the verified token; the users row is provisioned on first
 * contact, so `me` always answers (with no email until the user registers one).
 */
export function getMe(deps: CoreDeps, principal: Principal): Promise<UserRow> {
  return asUser(deps.db, principal, async (s) => (await findSelf(s))!, { write: true });
}

/** Registers the caller's profile once (email unique across users → CONFLICT when taken). */
export function registerUser(deps: CoreDeps, principal: Principal, input: { email: string; name: string }): Promise<UserRow> {
  return asUser(
    deps.db,
    principal,
    async (s) => {
      const me = (await findSelf(s))!;
      if (me.email !== null) throw conflict(`principal ${principal.id} is already registered`, { email: me.email });
      return updateSelf(s, input);
    },
    { write: true },
  );
}

export function updateUser(
  deps: CoreDeps,
  principal: Principal,
  input: { email?: string | undefined; name?: string | undefined },
): Promise<UserRow> {
  return asUser(deps.db, principal, (s) => updateSelf(s, input), { write: true });
}
