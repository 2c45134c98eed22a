-- Presented plans (plan.presented): the denominator of the plan acceptance rate.
-- One row per plan; a plan presented again keeps its first presentation time (the
-- rate counts a plan once) and records the latest. No patient contact is stored.
CREATE TABLE presented_plans (
    organization_id     text NOT NULL,
    plan_id             text NOT NULL,
    location_id         text NOT NULL,
    provider_id         text,
    patient_id          text,
    -- The tier the plan would be classified as if accepted (the rules in force at presentation).
    tier                text NOT NULL,
    total_fee_cents     bigint NOT NULL,
    first_presented_at  timestamptz NOT NULL,
    last_presented_at   timestamptz NOT NULL,
    PRIMARY KEY (organization_id, plan_id)
);
CREATE INDEX presented_plans_first ON presented_plans (first_presented_at);

ALTER TABLE presented_plans ENABLE ROW LEVEL SECURITY;
ALTER TABLE presented_plans FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON presented_plans USING (planrouter_tenant_visible(organization_id));

-- Plan acceptance rate: plans first presented in the period (local dates of their location)
-- and at or before as_of, and how many of those were accepted at or before as_of (the
-- first 'accepted' plan event, so a report for a past instant does not change later).
-- Acceptances of plans never presented are counted apart (accepted_unpresented): a
-- connector that does not publish plan.presented leaves the rate empty, not inflated.
CREATE FUNCTION analytics_plan_acceptance(from_date date DEFAULT NULL, to_date date DEFAULT NULL, as_of timestamptz DEFAULT now(), organization text DEFAULT NULL)
RETURNS TABLE (
    level                 text,
    organization_id       text,
    location_id           text,
    provider_id           text,
    tier                  text,
    presented_plans       bigint,
    presented_cents       bigint,
    accepted_plans        bigint,
    accepted_cents        bigint,
    acceptance_pct        numeric(5,2)
)
LANGUAGE sql STABLE AS $$
    WITH presented AS (
        SELECT p.*, EXISTS (
                   SELECT 1 FROM plan_events e
                   WHERE e.organization_id = p.organization_id AND e.plan_id = p.plan_id
                     AND e.kind = 'accepted' AND e.occurred_at <= as_of) AS accepted
        FROM presented_plans p
        JOIN locations l ON l.organization_id = p.organization_id AND l.id = p.location_id
        WHERE p.first_presented_at <= as_of
          AND (organization IS NULL OR p.organization_id = organization)
          AND (p.first_presented_at AT TIME ZONE l.time_zone)::date
              BETWEEN coalesce(from_date, coalesce(to_date, (as_of AT TIME ZONE l.time_zone)::date) - 29)
                  AND coalesce(to_date, (as_of AT TIME ZONE l.time_zone)::date)
    )
    SELECT CASE GROUPING(p.organization_id, p.location_id, p.provider_id, p.tier)
               WHEN 15 THEN 'all' WHEN 14 THEN 'tier'
               WHEN 7 THEN 'organization' WHEN 6 THEN 'organization_tier'
               WHEN 3 THEN 'location' WHEN 2 THEN 'location_tier'
               WHEN 1 THEN 'provider' ELSE 'provider_tier'
           END,
           p.organization_id, p.location_id, p.provider_id, p.tier,
           count(*), coalesce(sum(p.total_fee_cents), 0)::bigint,
           count(*) FILTER (WHERE p.accepted), coalesce(sum(p.total_fee_cents) FILTER (WHERE p.accepted), 0)::bigint,
           round(100.0 * count(*) FILTER (WHERE p.accepted) / nullif(count(*), 0), 2)::numeric(5,2)
    FROM presented p
    GROUP BY GROUPING SETS (
        (), (p.tier),
        (p.organization_id), (p.organization_id, p.tier),
        (p.organization_id, p.location_id), (p.organization_id, p.location_id, p.tier),
        (p.organization_id, p.location_id, p.provider_id), (p.organization_id, p.location_id, p.provider_id, p.tier))
$$;

CREATE VIEW analytics_plan_acceptance AS SELECT * FROM analytics_plan_acceptance(NULL, NULL, now());
