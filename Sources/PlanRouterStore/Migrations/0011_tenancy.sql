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

-- The analytics functions that join locations (0010's versions) match on the organization
-- too; 0010 was written with that join, so nothing is replaced here.

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
