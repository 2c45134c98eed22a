-- Tenancy (issue 13, point 1). PMS ids are unique only inside an organization: two
-- organizations may both have a location 'loc-1' with a provider 'p-1' and a patient
-- 'pat-1'. Before this migration locations.id was a global key, so one organization's
-- schedule.changed for 'loc-1' replaced another's calendar. Now:
--
-- 1. every location-scoped row is keyed by (organization_id, location_id): locations by
--    (organization_id, id), the mirror tables, reservations (and their exclusion keys),
--    offers, tasks and timers carry organization_id, with composite foreign keys and
--    indexes that lead with it;
-- 2. row-level security is a second wall on every tenant table: a row is visible (and
--    writable) only when the transaction's `planrouter.organization` setting names its
--    organization, or is the system sentinel '*' (docs/postgres.md, "Tenancy").

-- 1. Composite keys -------------------------------------------------------------------

ALTER TABLE plans DROP CONSTRAINT plans_location_id_fkey;
ALTER TABLE providers DROP CONSTRAINT providers_location_id_fkey;
ALTER TABLE locations DROP CONSTRAINT locations_pkey;
ALTER TABLE locations ADD PRIMARY KEY (organization_id, id);
DROP INDEX locations_organization;

ALTER TABLE plans ADD FOREIGN KEY (organization_id, location_id) REFERENCES locations (organization_id, id);
DROP INDEX plans_location_status;
CREATE INDEX plans_location_status ON plans (organization_id, location_id, status);

-- The mirror tables: organization_id from the location (ids were global until now, so the
-- backfill is unambiguous).
ALTER TABLE providers ADD COLUMN organization_id text;
UPDATE providers p SET organization_id = l.organization_id FROM locations l WHERE l.id = p.location_id;
ALTER TABLE providers ALTER COLUMN organization_id SET NOT NULL;
ALTER TABLE providers DROP CONSTRAINT providers_pkey;
ALTER TABLE providers ADD PRIMARY KEY (organization_id, location_id, provider_id);
ALTER TABLE providers ADD FOREIGN KEY (organization_id, location_id) REFERENCES locations (organization_id, id);

ALTER TABLE schedule_blocks ADD COLUMN organization_id text;
UPDATE schedule_blocks b SET organization_id = l.organization_id FROM locations l WHERE l.id = b.location_id;
ALTER TABLE schedule_blocks ALTER COLUMN organization_id SET NOT NULL;
DROP INDEX schedule_blocks_location;
CREATE INDEX schedule_blocks_location ON schedule_blocks USING gist (organization_id, location_id, during);

ALTER TABLE blockouts ADD COLUMN organization_id text;
UPDATE blockouts b SET organization_id = l.organization_id FROM locations l WHERE l.id = b.location_id;
ALTER TABLE blockouts ALTER COLUMN organization_id SET NOT NULL;
DROP INDEX blockouts_location;
CREATE INDEX blockouts_location ON blockouts USING gist (organization_id, location_id, during);

-- Reservations: organization_id was set by every writer but not required; the keys of the
-- exclusion constraints (0006) now hash the organization too, so 'p-1' at org A's 'loc-1'
-- and 'p-1' at org B's 'loc-1' are different resources (length-prefixed, as before).
UPDATE reservations r SET organization_id = l.organization_id FROM locations l
WHERE l.id = r.location_id AND r.organization_id IS NULL;
ALTER TABLE reservations ALTER COLUMN organization_id SET NOT NULL;
ALTER TABLE reservations
    DROP CONSTRAINT reservations_provider_free,
    DROP CONSTRAINT reservations_operatory_free,
    DROP COLUMN provider_key,
    DROP COLUMN operatory_key;
ALTER TABLE reservations
    ADD COLUMN provider_key bigint NOT NULL GENERATED ALWAYS AS (hashtextextended(
        length(organization_id)::text || ':' || organization_id || length(location_id)::text || ':' || location_id || provider_id, 0)) STORED,
    ADD COLUMN operatory_key bigint GENERATED ALWAYS AS (hashtextextended(
        length(organization_id)::text || ':' || organization_id || length(location_id)::text || ':' || location_id || operatory_id, 0)) STORED;
ALTER TABLE reservations
    ADD CONSTRAINT reservations_provider_free
        EXCLUDE USING gist (provider_key WITH =, during WITH &&) WHERE (active AND kind <> 'pms'),
    ADD CONSTRAINT reservations_operatory_free
        EXCLUDE USING gist (operatory_key WITH =, operatory_during WITH &&)
        WHERE (active AND kind <> 'pms' AND operatory_id IS NOT NULL);
