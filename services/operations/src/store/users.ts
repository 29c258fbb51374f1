import type { UserScope } from './scope.js';

export interface UserRow {
  id: string;
  principalId: string;
  email: string | null;
  name: string | null;
  role: 'admin' | 'member' | 'agent' | 'service';
  createdAt: Date;
  updatedAt: Date;
}

/** The acting principal's own row (provisioned by asUser with `write`). */
export function findSelf(s: UserScope): Promise<UserRow | null> {
  return s.tx.user.findUnique({ where: { principalId: s.userId } });
}

export function updateSelf(s: UserScope, data: { email?: string | undefined; name?: string | undefined }): Promise<UserRow> {
  return s.tx.user.update({
    where: { principalId: s.userId },
    data: { ...(data.email !== undefined ? { email: data.email } : {}), ...(data.name !== undefined ? { name: data.name } : {}) },
  });
}
