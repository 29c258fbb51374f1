// Prisma 7 CLI configuration (used by `npm run db:generate`).
// No `datasource` on purpose: the native `prisma migrate`/`prisma db` commands need the schema-engine
// binary, which cannot be downloaded here. Migrations run through services/operations/migrate (Prisma's
// WASM schema engine) and read DATABASE_ADMIN_URL / DATABASE_URL themselves.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
});
