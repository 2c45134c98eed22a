-- NexHealth intake and write-back (issue 15, points 2 and 3).
--
-- nexhealth_deliveries is the webhook's inbox: the public route verifies the signature and
-- records the delivery here before any work (and answers 2xx at once); NexHealth retries for
-- 48 hours, so a delivery already recorded (same organization and digest of the signed body)
-- is a no-op. The connector then works the pending rows off: each delivery's events go to the
-- outbox in the transaction that closes the row (processed, or dead with a reason).
CREATE TABLE nexhealth_deliveries (
    id              bigserial PRIMARY KEY,
    organization_id text NOT NULL,
    delivery_key    text NOT NULL,
    subdomain       text NOT NULL,
    event_name      text NOT NULL,
    body            text NOT NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'processed', 'dead')),
    attempts        int NOT NULL DEFAULT 0,
    lease_until     timestamptz,
    reason          text,
    received_at     timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    UNIQUE (organization_id, delivery_key)
);
CREATE INDEX nexhealth_deliveries_pending ON nexhealth_deliveries (id) WHERE status = 'pending';

ALTER TABLE nexhealth_deliveries ENABLE ROW LEVEL SECURITY;
ALTER TABLE nexhealth_deliveries FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nexhealth_deliveries USING (planrouter_tenant_visible(organization_id));

-- NexHealth inserts appointments asynchronously: a POST /appointments answered 201 leaves the
-- write-back 'submitted' (with NexHealth's appointment id) until the insertion webhook closes it
-- as written or refused.
ALTER TABLE pms_writebacks DROP CONSTRAINT pms_writebacks_status_check;
ALTER TABLE pms_writebacks ADD CONSTRAINT pms_writebacks_status_check CHECK (status IN ('pending', 'submitted', 'written', 'refused'));

-- A booking the PMS refused stays busy for offers for an hour (AvailabilityRepository.busy):
-- the few such rows of a location are found without reading its released history.
CREATE INDEX reservations_pms_refused ON reservations (location_id, released_at) WHERE release_reason = 'pms_refused';

-- Holds visible to the front desk (docs/connectors.md, "Holds visible to the front desk"):
-- one row per hold PlanRouter shows as an Open Dental blockout, from 'creating' (recorded
-- before the POST, so a retry looks for its blockout instead of making a second) through
-- 'created' (with the ScheduleNum) to 'removed' once the hold ended and the blockout was deleted.
CREATE TABLE pms_hold_blockouts (
    organization_id text NOT NULL,
    reservation_id  bigint NOT NULL,
    connector       text NOT NULL,
    office_id       text NOT NULL,
    location_id     text NOT NULL,
    status          text NOT NULL CHECK (status IN ('creating', 'created', 'removed')),
    schedule_num    bigint,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    PRIMARY KEY (organization_id, reservation_id)
);
CREATE INDEX pms_hold_blockouts_open ON pms_hold_blockouts (organization_id, office_id) WHERE status <> 'removed';

ALTER TABLE pms_hold_blockouts ENABLE ROW LEVEL SECURITY;
ALTER TABLE pms_hold_blockouts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON pms_hold_blockouts USING (planrouter_tenant_visible(organization_id));
