import { describe, expect, it } from 'vitest';
import { mayAssignRole, teamMay } from './access.js';

describe('team roles', () => {
  it('orders what roles allow: viewer reads, member changes, admin manages', () => {
    expect([
      teamMay.read('viewer'),
      teamMay.change('viewer'),
      teamMay.change('member'),
      teamMay.manage('member'),
      teamMay.manage('admin'),
    ]).toEqual([true, false, true, false, true]);
    expect(teamMay.read(null)).toBe(false);
  });

  it('lets owners assign anything and admins only member/viewer, never over their peers', () => {
    expect(mayAssignRole('owner', 'owner', 'viewer')).toBe(true);
    expect(mayAssignRole('admin', 'member', 'viewer')).toBe(true);
    expect(mayAssignRole('admin', null, 'member')).toBe(true);
    expect(mayAssignRole('admin', null, 'admin')).toBe(false);
    expect(mayAssignRole('admin', 'admin', 'member')).toBe(false);
    expect(mayAssignRole('admin', 'owner', 'viewer')).toBe(false);
    expect(mayAssignRole('member', null, 'viewer')).toBe(false);
  });
});
