-- Analytics: stable, documented views and functions for SQL analysts (docs/analytics.md).
--
-- Every object is prefixed analytics_. Whatever depends on "now" is a function
-- taking `as_of timestamptz`, so code (the report, the simulator, tests) can pass
-- its own clock; a view of the same name calls it with now() for ad-hoc use.
-- (Functions and views live in different namespaces: `analytics_x` is the view,
-- `analytics_x(...)` the function.) Day boundaries are those of each location's
-- time zone; money comes in cents (bigint) and dollars (numeric(14,2)).
-- Changing a column here means a new migration that replaces the object: analysts'
-- saved queries rely on these names.

-- One row per plan accepted at or before as_of: the facts every metric is built from.
CREATE FUNCTION analytics_plan_facts(as_of timestamptz)
RETURNS TABLE (
    organization_id          text,
    location_id              text,
    time_zone                text,
    plan_id                  text,
    patient_id               text,
    provider_id              text,
    coordinator_id           text,
    tier                     text,
    path                     text,
    status                   text,
    accepted_at              timestamptz,
    accepted_local_date      date,
    value_cents              bigint,
    value_dollars            numeric(14,2),
    patient_portion_cents    bigint,
    first_offer_sla_seconds  int,
    first_offer_at           timestamptz,
    seconds_to_first_offer   double precision,
    offers_sent              bigint,
    initial_offers           bigint,
    initial_offers_sla_met   bigint,
    booked_at                timestamptz,
    booked_via               text,
    booked_local_date        date,
    seconds_to_booking       double precision,
    booked_same_day          boolean,
    outcome                  text,
    age_days                 int
)
LANGUAGE sql STABLE AS $$
    SELECT p.organization_id, p.location_id, l.time_zone, p.plan_id, p.patient_id, p.provider_id, p.coordinator_id,
           coalesce(c.tier, 'unclassified'), c.path, p.status,
           p.accepted_at, (p.accepted_at AT TIME ZONE l.time_zone)::date,
           p.total_fee_cents, (p.total_fee_cents / 100.0)::numeric(14,2), p.patient_portion_cents,
           c.first_offer_sla_seconds,
           o.first_offer_at,
           -- greatest() skips NULLs, so only for cases that have the time at all.
           CASE WHEN o.first_offer_at IS NOT NULL THEN greatest(extract(epoch FROM o.first_offer_at - p.accepted_at), 0)::double precision END,
           coalesce(o.offers_sent, 0), coalesce(o.initial_offers, 0), coalesce(o.initial_offers_sla_met, 0),
           b.booked_at, b.via, (b.booked_at AT TIME ZONE l.time_zone)::date,
           CASE WHEN b.booked_at IS NOT NULL THEN greatest(extract(epoch FROM b.booked_at - p.accepted_at), 0)::double precision END,
           b.booked_at IS NOT NULL AND (b.booked_at AT TIME ZONE l.time_zone)::date = (p.accepted_at AT TIME ZONE l.time_zone)::date,
           CASE
               WHEN p.status IN ('declined', 'cancelled', 'revoked') THEN 'closed'
               WHEN b.booked_at IS NOT NULL THEN 'scheduled'
               -- Booked with no 'booked' event (before those were recorded): scheduled, time unknown.
               WHEN p.status = 'booked' AND NOT EXISTS (
                   SELECT 1 FROM plan_events e
                   WHERE e.organization_id = p.organization_id AND e.plan_id = p.plan_id AND e.kind = 'booked') THEN 'scheduled'
               ELSE 'unscheduled'
           END,
           (as_of AT TIME ZONE l.time_zone)::date - (p.accepted_at AT TIME ZONE l.time_zone)::date
    FROM plans p
    JOIN locations l ON l.id = p.location_id
    LEFT JOIN LATERAL (
        SELECT c.tier, c.path, c.first_offer_sla_seconds
        FROM classifications c
        WHERE c.organization_id = p.organization_id AND c.plan_id = p.plan_id
        ORDER BY c.id DESC LIMIT 1
    ) c ON true
    LEFT JOIN LATERAL (
        SELECT min(o.sent_at) AS first_offer_at, count(*) AS offers_sent,
               count(*) FILTER (WHERE o.kind = 'initial') AS initial_offers,
               count(*) FILTER (WHERE o.kind = 'initial' AND o.sla_met) AS initial_offers_sla_met
        FROM offers o
        WHERE o.organization_id = p.organization_id AND o.plan_id = p.plan_id
          AND o.plan_accepted_at = p.accepted_at AND o.sent_at <= as_of
    ) o ON true
    LEFT JOIN LATERAL (
        SELECT e.occurred_at AS booked_at, e.detail ->> 'via' AS via
        FROM plan_events e
        WHERE e.organization_id = p.organization_id AND e.plan_id = p.plan_id
          AND e.kind = 'booked' AND e.occurred_at <= as_of
        ORDER BY e.occurred_at, e.id LIMIT 1
    ) b ON true
    WHERE p.accepted_at <= as_of
