-- Hand-written: row-level security for every user-owned table.
--
-- Who is acting is a per-transaction setting applied by the repository layer
-- (services/operations/src/store/scope.ts) at the start of each interactive transaction:
--   app_act_as_user(principal, provision_as)  → app.user_id = the JWT's sub (SET LOCAL semantics)
--   app_act_as_system(actor)                  → app.system  = one named consumer, for event consumers
-- Without either, every policy below is false: a raw query sees nothing and can write nothing.
-- operations_app is not the owner of these tables and has no BYPASSRLS, so the policies apply to it;
-- the owner (platform_owner, migrations) is not subject to them (no FORCE), which is what lets the
-- SECURITY DEFINER helpers below read team memberships without recursing into their own policies.
--
-- What RLS protects against: a query that forgets its owner filter, or a repository bug — not a
-- compromised service process, which could set the variables itself (separate database roles would
-- be needed for that; see the operations note).
--
-- Not user-owned, so no RLS: event_store, event_subscriptions, outbox, processed_events (reached only
-- through system code paths and the service-only events API).

-- ---------------------------------------------------------------------------------------------------
-- Who is acting
-- ---------------------------------------------------------------------------------------------------

CREATE FUNCTION app_current_user() RETURNS text
LANGUAGE sql STABLE AS $$ SELECT nullif(current_setting('app.user_id', true), '') $$;

CREATE FUNCTION app_system_actor() RETURNS text
LANGUAGE sql STABLE AS $$ SELECT nullif(current_setting('app.system', true), '') $$;

-- Acts as a principal until the transaction ends; with `provision_as`, also creates the principal's
-- users row if it is missing (just-in-time provisioning: owner columns reference users.principal_id).
CREATE FUNCTION app_act_as_user(principal text, provision_as "UserRole") RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF principal IS NULL OR principal = '' THEN
    RAISE EXCEPTION 'app_act_as_user needs a principal id';
  END IF;
  PERFORM set_config('app.system', '', true);
  PERFORM set_config('app.user_id', principal, true);
  IF provision_as IS NOT NULL THEN
    INSERT INTO users (principal_id, role) VALUES (principal, provision_as) ON CONFLICT (principal_id) DO NOTHING;
  END IF;
END
$$;

