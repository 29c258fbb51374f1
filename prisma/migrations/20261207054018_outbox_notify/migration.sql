-- Hand-written (`npm run db:migrate:create -- outbox_notify --empty`): Prisma's describer ignores
-- functions and triggers, so `db:migrate:check` stays in sync.
-- Expand-only: two functions and two triggers that only send notifications. Code from before this
-- migration never LISTENs and keeps polling; new code hears of a committed write at once.

-- The outbox relay and the team-directory publisher learn of a committed write from Postgres itself,
-- whoever wrote it (a router's domain call, a saga step, a consumer, the event store's append), so no
-- caller has to remember to poke them. NOTIFY is transactional: it is delivered when the writing
-- transaction commits and never when it rolls back, and identical notifications of one transaction are
-- folded into one. Statement-level, so a batch of rows costs one notification, not one per row. The
-- payload is empty: a listener only needs "look now"; what to publish it reads from the table as before.
-- No privilege is needed to NOTIFY or LISTEN, so operations_app's writes fire it as they are.
CREATE FUNCTION outbox_notify_written() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('outbox_written', '');
  RETURN NULL;
END
$$;

CREATE TRIGGER outbox_notify_written AFTER INSERT ON outbox
  FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify_written();

-- team_directory_mark() upserts (INSERT … ON CONFLICT DO UPDATE): a statement-level AFTER INSERT trigger
-- fires for that statement whichever way each row went.
CREATE FUNCTION team_directory_notify_written() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('team_directory_written', '');
  RETURN NULL;
END
$$;

CREATE TRIGGER team_directory_notify_written AFTER INSERT ON team_directory_changes
  FOR EACH STATEMENT EXECUTE FUNCTION team_directory_notify_written();