$$;

CREATE VIEW analytics_plan_facts AS SELECT * FROM analytics_plan_facts(now());

-- The aging bucket of a number of location-local days.
CREATE FUNCTION analytics_age_bucket(days int) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN days <= 2 THEN '0-2 days'
        WHEN days <= 7 THEN '3-7 days'
        WHEN days <= 14 THEN '8-14 days'
        WHEN days <= 30 THEN '15-30 days'
        ELSE 'over 30 days'
    END
$$;

CREATE FUNCTION analytics_age_bucket_order(days int) RETURNS int
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN days <= 2 THEN 1 WHEN days <= 7 THEN 2 WHEN days <= 14 THEN 3 WHEN days <= 30 THEN 4 ELSE 5 END
$$;

-- Accepted cases not (yet) scheduled as of as_of: status is not booked, declined,
-- cancelled or revoked and no booking was recorded by then.
CREATE FUNCTION analytics_unscheduled_cases(as_of timestamptz)
RETURNS TABLE (
    organization_id        text,
    location_id            text,
    time_zone              text,
    plan_id                text,
    patient_id             text,
    provider_id            text,
    coordinator_id         text,
    tier                   text,
    path                   text,
    status                 text,
    accepted_at            timestamptz,
    accepted_local_date    date,
    value_cents            bigint,
    value_dollars          numeric(14,2),
    patient_portion_cents  bigint,
    age_days               int,
    age_hours              numeric(12,2),
    age_bucket             text,
    age_bucket_order       int,
    first_offer_at         timestamptz,
    offers_sent            bigint,
    open_tasks             bigint
)
LANGUAGE sql STABLE AS $$
    SELECT f.organization_id, f.location_id, f.time_zone, f.plan_id, f.patient_id, f.provider_id, f.coordinator_id,
           f.tier, f.path, f.status, f.accepted_at, f.accepted_local_date, f.value_cents, f.value_dollars,
           f.patient_portion_cents, f.age_days,
           round((extract(epoch FROM as_of - f.accepted_at) / 3600)::numeric, 2)::numeric(12,2),
           analytics_age_bucket(f.age_days), analytics_age_bucket_order(f.age_days),
           f.first_offer_at, f.offers_sent,
           (SELECT count(*) FROM coordinator_tasks t
            WHERE t.organization_id = f.organization_id AND t.plan_id = f.plan_id AND t.created_at <= as_of
              AND (t.status = 'open' OR t.resolved_at > as_of))
    FROM analytics_plan_facts(as_of) f
    WHERE f.outcome = 'unscheduled'
$$;

CREATE VIEW analytics_unscheduled_cases AS SELECT * FROM analytics_unscheduled_cases(now());

