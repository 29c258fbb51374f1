-- Hand-written: runtime privileges of the operations service role.
-- Tables stay owned by the migrating role (DATABASE_ADMIN_URL); operations_app only reads and writes rows,
-- so a compromised service cannot ALTER/DROP its tables or rewrite the migration history.

-- The role normally exists already (scripts/infra.sh, Helm) with LOGIN and a password; create a
-- NOLOGIN placeholder otherwise so the grants below never fail. Roles are cluster-wide, so scratch
-- databases used for diffs see the same role. Creating it needs CREATEROLE.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'operations_app') THEN
    CREATE ROLE operations_app NOLOGIN;
  END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO operations_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO operations_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO operations_app;

-- Prisma's migration history is none of the service's business. (The table is absent when the engine
-- replays migrations in a scratch database, hence the check.)
DO $$
BEGIN
  IF to_regclass('public._prisma_migrations') IS NOT NULL THEN
    REVOKE ALL ON TABLE public._prisma_migrations FROM operations_app;
  END IF;
END
$$;

-- Tables and sequences created later BY THE MIGRATING ROLE (default privileges are per creating role)
-- get the same grants, so later migrations need not repeat them.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO operations_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO operations_app;
