-- The coordinator's workspace (issue 13 point 4): optimistic concurrency on tasks, snoozing,
-- and the call/text attempts a coordinator records.

-- Every change of a task row bumps its version (a trigger, so no writer can forget: the
-- workspace's actions, the task API's resolve, a booking or withdrawal cancelling the task).
-- A workspace form carries the version it was rendered with; an action on another version is refused.
ALTER TABLE coordinator_tasks
    ADD COLUMN version int NOT NULL DEFAULT 1,
    -- Hidden at the bottom of the queue until then.
    ADD COLUMN snoozed_until timestamptz;

CREATE FUNCTION coordinator_tasks_bump_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.version := OLD.version + 1;
    RETURN NEW;
END
$$;

CREATE TRIGGER coordinator_tasks_bump_version BEFORE UPDATE ON coordinator_tasks
    FOR EACH ROW EXECUTE FUNCTION coordinator_tasks_bump_version();

-- A call or text to the patient and how it went. The actor is `user:<id>` or `key:<id>`, as in staff_audit.
CREATE TABLE task_attempts (
    id               bigserial PRIMARY KEY,
    organization_id  text NOT NULL,
    task_id          bigint NOT NULL REFERENCES coordinator_tasks (id) ON DELETE CASCADE,
    plan_id          text NOT NULL,
    channel          text NOT NULL CHECK (channel IN ('call', 'text')),
    outcome          text NOT NULL CHECK (outcome IN ('reached', 'voicemail', 'no_answer', 'wrong_number', 'replied')),
    note             text,
    actor            text NOT NULL,
    at               timestamptz NOT NULL
);
CREATE INDEX task_attempts_task ON task_attempts (organization_id, task_id, at);

ALTER TABLE task_attempts ENABLE ROW LEVEL SECURITY;
ALTER TABLE task_attempts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON task_attempts USING (planrouter_tenant_visible(organization_id));