-- Unscheduled cases per aging bucket.
CREATE FUNCTION analytics_unscheduled_aging(as_of timestamptz)
RETURNS TABLE (
    organization_id   text,
    location_id       text,
    age_bucket        text,
    age_bucket_order  int,
    cases             bigint,
    value_cents       bigint,
    value_dollars     numeric(14,2),
    oldest_age_days   int
)
LANGUAGE sql STABLE AS $$
    SELECT u.organization_id, u.location_id, u.age_bucket, u.age_bucket_order, count(*),
           sum(u.value_cents)::bigint, (sum(u.value_cents) / 100.0)::numeric(14,2), max(u.age_days)
    FROM analytics_unscheduled_cases(as_of) u
    GROUP BY u.organization_id, u.location_id, u.age_bucket, u.age_bucket_order
$$;

CREATE VIEW analytics_unscheduled_aging AS SELECT * FROM analytics_unscheduled_aging(now());

-- Every benchmark for the cases accepted on location-local days from_date..to_date
-- (inclusive; to_date NULL = as_of's local day, per location; from_date NULL =
-- 29 days before to_date: the last 30 days), as of as_of, at eight grouping levels:
--   all, tier, organization, organization_tier, location, location_tier, provider, provider_tier.
-- A NULL organization_id/location_id/provider_id/tier means "all" at that level
-- (a case without classification has tier 'unclassified', never NULL).
CREATE FUNCTION analytics_benchmarks(from_date date DEFAULT NULL, to_date date DEFAULT NULL, as_of timestamptz DEFAULT now(), organization text DEFAULT NULL)
RETURNS TABLE (
    level                         text,
    organization_id               text,
    location_id                   text,
    provider_id                   text,
    tier                          text,
    accepted_cases                bigint,
    accepted_cents                bigint,
    accepted_dollars              numeric(14,2),
    scheduled_cases               bigint,
    scheduled_cents               bigint,
    scheduled_dollars             numeric(14,2),
    unscheduled_cases             bigint,
    unscheduled_cents             bigint,
    unscheduled_dollars           numeric(14,2),
    unscheduled_pct               numeric(5,2),
    closed_cases                  bigint,
    closed_cents                  bigint,
    closed_dollars                numeric(14,2),
    same_day_cases                bigint,
    same_day_pct                  numeric(5,2),
    offered_cases                 bigint,
    first_offer_p50_seconds       double precision,
    first_offer_p90_seconds       double precision,
    booked_cases                  bigint,
    booking_p50_seconds           double precision,
    booking_p90_seconds           double precision,
    initial_offers                bigint,
    initial_offers_sla_met        bigint,
    first_offer_sla_pct           numeric(5,2)
)
LANGUAGE sql STABLE AS $$
    SELECT CASE GROUPING(f.organization_id, f.location_id, f.provider_id, f.tier)
               WHEN 15 THEN 'all' WHEN 14 THEN 'tier'
               WHEN 7 THEN 'organization' WHEN 6 THEN 'organization_tier'
               WHEN 3 THEN 'location' WHEN 2 THEN 'location_tier'
               WHEN 1 THEN 'provider' ELSE 'provider_tier'
           END,
           f.organization_id, f.location_id, f.provider_id, f.tier,
           count(*), coalesce(sum(f.value_cents), 0)::bigint, (coalesce(sum(f.value_cents), 0) / 100.0)::numeric(14,2),
           count(*) FILTER (WHERE f.outcome = 'scheduled'),
           coalesce(sum(f.value_cents) FILTER (WHERE f.outcome = 'scheduled'), 0)::bigint,
           (coalesce(sum(f.value_cents) FILTER (WHERE f.outcome = 'scheduled'), 0) / 100.0)::numeric(14,2),
           count(*) FILTER (WHERE f.outcome = 'unscheduled'),
           coalesce(sum(f.value_cents) FILTER (WHERE f.outcome = 'unscheduled'), 0)::bigint,
           (coalesce(sum(f.value_cents) FILTER (WHERE f.outcome = 'unscheduled'), 0) / 100.0)::numeric(14,2),
           round(100.0 * coalesce(sum(f.value_cents) FILTER (WHERE f.outcome = 'unscheduled'), 0) / nullif(sum(f.value_cents), 0), 2)::numeric(5,2),
           count(*) FILTER (WHERE f.outcome = 'closed'),
           coalesce(sum(f.value_cents) FILTER (WHERE f.outcome = 'closed'), 0)::bigint,
           (coalesce(sum(f.value_cents) FILTER (WHERE f.outcome = 'closed'), 0) / 100.0)::numeric(14,2),
           count(*) FILTER (WHERE f.booked_same_day),
           round(100.0 * count(*) FILTER (WHERE f.booked_same_day) / nullif(count(*), 0), 2)::numeric(5,2),
           count(f.first_offer_at),
           round(percentile_cont(0.5) WITHIN GROUP (ORDER BY f.seconds_to_first_offer)::numeric, 3)::double precision,
           round(percentile_cont(0.9) WITHIN GROUP (ORDER BY f.seconds_to_first_offer)::numeric, 3)::double precision,
           count(f.booked_at),
           round(percentile_cont(0.5) WITHIN GROUP (ORDER BY f.seconds_to_booking)::numeric, 3)::double precision,
           round(percentile_cont(0.9) WITHIN GROUP (ORDER BY f.seconds_to_booking)::numeric, 3)::double precision,
           coalesce(sum(f.initial_offers), 0)::bigint, coalesce(sum(f.initial_offers_sla_met), 0)::bigint,
           round(100.0 * sum(f.initial_offers_sla_met) / nullif(sum(f.initial_offers), 0), 2)::numeric(5,2)
    FROM analytics_plan_facts(as_of) f
    WHERE f.accepted_local_date BETWEEN coalesce(from_date, coalesce(to_date, (as_of AT TIME ZONE f.time_zone)::date) - 29)
                                    AND coalesce(to_date, (as_of AT TIME ZONE f.time_zone)::date)
      -- The same period as instants, a little wider (UTC offsets are -12 h to +14 h), so an
      -- index on plans.accepted_at can narrow the scan before the per-location dates are computed.
      AND f.accepted_at >= (coalesce(from_date - 1, coalesce(to_date, (as_of AT TIME ZONE 'UTC')::date) - 31)::timestamp AT TIME ZONE 'UTC')
      AND (to_date IS NULL OR f.accepted_at < ((to_date + 2)::timestamp AT TIME ZONE 'UTC'))
      AND (organization IS NULL OR f.organization_id = organization)
    GROUP BY GROUPING SETS (
        (), (f.tier),
        (f.organization_id), (f.organization_id, f.tier),
        (f.organization_id, f.location_id), (f.organization_id, f.location_id, f.tier),
        (f.organization_id, f.location_id, f.provider_id), (f.organization_id, f.location_id, f.provider_id, f.tier))