-- Acts as one named system consumer until the transaction ends. Each actor gets only the policies
-- written for it below (least privilege per consumer), never a blanket bypass.
CREATE FUNCTION app_act_as_system(actor text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF actor IS NULL OR actor NOT IN ('job-results', 'agent-stuck', 'saga-orchestrator') THEN
    RAISE EXCEPTION 'unknown system actor %', actor;
  END IF;
  PERFORM set_config('app.user_id', '', true);
  PERFORM set_config('app.system', actor, true);
END
$$;

-- ---------------------------------------------------------------------------------------------------
-- Membership lookups (SECURITY DEFINER: they read team_memberships/users/agents as the owner, so policies
-- on those tables never recurse; each returns only facts about the acting principal)
-- ---------------------------------------------------------------------------------------------------

CREATE FUNCTION app_my_team_ids() RETURNS uuid[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT coalesce(array_agg(m.team_id), '{}') FROM team_memberships m WHERE m.user_id = app_current_user()
$$;

CREATE FUNCTION app_team_role(team uuid) RETURNS "TeamRole"
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT m.role FROM team_memberships m WHERE m.team_id = team AND m.user_id = app_current_user()
$$;

CREATE FUNCTION app_team_is_empty(team uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT NOT EXISTS (SELECT 1 FROM team_memberships m WHERE m.team_id = team)
$$;

CREATE FUNCTION app_is_admin() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT EXISTS (SELECT 1 FROM users u WHERE u.principal_id = app_current_user() AND u.role = 'admin')
$$;

CREATE FUNCTION app_my_agent_ids() RETURNS uuid[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT coalesce(array_agg(a.id), '{}') FROM agents a WHERE a.name = app_current_user()
$$;

DO $$
DECLARE f text;
BEGIN
  FOREACH f IN ARRAY ARRAY['app_my_team_ids()', 'app_team_role(uuid)', 'app_team_is_empty(uuid)', 'app_is_admin()', 'app_my_agent_ids()']
  LOOP
    EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
    EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO operations_app', f);
  END LOOP;
END
$$;

-- (SELECT f()) instead of f() in policies: evaluated once per statement as an InitPlan, not per row.

-- ---------------------------------------------------------------------------------------------------
-- Users and teams
-- ---------------------------------------------------------------------------------------------------

ALTER TABLE users ENABLE ROW LEVEL SECURITY;
CREATE POLICY users_select ON users FOR SELECT USING (
  principal_id = (SELECT app_current_user())
  OR principal_id IN (SELECT m.user_id FROM team_memberships m) -- co-members (that table's policy scopes it)
  OR (SELECT app_is_admin()));
CREATE POLICY users_insert ON users FOR INSERT WITH CHECK (principal_id = (SELECT app_current_user()));
CREATE POLICY users_update ON users FOR UPDATE
  USING (principal_id = (SELECT app_current_user()))
  WITH CHECK (principal_id = (SELECT app_current_user()));
-- The platform role comes from the verified token at provisioning; the service can never raise it.
REVOKE UPDATE, DELETE ON users FROM operations_app;
GRANT UPDATE (email, name, updated_at) ON users TO operations_app;

ALTER TABLE teams ENABLE ROW LEVEL SECURITY;
CREATE POLICY teams_select ON teams FOR SELECT USING (
  id = ANY ((SELECT app_my_team_ids())::uuid[]) OR created_by = (SELECT app_current_user()));
CREATE POLICY teams_insert ON teams FOR INSERT WITH CHECK (created_by = (SELECT app_current_user()));
CREATE POLICY teams_update ON teams FOR UPDATE
  USING (app_team_role(id) IN ('owner', 'admin'))
  WITH CHECK (app_team_role(id) IN ('owner', 'admin'));
CREATE POLICY teams_delete ON teams FOR DELETE USING (app_team_role(id) = 'owner');

ALTER TABLE team_memberships ENABLE ROW LEVEL SECURITY;
CREATE POLICY memberships_select ON team_memberships FOR SELECT USING (
  team_id = ANY ((SELECT app_my_team_ids())::uuid[]) OR user_id = (SELECT app_current_user()));
-- Owners and admins add members; the creator of a team without members adds themself as its owner.
CREATE POLICY memberships_insert ON team_memberships FOR INSERT WITH CHECK (
  app_team_role(team_id) IN ('owner', 'admin')
  OR (user_id = (SELECT app_current_user()) AND role = 'owner' AND app_team_is_empty(team_id)
      AND EXISTS (SELECT 1 FROM teams t WHERE t.id = team_id AND t.created_by = (SELECT app_current_user()))));
CREATE POLICY memberships_update ON team_memberships FOR UPDATE
  USING (app_team_role(team_id) IN ('owner', 'admin'))
  WITH CHECK (app_team_role(team_id) IN ('owner', 'admin'));
CREATE POLICY memberships_delete ON team_memberships FOR DELETE USING (
  app_team_role(team_id) IN ('owner', 'admin') OR user_id = (SELECT app_current_user()));

-- ---------------------------------------------------------------------------------------------------
-- Work
-- ---------------------------------------------------------------------------------------------------

ALTER TABLE sessions ENABLE ROW LEVEL SECURITY;
CREATE POLICY sessions_own ON sessions FOR ALL
  USING (user_id = (SELECT app_current_user()))
  WITH CHECK (user_id = (SELECT app_current_user()));

-- Tasks: the owner, and members of the task's team by role (viewer reads; member, admin and owner
-- change; admin and owner delete). The job-results consumer reads and updates any task (a job for
-- it succeeded) and nothing else.
ALTER TABLE tasks ENABLE ROW LEVEL SECURITY;
CREATE POLICY tasks_select ON tasks FOR SELECT USING (
  owner_id = (SELECT app_current_user())
  OR team_id = ANY ((SELECT app_my_team_ids())::uuid[])
  OR (SELECT app_system_actor()) = 'job-results');
CREATE POLICY tasks_insert ON tasks FOR INSERT WITH CHECK (
  owner_id = (SELECT app_current_user())
  AND (team_id IS NULL OR app_team_role(team_id) IN ('owner', 'admin', 'member')));
CREATE POLICY tasks_update ON tasks FOR UPDATE
  USING (
    owner_id = (SELECT app_current_user())
    OR app_team_role(team_id) IN ('owner', 'admin', 'member')
    OR (SELECT app_system_actor()) = 'job-results')
  WITH CHECK (
    (owner_id = (SELECT app_current_user()) AND (team_id IS NULL OR app_team_role(team_id) IN ('owner', 'admin', 'member')))
    OR app_team_role(team_id) IN ('owner', 'admin', 'member')
    OR (SELECT app_system_actor()) = 'job-results');
CREATE POLICY tasks_delete ON tasks FOR DELETE USING (
  owner_id = (SELECT app_current_user()) OR app_team_role(team_id) IN ('owner', 'admin'));

-- Approvals: the requester and the team see a request; team owners/admins (or platform admins for
-- requests without a team) decide it, only while pending, never their own. The agent-stuck consumer
-- may only open `agent_stuck` escalations.
ALTER TABLE approval_requests ENABLE ROW LEVEL SECURITY;
CREATE POLICY approvals_select ON approval_requests FOR SELECT USING (
  requested_by = (SELECT app_current_user())
  OR team_id = ANY ((SELECT app_my_team_ids())::uuid[])
  OR (SELECT app_is_admin())
  OR (SELECT app_system_actor()) = 'agent-stuck');
CREATE POLICY approvals_insert ON approval_requests FOR INSERT WITH CHECK (
  (requested_by = (SELECT app_current_user()) AND (team_id IS NULL OR app_team_role(team_id) IS NOT NULL))
  OR ((SELECT app_system_actor()) = 'agent-stuck' AND subject_kind = 'agent_stuck' AND team_id IS NULL));
CREATE POLICY approvals_decide ON approval_requests FOR UPDATE
  USING (status = 'pending' AND ((SELECT app_is_admin()) OR app_team_role(team_id) IN ('owner', 'admin')))
  WITH CHECK (
    ((SELECT app_is_admin()) OR app_team_role(team_id) IN ('owner', 'admin'))
    AND decided_by = (SELECT app_current_user())
    AND decided_by <> requested_by);

-- ---------------------------------------------------------------------------------------------------
-- Conversations
-- ---------------------------------------------------------------------------------------------------

ALTER TABLE conversations ENABLE ROW LEVEL SECURITY;
CREATE POLICY conversations_own ON conversations FOR ALL
  USING (user_id = (SELECT app_current_user()))
  WITH CHECK (user_id = (SELECT app_current_user()));

-- Messages follow their conversation (whose own policy scopes the subquery); they are never edited.
ALTER TABLE messages ENABLE ROW LEVEL SECURITY;
CREATE POLICY messages_select ON messages FOR SELECT USING (conversation_id IN (SELECT c.id FROM conversations c));
CREATE POLICY messages_insert ON messages FOR INSERT WITH CHECK (conversation_id IN (SELECT c.id FROM conversations c));

-- ---------------------------------------------------------------------------------------------------
-- Agents and memory
-- ---------------------------------------------------------------------------------------------------

-- The agent registry is readable by any principal and managed by platform admins.
ALTER TABLE agents ENABLE ROW LEVEL SECURITY;
CREATE POLICY agents_select ON agents FOR SELECT USING ((SELECT app_current_user()) IS NOT NULL);
CREATE POLICY agents_insert ON agents FOR INSERT WITH CHECK ((SELECT app_is_admin()));
CREATE POLICY agents_update ON agents FOR UPDATE USING ((SELECT app_is_admin())) WITH CHECK ((SELECT app_is_admin()));
CREATE POLICY agents_delete ON agents FOR DELETE USING ((SELECT app_is_admin()));

-- A memory belongs to its user, or to its agent (the agent's own principal); platform admins oversee
-- agent memories.
ALTER TABLE memories ENABLE ROW LEVEL SECURITY;
CREATE POLICY memories_owner ON memories FOR ALL
  USING (
    owner_user_id = (SELECT app_current_user())
    OR agent_id = ANY ((SELECT app_my_agent_ids())::uuid[])
    OR (agent_id IS NOT NULL AND (SELECT app_is_admin())))
  WITH CHECK (
    owner_user_id = (SELECT app_current_user())
    OR agent_id = ANY ((SELECT app_my_agent_ids())::uuid[])
    OR (agent_id IS NOT NULL AND (SELECT app_is_admin())));

ALTER TABLE memory_tags ENABLE ROW LEVEL SECURITY;
CREATE POLICY memory_tags_follow_memory ON memory_tags FOR ALL
  USING (memory_id IN (SELECT m.id FROM memories m))
  WITH CHECK (memory_id IN (SELECT m.id FROM memories m));

-- The audit log: written by whoever acts, read by the memory's owner (also after the memory is gone).
ALTER TABLE memory_logs ENABLE ROW LEVEL SECURITY;
CREATE POLICY memory_logs_select ON memory_logs FOR SELECT USING (
  owner_user_id = (SELECT app_current_user())
  OR agent_id = ANY ((SELECT app_my_agent_ids())::uuid[])
  OR (agent_id IS NOT NULL AND (SELECT app_is_admin()))
  OR actor = (SELECT app_current_user()));
CREATE POLICY memory_logs_insert ON memory_logs FOR INSERT WITH CHECK (actor = (SELECT app_current_user()));

-- ---------------------------------------------------------------------------------------------------
-- Sagas: started (and read) by a principal; run only by the orchestrator.
-- ---------------------------------------------------------------------------------------------------

ALTER TABLE saga_instances ENABLE ROW LEVEL SECURITY;
CREATE POLICY sagas_select ON saga_instances FOR SELECT USING (
  started_by = (SELECT app_current_user()) OR (SELECT app_system_actor()) = 'saga-orchestrator');
CREATE POLICY sagas_insert ON saga_instances FOR INSERT WITH CHECK (started_by = (SELECT app_current_user()));
CREATE POLICY sagas_run ON saga_instances FOR UPDATE
  USING ((SELECT app_system_actor()) = 'saga-orchestrator')
  WITH CHECK ((SELECT app_system_actor()) = 'saga-orchestrator');
