-- Analytics from the timed history (issue 12, points 13 and 14; docs/analytics.md).
--
-- Before this migration a report as of a past instant T changed when it was run again later:
-- the outcome came from the current plans.status (a case declined after T was `closed` as of
-- T), and a modification or a newer acceptance rewrote plans.accepted_at, so the case vanished
-- from every report as of an earlier instant. Now every object derives a case's state at T from
-- facts with their own times only, and only from facts known by T (the instant they happened,
-- occurred_at, and the instant PlanRouter wrote them, recorded_at, both at or before T), so a
-- late-arriving fact cannot change a report already run:
--   - the case exists from its first acceptance (plans.first_accepted_at, below, received by T);
--   - its version (value, provider, coordinator, location) is that of its newest `accepted` or
--     `modified` plan event by T; a modification is its own fact and keeps the acceptance time;
--   - its status is that of its last status event by T (the kinds the status changes write);
--   - tier and path: the newest classification written by T; offers: released by T;
--     tasks: created by T and open unless resolved/cancelled by T.
-- Each case also gets one owner column (owner_id, owner_kind): who owns it as of T.

-- plans.accepted_at is the acceptance of the version the workers act on (a modification or a
-- newer acceptance replaces it; offers, SLAs and ladders count from it). The first acceptance
-- is kept beside it and never rewritten: a row is inserted with it, and the upsert's
-- ON CONFLICT list leaves it alone. Rows from before: their earliest `accepted` event, else
-- accepted_at (the only time known).
ALTER TABLE plans ADD COLUMN first_accepted_at timestamptz;
UPDATE plans p SET first_accepted_at = least(p.accepted_at, coalesce(
    (SELECT min(e.occurred_at) FROM plan_events e
     WHERE e.organization_id = p.organization_id AND e.plan_id = p.plan_id AND e.kind = 'accepted'), p.accepted_at));
ALTER TABLE plans ALTER COLUMN first_accepted_at SET NOT NULL;
CREATE INDEX plans_first_accepted ON plans (first_accepted_at);