$$;

CREATE VIEW analytics_benchmarks AS SELECT * FROM analytics_benchmarks(NULL, NULL, now());

-- Unscheduled accepted production by organization, location, provider and tier.
CREATE FUNCTION analytics_unscheduled_production(from_date date DEFAULT NULL, to_date date DEFAULT NULL, as_of timestamptz DEFAULT now(), organization text DEFAULT NULL)
RETURNS TABLE (
    level                text,
    organization_id      text,
    location_id          text,
    provider_id          text,
    tier                 text,
    accepted_cases       bigint,
    accepted_cents       bigint,
    accepted_dollars     numeric(14,2),
    unscheduled_cases    bigint,
    unscheduled_cents    bigint,
    unscheduled_dollars  numeric(14,2),
    unscheduled_pct      numeric(5,2),
    scheduled_cents      bigint,
    closed_cents         bigint
)
LANGUAGE sql STABLE AS $$
    SELECT b.level, b.organization_id, b.location_id, b.provider_id, b.tier, b.accepted_cases, b.accepted_cents, b.accepted_dollars,
           b.unscheduled_cases, b.unscheduled_cents, b.unscheduled_dollars, b.unscheduled_pct, b.scheduled_cents, b.closed_cents
    FROM analytics_benchmarks(from_date, to_date, as_of, organization) b
$$;

CREATE VIEW analytics_unscheduled_production AS SELECT * FROM analytics_unscheduled_production(NULL, NULL, now());

