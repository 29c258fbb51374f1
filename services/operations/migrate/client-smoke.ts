/**
 * Smoke test of the generated client against a migrated database (run after db:generate + db:migrate):
 *   DATABASE_URL=postgresql://operations_app:operations_app_local@127.0.0.1:55432/platform npx tsx services/operations/migrate/client-smoke.ts
 * Uses the service role on purpose: it also proves the grants migration. Cleans up what it creates.
 */
import { PrismaPg } from '@prisma/adapter-pg';
import { z } from 'zod';
import { PrismaClient, TaskStatus } from '../src/generated/prisma/client.js';
import { PostgresUrl } from './env.js';

const connectionString = z
  .string({ error: () => 'set DATABASE_URL' })
  .pipe(PostgresUrl)
  .parse(process.env['DATABASE_URL']);
const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString }) });

try {
  const created = await prisma.task.create({
    data: {
      title: 'smoke: parent',
      ownerId: 'smoke-user',
      subtasks: {
        create: [
          { title: 'smoke: child 1', ownerId: 'smoke-user' },
          { title: 'smoke: child 2', ownerId: 'smoke-user', status: TaskStatus.in_progress },
        ],
      },
    },
    include: { subtasks: true },
  });
  const read = await prisma.task.findUniqueOrThrow({ where: { id: created.id }, include: { subtasks: { orderBy: { title: 'asc' } } } });
  console.log(
    JSON.stringify({
      id: read.id,
      status: read.status,
      priority: read.priority,
      subtasks: read.subtasks.map((s) => [s.title, s.status, s.parentId === read.id]),
    }),
  );
  if (read.subtasks.length !== 2) throw new Error(`expected 2 subtasks, got ${read.subtasks.length}`);
  await prisma.task.delete({ where: { id: read.id } }); // ON DELETE CASCADE removes the subtasks
  const left = await prisma.task.count({ where: { ownerId: 'smoke-user' } });
  if (left !== 0) throw new Error(`cascade delete left ${left} rows`);
  console.log('client smoke test passed');
} finally {
  await prisma.$disconnect();
}
