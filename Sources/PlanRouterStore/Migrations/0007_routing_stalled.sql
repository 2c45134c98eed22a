-- The stalled-case watchdog (escalation worker): a case accepted but without any
-- outcome (no offer, no open task) for longer than a bound gets one coordinator
-- task of kind 'routing_stalled', with the reason the watchdog could find. The
-- partial index keeps its periodic check off the rest of the plans table.
ALTER TABLE coordinator_tasks
    DROP CONSTRAINT coordinator_tasks_kind_check,
    ADD CONSTRAINT coordinator_tasks_kind_check
        CHECK (kind IN ('callback', 'no_availability', 'escalation', 'same_visit', 'routing_stalled'));
CREATE INDEX plans_waiting_for_routing ON plans (received_at) WHERE status = 'accepted';