-- Same-day scheduling: cases booked on the location-local day they were accepted.
CREATE FUNCTION analytics_same_day_scheduling(from_date date DEFAULT NULL, to_date date DEFAULT NULL, as_of timestamptz DEFAULT now(), organization text DEFAULT NULL)
RETURNS TABLE (
    level            text,
    organization_id  text,
    location_id      text,
    tier             text,
    accepted_cases   bigint,
    same_day_cases   bigint,
    same_day_pct     numeric(5,2),
    booked_cases     bigint
)
LANGUAGE sql STABLE AS $$
    SELECT b.level, b.organization_id, b.location_id, b.tier, b.accepted_cases, b.same_day_cases, b.same_day_pct, b.booked_cases
    FROM analytics_benchmarks(from_date, to_date, as_of, organization) b
    WHERE b.level NOT IN ('provider', 'provider_tier')
$$;

CREATE VIEW analytics_same_day_scheduling AS SELECT * FROM analytics_same_day_scheduling(NULL, NULL, now());

-- Acceptance-to-first-offer and acceptance-to-booking times (continuous percentiles).
CREATE FUNCTION analytics_response_times(from_date date DEFAULT NULL, to_date date DEFAULT NULL, as_of timestamptz DEFAULT now(), organization text DEFAULT NULL)
RETURNS TABLE (
    level                    text,
    organization_id          text,
    location_id              text,
    tier                     text,
    accepted_cases           bigint,
    offered_cases            bigint,
    first_offer_p50_seconds  double precision,
    first_offer_p90_seconds  double precision,
    first_offer_p50_minutes  numeric(12,2),
    first_offer_p90_minutes  numeric(12,2),
    booked_cases             bigint,
    booking_p50_seconds      double precision,
    booking_p90_seconds      double precision,
    booking_p50_hours        numeric(12,2),
    booking_p90_hours        numeric(12,2)
)
LANGUAGE sql STABLE AS $$
    SELECT b.level, b.organization_id, b.location_id, b.tier, b.accepted_cases,
           b.offered_cases, b.first_offer_p50_seconds, b.first_offer_p90_seconds,
           round((b.first_offer_p50_seconds / 60)::numeric, 2), round((b.first_offer_p90_seconds / 60)::numeric, 2),
           b.booked_cases, b.booking_p50_seconds, b.booking_p90_seconds,
           round((b.booking_p50_seconds / 3600)::numeric, 2), round((b.booking_p90_seconds / 3600)::numeric, 2)
    FROM analytics_benchmarks(from_date, to_date, as_of, organization) b
    WHERE b.level NOT IN ('provider', 'provider_tier')
$$;

CREATE VIEW analytics_response_times AS SELECT * FROM analytics_response_times(NULL, NULL, now());

-- First-offer SLA compliance of initial offers, by tier.
CREATE FUNCTION analytics_first_offer_sla(from_date date DEFAULT NULL, to_date date DEFAULT NULL, as_of timestamptz DEFAULT now(), organization text DEFAULT NULL)
RETURNS TABLE (
    level                   text,
    organization_id         text,
    location_id             text,
    tier                    text,
    initial_offers          bigint,
    initial_offers_sla_met  bigint,
    initial_offers_missed   bigint,
    first_offer_sla_pct     numeric(5,2)
)
LANGUAGE sql STABLE AS $$
    SELECT b.level, b.organization_id, b.location_id, b.tier, b.initial_offers, b.initial_offers_sla_met,
           b.initial_offers - b.initial_offers_sla_met, b.first_offer_sla_pct
    FROM analytics_benchmarks(from_date, to_date, as_of, organization) b
    WHERE b.level IN ('all', 'tier', 'organization', 'organization_tier', 'location', 'location_tier')
$$;

CREATE VIEW analytics_first_offer_sla AS SELECT * FROM analytics_first_offer_sla(NULL, NULL, now());

