-- Visits offered as a series (issue 14, `series: true` on a visit rule): such a visit is routed as soon as
-- the previous visit is booked (in the PMS or through PlanRouter), not when it is completed. Its offers start
-- no earlier than that booking's start + after_seconds (not_before). A visit leaves 'waiting' once, whichever
-- comes first (the booking, or a completion that was seen without its booking), so it is routed once.
ALTER TABLE plan_visits
    ADD COLUMN series boolean NOT NULL DEFAULT false,
    ADD COLUMN previous_booked_at timestamptz,
    ADD COLUMN not_before timestamptz;
