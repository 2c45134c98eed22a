-- Lifecycle events (plan.changed, appointment.changed naming a plan) that arrived
-- before their plan. They are kept here and applied by the escalation worker once
-- the plan exists, never dropped.
CREATE TABLE pending_lifecycle_events (
    id               bigserial PRIMARY KEY,
    organization_id  text NOT NULL,
    plan_id          text NOT NULL,
    event            jsonb NOT NULL,
    received_at      timestamptz NOT NULL
);
CREATE INDEX pending_lifecycle_events_plan ON pending_lifecycle_events (organization_id, plan_id);