-- Coordinator tasks by kind, status and outcome (current status), for tasks created
-- on location-local days from_date..to_date (NULL: as in analytics_benchmarks) up to as_of.
CREATE FUNCTION analytics_escalation_outcomes(from_date date DEFAULT NULL, to_date date DEFAULT NULL, as_of timestamptz DEFAULT now(), organization text DEFAULT NULL)
RETURNS TABLE (
    organization_id     text,
    location_id         text,
    kind                text,
    status              text,
    outcome             text,
    tasks               bigint,
    urgent_tasks        bigint,
    plans               bigint,
    plans_booked        bigint,
    resolution_p50_hours numeric(12,2),
    resolution_avg_hours numeric(12,2)
)
LANGUAGE sql STABLE AS $$
    SELECT t.organization_id, t.location_id, t.kind, t.status, t.outcome, count(*), count(*) FILTER (WHERE t.urgent),
           count(DISTINCT t.plan_id),
           count(DISTINCT t.plan_id) FILTER (WHERE p.status = 'booked'),
           round((percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM t.resolved_at - t.created_at)) / 3600)::numeric, 2),
           round((avg(extract(epoch FROM t.resolved_at - t.created_at)) / 3600)::numeric, 2)
    FROM coordinator_tasks t
    JOIN locations l ON l.id = t.location_id
    LEFT JOIN plans p ON p.organization_id = t.organization_id AND p.plan_id = t.plan_id
    WHERE (t.created_at AT TIME ZONE l.time_zone)::date BETWEEN coalesce(from_date, coalesce(to_date, (as_of AT TIME ZONE l.time_zone)::date) - 29)
                                                            AND coalesce(to_date, (as_of AT TIME ZONE l.time_zone)::date)
      AND t.created_at <= as_of
      AND (organization IS NULL OR t.organization_id = organization)
    GROUP BY t.organization_id, t.location_id, t.kind, t.status, t.outcome
$$;

CREATE VIEW analytics_escalation_outcomes AS SELECT * FROM analytics_escalation_outcomes(NULL, NULL, now());

-- Coordinator tasks open as of as_of, with their age.
CREATE FUNCTION analytics_open_tasks(as_of timestamptz)
RETURNS TABLE (
    id                bigint,
    organization_id   text,
    location_id       text,
    plan_id           text,
    owner_id          text,
    kind              text,
    urgent            boolean,
    reason            text,
    created_at        timestamptz,
    created_local_date date,
    age_hours         numeric(12,2),
    age_days          int,
    age_bucket        text,
    age_bucket_order  int,
    plan_status       text,
    value_cents       bigint,
    value_dollars     numeric(14,2)
)
LANGUAGE sql STABLE AS $$
    SELECT t.id, t.organization_id, t.location_id, t.plan_id, t.owner_id, t.kind, t.urgent, t.reason, t.created_at,
           (t.created_at AT TIME ZONE l.time_zone)::date,
           round((extract(epoch FROM as_of - t.created_at) / 3600)::numeric, 2)::numeric(12,2),
           (as_of AT TIME ZONE l.time_zone)::date - (t.created_at AT TIME ZONE l.time_zone)::date,
           analytics_age_bucket((as_of AT TIME ZONE l.time_zone)::date - (t.created_at AT TIME ZONE l.time_zone)::date),
           analytics_age_bucket_order((as_of AT TIME ZONE l.time_zone)::date - (t.created_at AT TIME ZONE l.time_zone)::date),
           p.status, p.total_fee_cents, (p.total_fee_cents / 100.0)::numeric(14,2)
    FROM coordinator_tasks t
    JOIN locations l ON l.id = t.location_id
    LEFT JOIN plans p ON p.organization_id = t.organization_id AND p.plan_id = t.plan_id
    WHERE t.created_at <= as_of
      AND (t.status = 'open' OR (t.resolved_at IS NOT NULL AND t.resolved_at > as_of))
$$;

CREATE VIEW analytics_open_tasks AS SELECT * FROM analytics_open_tasks(now());

-- Lookups the functions above make per plan.
CREATE INDEX plan_events_booked ON plan_events (organization_id, plan_id, occurred_at) WHERE kind = 'booked';