DROP INDEX reservations_pms_appointment;
CREATE UNIQUE INDEX reservations_pms_appointment ON reservations (organization_id, location_id, appointment_id) WHERE kind = 'pms';
DROP INDEX reservations_pms_during;
CREATE INDEX reservations_pms_during ON reservations USING gist (organization_id, location_id, operatory_during) WHERE active AND kind = 'pms';
DROP INDEX reservations_active_location;
CREATE INDEX reservations_active_location ON reservations (organization_id, location_id) WHERE active;

-- Offers, tasks and timers already carried organization_id; their location lookups lead with it.
DROP INDEX coordinator_tasks_open;
CREATE INDEX coordinator_tasks_open ON coordinator_tasks (organization_id, location_id, owner_id, created_at) WHERE status = 'open';

-- The analytics functions of 0004/0009 that join locations: same columns, joined on the
-- organization too (a location id alone now matches one row per organization using it).
CREATE OR REPLACE FUNCTION analytics_plan_facts(as_of timestamptz)
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
    JOIN locations l ON l.organization_id = p.organization_id AND l.id = p.location_id
    LEFT JOIN LATERAL (
        SELECT c.tier, c.path, c.first_offer_sla_seconds
        FROM classifications c
        WHERE c.organization_id = p.organization_id AND c.plan_id = p.plan_id
        ORDER BY c.id DESC LIMIT 1
    ) c ON true
    LEFT JOIN LATERAL (
        -- Released to delivery by as_of (0009): a message held for quiet hours counts from its release.
        SELECT min(o.released_at) AS first_offer_at, count(*) AS offers_sent,
               count(*) FILTER (WHERE o.kind = 'initial') AS initial_offers,
               count(*) FILTER (WHERE o.kind = 'initial' AND o.sla_met) AS initial_offers_sla_met
        FROM offers o
        WHERE o.organization_id = p.organization_id AND o.plan_id = p.plan_id
          AND o.plan_accepted_at = p.accepted_at AND o.released_at <= as_of
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
           count(DISTINCT t.plan_id) FILTER (WHERE p.status = 'booked'),
           round((percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM t.resolved_at - t.created_at)) / 3600)::numeric, 2),
           round((avg(extract(epoch FROM t.resolved_at - t.created_at)) / 3600)::numeric, 2)
    FROM coordinator_tasks t
    JOIN locations l ON l.organization_id = t.organization_id AND l.id = t.location_id
    LEFT JOIN plans p ON p.organization_id = t.organization_id AND p.plan_id = t.plan_id
    WHERE (t.created_at AT TIME ZONE l.time_zone)::date BETWEEN coalesce(from_date, coalesce(to_date, (as_of AT TIME ZONE l.time_zone)::date) - 29)
                                                            AND coalesce(to_date, (as_of AT TIME ZONE l.time_zone)::date)
      AND t.created_at <= as_of
      AND (organization IS NULL OR t.organization_id = organization)
    GROUP BY t.organization_id, t.location_id, t.kind, t.status, t.outcome
$$;

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
           p.status, p.total_fee_cents, (p.total_fee_cents / 100.0)::numeric(14,2)
    FROM coordinator_tasks t
    JOIN locations l ON l.organization_id = t.organization_id AND l.id = t.location_id
    LEFT JOIN plans p ON p.organization_id = t.organization_id AND p.plan_id = t.plan_id
    WHERE t.created_at <= as_of
      AND (t.status = 'open' OR (t.resolved_at IS NOT NULL AND t.resolved_at > as_of))
$$;

-- 2. Row-level security ---------------------------------------------------------------
--
-- FORCE: the workers connect as the tables' owner (the role that ran these migrations), and
-- an owner bypasses its own tables' policies unless forced. A superuser or a BYPASSRLS role
-- still sees everything: production must not run workers as either (docs/postgres.md).
-- missing_ok (the `true`) makes an unset setting NULL, and NULL matches no row.
CREATE FUNCTION planrouter_tenant_visible(organization text) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT current_setting('planrouter.organization', true) IN (organization, '*')
$$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['locations', 'providers', 'schedule_blocks', 'blockouts', 'reservations', 'plans', 'plan_procedures',
                             'plan_events', 'classifications', 'offers', 'coordinator_tasks', 'timers', 'pending_lifecycle_events']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (planrouter_tenant_visible(organization_id))', t);
    END LOOP;
END
$$;

ALTER TABLE organizations ENABLE ROW LEVEL SECURITY;
ALTER TABLE organizations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON organizations USING (planrouter_tenant_visible(id));
