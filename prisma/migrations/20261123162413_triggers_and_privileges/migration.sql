-- Hand-written: invariants Prisma's schema language cannot express. Prisma's describer ignores
-- functions and triggers, so `db:migrate:check` stays in sync. (CHECK constraints would be the natural
-- tool for memories' rules, but the migration tool's describer cannot read pg_constraint.contype yet —
-- see the operations note — so they are enforced by a trigger raising the same SQLSTATE, 23514.)

-- updated_at follows every UPDATE, whoever writes it (Prisma's @updatedAt only covers the client).
CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END
$$;

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['users', 'teams', 'team_memberships', 'sessions', 'tasks', 'approval_requests',
                           'conversations', 'agents', 'memories', 'event_subscriptions', 'saga_instances']
  LOOP
    EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE ON %I FOR EACH ROW EXECUTE FUNCTION set_updated_at()', t || '_updated_at', t);
  END LOOP;
END
$$;

-- A memory belongs to exactly one of a user or an agent, and its importance is within 0..1.
CREATE FUNCTION memories_validate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF num_nonnulls(NEW.owner_user_id, NEW.agent_id) <> 1 THEN
    RAISE EXCEPTION 'a memory is owned by exactly one of a user or an agent'
      USING ERRCODE = 'check_violation', CONSTRAINT = 'memories_one_owner', TABLE = 'memories';
  END IF;
  IF NEW.importance < 0 OR NEW.importance > 1 THEN
    RAISE EXCEPTION 'memory importance % is outside 0..1', NEW.importance
      USING ERRCODE = 'check_violation', CONSTRAINT = 'memories_importance_range', TABLE = 'memories';
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER memories_validate BEFORE INSERT OR UPDATE ON memories
  FOR EACH ROW EXECUTE FUNCTION memories_validate();

-- Task trees stay trees: a task never moves under itself or one of its descendants.
-- SECURITY DEFINER so the walk up the ancestors sees every row whatever the caller's row-level
-- security allows (a cycle through a row the caller cannot see is still a cycle); it returns nothing
-- but the verdict. Moves take one transaction-scoped advisory lock, so two concurrent moves (A under
-- B, B under A) serialize and the second one sees the first (each statement of a VOLATILE function
-- takes a fresh snapshot under READ COMMITTED).
CREATE FUNCTION tasks_parent_acyclic() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF NEW.parent_id IS NULL THEN
    RETURN NEW;
  END IF;
  IF NEW.parent_id = NEW.id THEN
    RAISE EXCEPTION 'task % cannot be its own parent', NEW.id
      USING ERRCODE = 'check_violation', CONSTRAINT = 'tasks_parent_acyclic', TABLE = 'tasks';
  END IF;
  -- A new row has no descendants yet (nothing can reference an id that does not exist).
  IF TG_OP = 'INSERT' OR NEW.parent_id IS NOT DISTINCT FROM OLD.parent_id THEN
    RETURN NEW;
  END IF;
  PERFORM pg_advisory_xact_lock(72707370); -- "tasks: parent changes"
  IF EXISTS (
    WITH RECURSIVE up(id, parent_id) AS (
      SELECT t.id, t.parent_id FROM tasks t WHERE t.id = NEW.parent_id
      UNION
      SELECT t.id, t.parent_id FROM tasks t JOIN up ON t.id = up.parent_id
    )
    SELECT 1 FROM up WHERE up.id = NEW.id
  ) THEN
    RAISE EXCEPTION 'task % cannot move under its own descendant %', NEW.id, NEW.parent_id
      USING ERRCODE = 'check_violation', CONSTRAINT = 'tasks_parent_acyclic', TABLE = 'tasks';
  END IF;
  RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION tasks_parent_acyclic() FROM PUBLIC;

CREATE TRIGGER tasks_parent_acyclic BEFORE INSERT OR UPDATE OF parent_id ON tasks
  FOR EACH ROW EXECUTE FUNCTION tasks_parent_acyclic();

-- Append-only history: the service role may add and read, never rewrite or delete.
REVOKE UPDATE, DELETE, TRUNCATE ON event_store, memory_logs FROM operations_app;
