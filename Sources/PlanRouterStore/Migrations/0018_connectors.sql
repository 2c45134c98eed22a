-- PMS connectors (issue 15) and exactly-once PMS write-back (issue 18, point 3).
--
-- The Open Dental connector polls each office (one customer key = one office database) and
-- keeps, per organization, connector and office:
--   connector_watermarks  the newest change seen per resource, as the office-local wall time
--                         Open Dental writes ('yyyy-MM-dd HH:mm:ss'); advanced only in the
--                         transaction that writes the events it produced to the outbox;
--   connector_produced    the event ids produced, so a re-poll of an overlapping window writes
--                         nothing twice (consumers' inboxes would absorb it anyway);
--   connector_plans       what was last published for each treatment plan (accepted or revoked,
--                         and a fingerprint of its procedures), to tell a new acceptance from a
--                         modification or a revocation;
--   connector_offices     each office's health (a 401/403 makes it unhealthy), for
--                         `planrouter connector status` and the metrics.
-- pms_writebacks is the write-back's effect record: one row per pms.appointment-requests
-- request, inserted in the consumer's inbox transaction (so a redelivered request never
-- writes twice), then worked off against the PMS and closed as written or refused.
-- Every row carries organization_id: PMS numbers are unique only inside an office.
CREATE TABLE connector_watermarks (
    organization_id text NOT NULL,
    connector       text NOT NULL,
    office_id       text NOT NULL,
    resource        text NOT NULL,
    watermark       text NOT NULL,
    updated_at      timestamptz NOT NULL,
    PRIMARY KEY (organization_id, connector, office_id, resource)
);

CREATE TABLE connector_produced (
    organization_id text NOT NULL,
    connector       text NOT NULL,
    office_id       text NOT NULL,
    event_id        text NOT NULL,
    produced_at     timestamptz NOT NULL,
    PRIMARY KEY (organization_id, connector, office_id, event_id)
);
CREATE INDEX connector_produced_age ON connector_produced (produced_at);

CREATE TABLE connector_plans (
    organization_id text NOT NULL,
    connector       text NOT NULL,
    office_id       text NOT NULL,
    pms_plan        text NOT NULL,
    plan_id         text NOT NULL,
    location_id     text NOT NULL,
    patient         text NOT NULL,
    state           text NOT NULL CHECK (state IN ('accepted', 'revoked')),
    fingerprint     text NOT NULL,
    procedures      text NOT NULL,
    updated_at      timestamptz NOT NULL,
    PRIMARY KEY (organization_id, connector, office_id, pms_plan)
);
CREATE INDEX connector_plans_patient ON connector_plans (organization_id, connector, office_id, patient);

CREATE TABLE connector_offices (
    organization_id text NOT NULL,
    connector       text NOT NULL,
    office_id       text NOT NULL,
    healthy         boolean NOT NULL,
    last_error      text,
    last_success_at timestamptz,
    updated_at      timestamptz NOT NULL,
    PRIMARY KEY (organization_id, connector, office_id)
);

CREATE TABLE pms_writebacks (
    id                 bigserial PRIMARY KEY,
    organization_id    text NOT NULL,
    request_id         text NOT NULL,
    event_id           text NOT NULL,
    connector          text NOT NULL,
    office_id          text NOT NULL,
    location_id        text NOT NULL,
    plan_id            text NOT NULL,
    request            jsonb NOT NULL,
    status             text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'written', 'refused')),
    attempts           int NOT NULL DEFAULT 0,
    lease_until        timestamptz,
    pms_appointment_id text,
    reason             text,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    UNIQUE (organization_id, request_id)
);
CREATE INDEX pms_writebacks_pending ON pms_writebacks (id) WHERE status = 'pending';
CREATE INDEX pms_writebacks_appointment ON pms_writebacks (organization_id, office_id, pms_appointment_id) WHERE status = 'written';
