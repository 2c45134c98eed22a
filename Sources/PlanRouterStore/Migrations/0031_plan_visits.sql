-- Visits (issue 14): a plan the routing rules split into visits keeps its later visits here. Visit 1
-- is the plan's own case; when the appointment of visit N is completed in the PMS, visit N+1 is
-- scheduled (a 'visit_due' timer at the completed appointment's start + after_seconds) and, when
-- due, routed as a follow-up case of its own (plan id follow_up_plan_id, published as a plan.accepted
-- with `visit` through the outbox) that runs the usual classify -> offer -> ladder -> task path.
CREATE TABLE plan_visits (
    organization_id        text NOT NULL,
    plan_id                text NOT NULL,          -- the parent plan (visit 1's case)
    visit_number           int NOT NULL CHECK (visit_number >= 2),
    visit_count            int NOT NULL CHECK (visit_count >= visit_number),
    location_id            text NOT NULL,
    kind                   text NOT NULL CHECK (kind IN ('staged', 'recall')),
    after_seconds          int NOT NULL CHECK (after_seconds >= 0),
    procedures             jsonb NOT NULL,         -- the visit's procedures, as plan.accepted carries them
    follow_up_plan_id      text NOT NULL,
    -- waiting: the previous visit is not completed yet; scheduled: its timer is pending; routed: published.
    status                 text NOT NULL DEFAULT 'waiting' CHECK (status IN ('waiting', 'scheduled', 'routed')),
    previous_completed_at  timestamptz,
    due_at                 timestamptz,
    routed_at              timestamptz,
    created_at             timestamptz NOT NULL,
    PRIMARY KEY (organization_id, plan_id, visit_number),
    UNIQUE (organization_id, follow_up_plan_id),
    FOREIGN KEY (organization_id, location_id) REFERENCES locations (organization_id, id)
);

ALTER TABLE plan_visits ENABLE ROW LEVEL SECURITY;
ALTER TABLE plan_visits FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON plan_visits USING (planrouter_tenant_visible(organization_id));

-- Recall/follow-up cases re-booked: the later visits routed in the period (local dates of their
-- location) and at or before as_of, and how many of those follow-up cases were booked at or before
-- as_of (analytics_plan_facts, so a report for a past instant does not change later). By kind
-- (staged, recall), location and the follow-up case's tier.
CREATE FUNCTION analytics_follow_up_rebooking(from_date date DEFAULT NULL, to_date date DEFAULT NULL, as_of timestamptz DEFAULT now(), organization text DEFAULT NULL)
RETURNS TABLE (
    level                 text,
    organization_id       text,
    location_id           text,
    tier                  text,
    routed_visits         bigint,
    staged_visits         bigint,
    recall_visits         bigint,
    booked_visits         bigint,
    rebooked_pct          numeric(5,2)
)
LANGUAGE sql STABLE AS $$
    WITH routed AS (
        SELECT v.organization_id, v.location_id, v.kind, f.tier, f.booked_at IS NOT NULL AS booked
        FROM plan_visits v
        JOIN locations l ON l.organization_id = v.organization_id AND l.id = v.location_id
        JOIN analytics_plan_facts(as_of) f ON f.organization_id = v.organization_id AND f.plan_id = v.follow_up_plan_id
        WHERE v.routed_at <= as_of
          AND (organization IS NULL OR v.organization_id = organization)
          AND (v.routed_at AT TIME ZONE l.time_zone)::date
              BETWEEN coalesce(from_date, coalesce(to_date, (as_of AT TIME ZONE l.time_zone)::date) - 29)
                  AND coalesce(to_date, (as_of AT TIME ZONE l.time_zone)::date)
    )
    SELECT CASE GROUPING(r.organization_id, r.location_id, r.tier)
               WHEN 7 THEN 'all' WHEN 6 THEN 'tier'
               WHEN 3 THEN 'organization' WHEN 2 THEN 'organization_tier'
               WHEN 1 THEN 'location' ELSE 'location_tier'
           END,
           r.organization_id, r.location_id, r.tier,
           count(*), count(*) FILTER (WHERE r.kind = 'staged'), count(*) FILTER (WHERE r.kind = 'recall'),
           count(*) FILTER (WHERE r.booked),
           round(100.0 * count(*) FILTER (WHERE r.booked) / nullif(count(*), 0), 2)::numeric(5,2)
    FROM routed r
    GROUP BY GROUPING SETS (
        (), (r.tier), (r.organization_id), (r.organization_id, r.tier),
        (r.organization_id, r.location_id), (r.organization_id, r.location_id, r.tier))
$$;

CREATE VIEW analytics_follow_up_rebooking AS SELECT * FROM analytics_follow_up_rebooking(NULL, NULL, now());
