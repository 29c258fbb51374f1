import pg from 'pg';
import { expect } from 'vitest';
import { storeEnv } from '@platform/testkit';

/**
 * Cross-user checks that go beyond one procedure call. The per-procedure cross-user reads and writes
 * (another user's task, memory, conversation/messages, approval, session, saga) are rows of
 * authz-table.ts (the `otherUser` column); this file holds what sits underneath them: Postgres
 * row-level security on the role the service connects as.
 */
export interface CrossUserScenario {
  name: string;
  /** `secretIds`: ids of rows the matrix created as its owning user (they exist, RLS must hide them). */
  run(ctx: { ownerId: string; secretIds: { tasks: string[]; memories: string[]; conversations: string[] } }): Promise<void>;
}

const TABLES = { tasks: 'tasks', memories: 'memories', conversations: 'conversations' } as const;

export const crossUserScenarios: CrossUserScenario[] = [
  {
    name: 'Postgres RLS: operations_app without the per-transaction principal reads nothing and inserts nothing',
    async run({ ownerId, secretIds }) {
      const url = storeEnv().DATABASE_URL;
      if (!url) throw new Error('DATABASE_URL is not set (eval "$(bash scripts/infra.sh env)")');
      const db = new pg.Client({ connectionString: url });
      await db.connect();
      try {
        const role = (
          await db.query<{ u: string; bypass: boolean; owner: boolean }>(
            `SELECT current_user AS u, rolbypassrls AS bypass, rolsuper AS owner FROM pg_roles WHERE rolname = current_user`,
          )
        ).rows[0];
        expect(role).toEqual({ u: 'operations_app', bypass: false, owner: false });
        // No setting at all: app.user_id is unset on this fresh connection.
        expect((await db.query(`SELECT current_setting('app.user_id', true) AS v`)).rows[0].v ?? '').toBe('');
        for (const [key, table] of Object.entries(TABLES) as Array<[keyof typeof TABLES, string]>) {
          const ids = secretIds[key];
          expect(ids.length, `${table}: the matrix made rows to look for`).toBeGreaterThan(0);
          expect((await db.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n, `${table}: all rows`).toBe(0);
          expect(
            (await db.query(`SELECT count(*)::int AS n FROM ${table} WHERE id = ANY($1::uuid[])`, [ids])).rows[0].n,
            `${table}: the owner's rows`,
          ).toBe(0);
        }
        await expect(db.query(`INSERT INTO tasks (title, owner_id) VALUES ('forged by authz', $1)`, [ownerId])).rejects.toThrow(
          /row-level security/,
        );
        await expect(
          db.query(`INSERT INTO memories (owner_user_id, type, source, content) VALUES ($1, 'semantic', 'user', 'forged by authz')`, [
            ownerId,
          ]),
        ).rejects.toThrow(/row-level security/);
        await expect(db.query(`INSERT INTO conversations (user_id, status) VALUES ($1, 'active')`, [ownerId])).rejects.toThrow(
          /row-level security/,
        );
        expect((await db.query(`UPDATE tasks SET title = 'defaced' WHERE id = ANY($1::uuid[])`, [secretIds.tasks])).rowCount).toBe(0);

        // With the setting, in a transaction: the owner sees the rows; the setting ends with the transaction.
        await db.query('BEGIN');
        await db.query(`SELECT app_act_as_user($1, NULL)`, [ownerId]);
        const ownerSees = (await db.query(`SELECT count(*)::int AS n FROM tasks WHERE id = ANY($1::uuid[])`, [secretIds.tasks])).rows[0].n;
        await db.query('COMMIT');
        expect(ownerSees).toBe(secretIds.tasks.length);
        expect((await db.query(`SELECT count(*)::int AS n FROM tasks WHERE id = ANY($1::uuid[])`, [secretIds.tasks])).rows[0].n).toBe(0);
      } finally {
        await db.end();
      }
    },
  },
];
