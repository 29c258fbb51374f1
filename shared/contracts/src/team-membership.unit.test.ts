import { describe, expect, it } from 'vitest';
import { teamMembershipKey, userIdOfTeamMembershipKey } from './team-membership.js';

describe('team membership keys', () => {
  it('keeps safe ids, encodes the rest one-to-one, and decodes both', () => {
    expect(teamMembershipKey('alice_01')).toBe('alice_01');
    for (const id of ['bob@example.com', 'auth0|123', 'a.b', '=x', 'ünï']) {
      const key = teamMembershipKey(id);
      expect(key).toMatch(/^=[A-Za-z0-9_-]+$/);
      expect(userIdOfTeamMembershipKey(key)).toBe(id);
    }
    expect(userIdOfTeamMembershipKey('alice_01')).toBe('alice_01');
    expect(userIdOfTeamMembershipKey('=YWxpY2VfMDE')).toBeNull(); // "alice_01" encoded: not the canonical key
    expect(userIdOfTeamMembershipKey('a.b')).toBeNull();
  });
});
