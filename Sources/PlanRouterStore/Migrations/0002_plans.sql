-- Accepted plans, their procedures, an append-only history and classifications.
CREATE TABLE plans (
    organization_id        text NOT NULL REFERENCES organizations (id),
    plan_id                text NOT NULL,
    location_id            text NOT NULL REFERENCES locations (id),
    patient_id             text NOT NULL,
    provider_id            text NOT NULL,
    coordinator_id         text,
    accepted_at            timestamptz NOT NULL,
    acceptance_source      text NOT NULL,
    total_fee_cents        bigint NOT NULL CHECK (total_fee_cents >= 0),
    patient_portion_cents  bigint CHECK (patient_portion_cents >= 0),
    -- Contact details and preferences (PHI). Kept only here; never logged.
    patient                jsonb NOT NULL,
    -- Case lifecycle.
    status                 text NOT NULL DEFAULT 'accepted'
        CHECK (status IN ('accepted', 'offered', 'booked', 'declined', 'cancelled', 'revoked', 'escalated')),
    source                 text NOT NULL,
    source_event_id        text NOT NULL,
    received_at            timestamptz NOT NULL,
    updated_at             timestamptz NOT NULL,
    PRIMARY KEY (organization_id, plan_id)
);
CREATE INDEX plans_location_status ON plans (location_id, status);
CREATE INDEX plans_accepted ON plans (accepted_at);

CREATE TABLE plan_procedures (
    organization_id  text NOT NULL,
    plan_id          text NOT NULL,
    line             int NOT NULL,
    code_system      text NOT NULL,
    code             text NOT NULL,
    description      text NOT NULL,
    tooth            text,
    fee_cents        bigint NOT NULL CHECK (fee_cents >= 0),
    minutes          int,
    provider_role    text,
    PRIMARY KEY (organization_id, plan_id, line),
    FOREIGN KEY (organization_id, plan_id) REFERENCES plans ON DELETE CASCADE
);

-- Append-only history of everything that happened to a plan (for analytics).
-- kind: accepted, accepted_stale (an older acceptance that arrived late),
-- classified, offered, ... (later stages add their own kinds).
CREATE TABLE plan_events (
    id               bigserial PRIMARY KEY,
    organization_id  text NOT NULL,
    plan_id          text NOT NULL,
    location_id      text NOT NULL,
    kind             text NOT NULL,
    source           text,
    event_id         text,
    occurred_at      timestamptz NOT NULL,
    recorded_at      timestamptz NOT NULL,
    detail           jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX plan_events_plan ON plan_events (organization_id, plan_id, id);
CREATE INDEX plan_events_kind_time ON plan_events (kind, occurred_at);

CREATE TABLE classifications (
    id                        bigserial PRIMARY KEY,
    organization_id           text NOT NULL,
    plan_id                   text NOT NULL,
    location_id               text NOT NULL,
    tier                      text NOT NULL,
    path                      text NOT NULL CHECK (path IN ('same_visit', 'self_book', 'callback')),
    chair_minutes             int NOT NULL,
    value_cents               bigint NOT NULL,
    deposit_cents             bigint NOT NULL,
    first_offer_sla_seconds   int NOT NULL,
    hold_window_seconds       int NOT NULL,
    provider_role             text,
    rules_version             int NOT NULL,
    reasons                   text[] NOT NULL,
    accepted_at               timestamptz NOT NULL,
    classified_at             timestamptz NOT NULL,
    FOREIGN KEY (organization_id, plan_id) REFERENCES plans ON DELETE CASCADE
);
CREATE INDEX classifications_plan ON classifications (organization_id, plan_id, id DESC);
