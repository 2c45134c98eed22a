-- locations.yaml (`planrouter locations load`): each load of an organization's file is a
-- version, like the rules file; the values it sets live on organizations and locations, where
-- the workers and the booking service already read them.
CREATE TABLE location_directories (
    organization_id  text NOT NULL,
    version          int NOT NULL CHECK (version > 0),
    source_yaml      text NOT NULL,
    checksum         text NOT NULL,
    loaded_at        timestamptz NOT NULL,
    PRIMARY KEY (organization_id, version)
);
ALTER TABLE location_directories ENABLE ROW LEVEL SECURITY;
ALTER TABLE location_directories FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON location_directories USING (planrouter_tenant_visible(organization_id));

ALTER TABLE organizations ADD COLUMN same_day_target_pct numeric(5, 2) CHECK (same_day_target_pct BETWEEN 0 AND 100);

ALTER TABLE locations
    ADD COLUMN address text,
    ADD COLUMN phone text,
    -- tier name -> owner of that tier's coordinator tasks at this location.
    ADD COLUMN coordinators_by_tier jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(coordinators_by_tier) = 'object'),
    -- Both set or both null: null inherits the rules file's quiet hours.
    ADD COLUMN quiet_start_minute smallint CHECK (quiet_start_minute BETWEEN 0 AND 1439),
    ADD COLUMN quiet_end_minute smallint CHECK (quiet_end_minute BETWEEN 0 AND 1439),
    ADD COLUMN same_day_target_pct numeric(5, 2) CHECK (same_day_target_pct BETWEEN 0 AND 100),
    ADD COLUMN directory_version int,
    ADD CONSTRAINT locations_quiet_hours_pair CHECK ((quiet_start_minute IS NULL) = (quiet_end_minute IS NULL));

-- The owner of a case's coordinator task: the location's owner for the tier, the coordinator the
-- PMS named, the location's default, the location itself (CaseOwner.resolve in Swift says the same).
CREATE FUNCTION planrouter_case_owner(by_tier jsonb, tier text, plan_coordinator text, location_default text, location_id text)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(by_tier ->> tier, plan_coordinator, location_default, 'location:' || location_id)
$$;