-- A column default cannot name another column: an insert without it (every insert; the
-- classifier's upsert and fixtures alike) takes the row's accepted_at.
CREATE FUNCTION plans_first_accepted_at_default() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.first_accepted_at := coalesce(NEW.first_accepted_at, NEW.accepted_at);
    RETURN NEW;
END
$$;

CREATE TRIGGER plans_first_accepted_at_default BEFORE INSERT ON plans
    FOR EACH ROW EXECUTE FUNCTION plans_first_accepted_at_default();

-- Cases whose closing or booking predates the plan events that record it (no event of the
-- status's kind at all) get that event once, dated when the status was last written
-- (updated_at), so the analytics never need the current status. A booking of unknown time
-- says so: it makes the case scheduled but counts in no booking time.
INSERT INTO plan_events (organization_id, plan_id, location_id, kind, source, occurred_at, recorded_at, detail)
SELECT p.organization_id, p.plan_id, p.location_id, p.status, 'migration/0010', p.updated_at, p.updated_at,
       CASE WHEN p.status = 'booked' THEN '{"backfilled": true, "time_unknown": true}'::jsonb ELSE '{"backfilled": true}'::jsonb END
FROM plans p
WHERE p.status IN ('booked', 'declined', 'cancelled', 'revoked')
  AND NOT EXISTS (SELECT 1 FROM plan_events e
                  WHERE e.organization_id = p.organization_id AND e.plan_id = p.plan_id AND e.kind = p.status);

-- The status each plan event kind leaves the case in (the kinds CaseStatus transitions and the
-- acceptance upsert write, see docs/analytics.md); NULL for the kinds that do not change it.
CREATE FUNCTION analytics_status_after(kind text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE kind
        WHEN 'accepted' THEN 'accepted' WHEN 'modified' THEN 'accepted'
        WHEN 'offered' THEN 'offered' WHEN 'escalated' THEN 'escalated' WHEN 'reopened' THEN 'escalated'
        WHEN 'booked' THEN 'booked' WHEN 'declined' THEN 'declined' WHEN 'cancelled' THEN 'cancelled' WHEN 'revoked' THEN 'revoked'
    END
$$;

-- New columns need a new function (a function's result type cannot be replaced), and the
-- views on it go with it. The other analytics functions read these two by column name and
-- are parsed at each call, so they follow without change.
DROP VIEW analytics_unscheduled_cases;
DROP FUNCTION analytics_unscheduled_cases(timestamptz);
DROP VIEW analytics_plan_facts;
DROP FUNCTION analytics_plan_facts(timestamptz);

-- One row per case accepted (first) at or before as_of: the facts every metric is built from.
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
    age_days                 int,
    version_accepted_at      timestamptz,
    owner_id                 text,
    owner_kind               text
)
LANGUAGE sql STABLE AS $$
    SELECT p.organization_id, l.id, l.time_zone, p.plan_id, p.patient_id,
           coalesce(v.detail ->> 'provider_id', p.provider_id), k.coordinator_id,
           coalesce(c.tier, 'unclassified'), c.path, s.status,
           p.first_accepted_at, (p.first_accepted_at AT TIME ZONE l.time_zone)::date,
           k.value_cents, (k.value_cents / 100.0)::numeric(14,2), k.patient_portion_cents,
           c.first_offer_sla_seconds,
           o.first_offer_at,
           -- greatest() skips NULLs, so only for cases that have the time at all.
           CASE WHEN o.first_offer_at IS NOT NULL THEN greatest(extract(epoch FROM o.first_offer_at - p.first_accepted_at), 0)::double precision END,
           coalesce(o.offers_sent, 0), coalesce(o.initial_offers, 0), coalesce(o.initial_offers_sla_met, 0),
           b.booked_at, b.via, (b.booked_at AT TIME ZONE l.time_zone)::date,
           CASE WHEN b.booked_at IS NOT NULL THEN greatest(extract(epoch FROM b.booked_at - p.first_accepted_at), 0)::double precision END,
           b.booked_at IS NOT NULL AND (b.booked_at AT TIME ZONE l.time_zone)::date = (p.first_accepted_at AT TIME ZONE l.time_zone)::date,
           CASE
               WHEN s.status IN ('declined', 'cancelled', 'revoked') THEN 'closed'
               WHEN s.status = 'booked' THEN 'scheduled'
               ELSE 'unscheduled'
           END,
           (as_of AT TIME ZONE l.time_zone)::date - (p.first_accepted_at AT TIME ZONE l.time_zone)::date,
           coalesce(v.occurred_at, p.first_accepted_at),
           -- Who owns the case as of as_of: its newest open task's owner, else the plan's
           -- coordinator, else the location's default coordinator, else the location queue.
           coalesce(t.owner_id, k.coordinator_id, l.default_coordinator_id, 'location:' || l.id),
           CASE
               WHEN t.owner_id IS NOT NULL THEN 'task'
               WHEN k.coordinator_id IS NOT NULL THEN 'coordinator'
               WHEN l.default_coordinator_id IS NOT NULL THEN 'location_default'
               ELSE 'unassigned'
           END
    FROM plans p
    -- The version in force: the newest acceptance or modification known by as_of.
    LEFT JOIN LATERAL (
        SELECT e.location_id, e.occurred_at, e.detail
        FROM plan_events e
        WHERE e.organization_id = p.organization_id AND e.plan_id = p.plan_id AND e.kind IN ('accepted', 'modified')
          AND e.occurred_at <= as_of AND e.recorded_at <= as_of
        ORDER BY e.occurred_at DESC, e.id DESC LIMIT 1
    ) v ON true
    -- Its values. Events recorded before migration 0010 carry no coordinator or patient
    -- portion (nor provider), and a case with no such event at all (fixtures) has none: for
    -- those the plans row stands in.
    CROSS JOIN LATERAL (
        SELECT coalesce((v.detail ->> 'total_fee_cents')::bigint, p.total_fee_cents) AS value_cents,
               CASE WHEN v.detail ? 'patient_portion_cents' THEN (v.detail ->> 'patient_portion_cents')::bigint
                    ELSE p.patient_portion_cents END AS patient_portion_cents,
               CASE WHEN v.detail ? 'coordinator_id' THEN v.detail ->> 'coordinator_id' ELSE p.coordinator_id END AS coordinator_id
    ) k
    JOIN locations l ON l.organization_id = p.organization_id AND l.id = coalesce(v.location_id, p.location_id)
    -- The status: the last status change known by as_of, in the order PlanRouter applied them
    -- (a join, not a scalar subquery: that would run once per reference to the status).
    LEFT JOIN LATERAL (
        SELECT analytics_status_after(e.kind) AS status
        FROM plan_events e
        WHERE e.organization_id = p.organization_id AND e.plan_id = p.plan_id
          AND analytics_status_after(e.kind) IS NOT NULL
          AND e.occurred_at <= as_of AND e.recorded_at <= as_of
        ORDER BY e.id DESC LIMIT 1
    ) s0 ON true
    CROSS JOIN LATERAL (SELECT coalesce(s0.status, 'accepted') AS status) s
    LEFT JOIN LATERAL (
        SELECT c.tier, c.path, c.first_offer_sla_seconds
        FROM classifications c
        WHERE c.organization_id = p.organization_id AND c.plan_id = p.plan_id AND c.classified_at <= as_of
        ORDER BY c.classified_at DESC, c.id DESC LIMIT 1
    ) c ON true
    LEFT JOIN LATERAL (
        -- Every acceptance version's offers from the first acceptance on, released by as_of.
        SELECT min(o.released_at) AS first_offer_at, count(*) AS offers_sent,
               count(*) FILTER (WHERE o.kind = 'initial') AS initial_offers,
               count(*) FILTER (WHERE o.kind = 'initial' AND o.sla_met) AS initial_offers_sla_met
        FROM offers o
        WHERE o.organization_id = p.organization_id AND o.plan_id = p.plan_id
          AND o.plan_accepted_at >= p.first_accepted_at AND o.released_at <= as_of
    ) o ON true
    LEFT JOIN LATERAL (
        SELECT e.occurred_at AS booked_at, e.detail ->> 'via' AS via
        FROM plan_events e
        WHERE e.organization_id = p.organization_id AND e.plan_id = p.plan_id
          AND e.kind = 'booked' AND e.occurred_at <= as_of AND e.recorded_at <= as_of
          AND NOT coalesce((e.detail ->> 'time_unknown')::boolean, false)
        ORDER BY e.occurred_at, e.id LIMIT 1
    ) b ON true
    LEFT JOIN LATERAL (
        SELECT t.owner_id
        FROM coordinator_tasks t
        WHERE t.organization_id = p.organization_id AND t.plan_id = p.plan_id AND t.created_at <= as_of
          AND (t.resolved_at IS NULL OR t.resolved_at > as_of)
        ORDER BY t.created_at DESC, t.id DESC LIMIT 1
    ) t ON true
    WHERE p.first_accepted_at <= as_of AND p.received_at <= as_of
$$;

CREATE VIEW analytics_plan_facts AS SELECT * FROM analytics_plan_facts(now());

-- Accepted cases not (yet) scheduled as of as_of (outcome 'unscheduled' in analytics_plan_facts).
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
    open_tasks             bigint,
    owner_id               text,
    owner_kind             text
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
              AND (t.resolved_at IS NULL OR t.resolved_at > as_of)),
           f.owner_id, f.owner_kind
    FROM analytics_plan_facts(as_of) f
    WHERE f.outcome = 'unscheduled'
$$;

CREATE VIEW analytics_unscheduled_cases AS SELECT * FROM analytics_unscheduled_cases(now());

-- The unscheduled cases per owner (analytics_plan_facts.owner_id): the coordinators' worklists.
CREATE FUNCTION analytics_unscheduled_by_owner(as_of timestamptz)
RETURNS TABLE (
    organization_id    text,
    owner_id           text,
    owner_kind         text,
    cases              bigint,
    value_cents        bigint,
    value_dollars      numeric(14,2),
    cases_with_open_task bigint,
    oldest_age_days    int,
    locations          text[]
)
LANGUAGE sql STABLE AS $$
    SELECT u.organization_id, u.owner_id, u.owner_kind, count(*), sum(u.value_cents)::bigint,
           (sum(u.value_cents) / 100.0)::numeric(14,2), count(*) FILTER (WHERE u.open_tasks > 0), max(u.age_days),
           array_agg(DISTINCT u.location_id ORDER BY u.location_id)
    FROM analytics_unscheduled_cases(as_of) u
    GROUP BY u.organization_id, u.owner_id, u.owner_kind
$$;

CREATE VIEW analytics_unscheduled_by_owner AS SELECT * FROM analytics_unscheduled_by_owner(now());

-- Coordinator tasks by kind, status and outcome as of as_of (a task resolved or cancelled
-- after as_of was open then), for tasks created on location-local days from_date..to_date
-- up to as_of; plans_booked: the plan's status as of as_of.
CREATE OR REPLACE FUNCTION analytics_escalation_outcomes(from_date date DEFAULT NULL, to_date date DEFAULT NULL, as_of timestamptz DEFAULT now(), organization text DEFAULT NULL)
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
           count(DISTINCT t.plan_id) FILTER (WHERE f.status = 'booked'),
           round((percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM t.resolved_at - t.created_at)) / 3600)::numeric, 2),
           round((avg(extract(epoch FROM t.resolved_at - t.created_at)) / 3600)::numeric, 2)
    FROM (
        SELECT t.organization_id, t.location_id, t.plan_id, t.kind, t.urgent, t.created_at,
               CASE WHEN t.resolved_at <= as_of THEN t.status ELSE 'open' END AS status,
               CASE WHEN t.resolved_at <= as_of THEN t.outcome END AS outcome,
               CASE WHEN t.resolved_at <= as_of THEN t.resolved_at END AS resolved_at
        FROM coordinator_tasks t
        JOIN locations l ON l.organization_id = t.organization_id AND l.id = t.location_id
        WHERE (t.created_at AT TIME ZONE l.time_zone)::date BETWEEN coalesce(from_date, coalesce(to_date, (as_of AT TIME ZONE l.time_zone)::date) - 29)
                                                                AND coalesce(to_date, (as_of AT TIME ZONE l.time_zone)::date)
          AND t.created_at <= as_of
          AND (organization IS NULL OR t.organization_id = organization)
    ) t
    LEFT JOIN analytics_plan_facts(as_of) f ON f.organization_id = t.organization_id AND f.plan_id = t.plan_id
    GROUP BY t.organization_id, t.location_id, t.kind, t.status, t.outcome
$$;

-- Coordinator tasks open as of as_of, with their age; the plan's status and value as of as_of.
CREATE OR REPLACE FUNCTION analytics_open_tasks(as_of timestamptz)
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
           f.status, f.value_cents, f.value_dollars
    FROM coordinator_tasks t
    JOIN locations l ON l.organization_id = t.organization_id AND l.id = t.location_id
    LEFT JOIN analytics_plan_facts(as_of) f ON f.organization_id = t.organization_id AND f.plan_id = t.plan_id
    WHERE t.created_at <= as_of
      AND (t.resolved_at IS NULL OR t.resolved_at > as_of)
$$;
