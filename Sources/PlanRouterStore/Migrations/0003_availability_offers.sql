-- Availability mirrored from the PMS, reservations (holds, bookings and PMS
-- appointments), offers, coordinator tasks and escalation timers.

-- Bumped by every change to a location's calendar, so offer workers know when
-- their in-memory copy is stale.
ALTER TABLE locations ADD COLUMN calendar_version bigint NOT NULL DEFAULT 0;

CREATE TABLE providers (
    location_id    text NOT NULL REFERENCES locations (id),
    provider_id    text NOT NULL,
    roles          text[] NOT NULL DEFAULT '{}',
    operatory_ids  text[] NOT NULL DEFAULT '{}',
    updated_at     timestamptz NOT NULL,
    PRIMARY KEY (location_id, provider_id)
);

-- When a provider works; operatory_ids empty = any of the provider's operatories.
CREATE TABLE schedule_blocks (
    id             bigserial PRIMARY KEY,
    location_id    text NOT NULL,
    provider_id    text NOT NULL,
    during         tstzrange NOT NULL CHECK (NOT isempty(during)),
    operatory_ids  text[] NOT NULL DEFAULT '{}',
    changed_at     timestamptz NOT NULL
);
CREATE INDEX schedule_blocks_location ON schedule_blocks USING gist (location_id, during);

-- kind: do_not_schedule, crown_only, or a practice's own type.
CREATE TABLE blockouts (
    id             bigserial PRIMARY KEY,
    location_id    text NOT NULL,
    provider_id    text,
    operatory_ids  text[] NOT NULL DEFAULT '{}',
    during         tstzrange NOT NULL CHECK (NOT isempty(during)),
    kind           text NOT NULL,
    changed_at     timestamptz NOT NULL
);
CREATE INDEX blockouts_location ON blockouts USING gist (location_id, during);

-- Holds, bookings made through PlanRouter, and appointments mirrored from the PMS.
-- The database itself forbids overlapping active holds and bookings of one
-- provider or one operatory. PMS appointments ('pms') are the PMS's own record:
-- they are busy time for the search but outside the constraint, because the PMS
-- may legitimately double-book and its record must still be mirrored.
CREATE TABLE reservations (
    id               bigserial PRIMARY KEY,
    location_id      text NOT NULL,
    provider_id      text NOT NULL,
    operatory_id     text,
    -- Provider time. For a PMS appointment with a pattern, from the first to the
    -- last provider ('X') unit; may be empty when the provider is not needed.
    during           tstzrange NOT NULL,
    -- Chair (operatory) time: the whole appointment.
    operatory_during tstzrange NOT NULL CHECK (NOT isempty(operatory_during)),
    kind             text NOT NULL CHECK (kind IN ('hold', 'booking', 'pms')),
    active           boolean NOT NULL DEFAULT true,
    organization_id  text,
    plan_id          text,
    patient_id       text,
    appointment_id   text,
    status           text,
    changed_at       timestamptz,
    expires_at       timestamptz,
    created_at       timestamptz NOT NULL,
    released_at      timestamptz,
    release_reason   text,
    CONSTRAINT reservations_provider_free
        EXCLUDE USING gist (location_id WITH =, provider_id WITH =, during WITH &&) WHERE (active AND kind <> 'pms'),
    CONSTRAINT reservations_operatory_free
        EXCLUDE USING gist (location_id WITH =, operatory_id WITH =, operatory_during WITH &&)
        WHERE (active AND kind <> 'pms' AND operatory_id IS NOT NULL)
);
CREATE UNIQUE INDEX reservations_pms_appointment ON reservations (location_id, appointment_id) WHERE kind = 'pms';
CREATE INDEX reservations_active_during ON reservations USING gist (location_id, operatory_during) WHERE active;
-- Holds check PMS appointments (outside the constraint) with this one.
CREATE INDEX reservations_pms_during ON reservations USING gist (location_id, operatory_during) WHERE active AND kind = 'pms';
CREATE INDEX reservations_hold_expiry ON reservations (expires_at) WHERE active AND kind = 'hold';
CREATE INDEX reservations_plan ON reservations (organization_id, plan_id) WHERE active;

-- Every offer made to a patient (initial, nudge with fresh openings, re-offer).
CREATE TABLE offers (
    id                 bigserial PRIMARY KEY,
    organization_id    text NOT NULL,
    plan_id            text NOT NULL,
    location_id        text NOT NULL,
    kind               text NOT NULL CHECK (kind IN ('initial', 'nudge', 'reoffer')),
    path               text NOT NULL CHECK (path IN ('same_visit', 'self_book', 'callback')),
    channel            text NOT NULL,
    openings           jsonb NOT NULL DEFAULT '[]',
    deposit_cents      bigint NOT NULL DEFAULT 0,
    link_expires_at    timestamptz,
    plan_accepted_at   timestamptz NOT NULL,
    sent_at            timestamptz NOT NULL,
    sla_seconds        int NOT NULL,
    sla_met            boolean NOT NULL,
    used_at            timestamptz,
    FOREIGN KEY (organization_id, plan_id) REFERENCES plans ON DELETE CASCADE
);
CREATE INDEX offers_plan ON offers (organization_id, plan_id, id);

-- Escalated cases for treatment coordinators. Every task has an owner: the plan's
-- coordinator, the location's default, or the location queue ('location:<id>').
CREATE TABLE coordinator_tasks (
    id               bigserial PRIMARY KEY,
    organization_id  text NOT NULL,
    plan_id          text NOT NULL,
    location_id      text NOT NULL,
    owner_id         text NOT NULL,
    kind             text NOT NULL CHECK (kind IN ('callback', 'no_availability', 'escalation', 'same_visit')),
    urgent           boolean NOT NULL DEFAULT false,
    reason           text NOT NULL,
    context          jsonb NOT NULL DEFAULT '{}',
    status           text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved', 'cancelled')),
    outcome          text,
    note             text,
    created_at       timestamptz NOT NULL,
    resolved_at      timestamptz
);
CREATE INDEX coordinator_tasks_open ON coordinator_tasks (location_id, owner_id, created_at) WHERE status = 'open';
CREATE INDEX coordinator_tasks_plan ON coordinator_tasks (organization_id, plan_id);

-- Durable timers of the escalation ladders, claimed with FOR UPDATE SKIP LOCKED and a lease.
CREATE TABLE timers (
    id               bigserial PRIMARY KEY,
    organization_id  text NOT NULL,
    plan_id          text NOT NULL,
    location_id      text NOT NULL,
    kind             text NOT NULL,
    step             int NOT NULL DEFAULT 0,
    due_at           timestamptz NOT NULL,
    payload          jsonb NOT NULL DEFAULT '{}',
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'cancelled')),
    attempts         int NOT NULL DEFAULT 0,
    leased_until     timestamptz,
    leased_by        text,
    created_at       timestamptz NOT NULL,
    fired_at         timestamptz
);
CREATE INDEX timers_due ON timers (due_at) WHERE status = 'pending';
CREATE INDEX timers_plan ON timers (organization_id, plan_id) WHERE status = 'pending';
