-- Foundation: organizations and locations, the consumer inbox, the outbox,
-- versioned routing rules and the simulation clock.
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE organizations (
    id          text PRIMARY KEY,
    name        text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- A location appears the first time an event names it; its time zone comes
-- from schedule.changed (default UTC until then).
CREATE TABLE locations (
    id                      text PRIMARY KEY,
    organization_id         text NOT NULL REFERENCES organizations (id),
    name                    text NOT NULL DEFAULT '',
    time_zone               text NOT NULL DEFAULT 'UTC',
    default_coordinator_id  text,
    time_increment_minutes  int NOT NULL DEFAULT 10 CHECK (time_increment_minutes IN (5, 10, 15)),
    created_at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX locations_organization ON locations (organization_id);

-- Every consumed event id, per consumer group: the dedupe key of at-least-once delivery.
CREATE TABLE inbox (
    consumer     text NOT NULL,
    source       text NOT NULL,
    event_id     text NOT NULL,
    topic        text NOT NULL,
    partition    int NOT NULL,
    "offset"     bigint NOT NULL,
    received_at  timestamptz NOT NULL,
    PRIMARY KEY (consumer, source, event_id)
);
CREATE INDEX inbox_received ON inbox (received_at);

-- Outgoing events, written in the same transaction as the state change they
-- announce, published by `planrouter worker relay`. `shard` is a hash of the key:
-- one relay at a time owns a shard (advisory lock), which keeps per-key order.
CREATE TABLE outbox (
    id            bigserial PRIMARY KEY,
    topic         text NOT NULL,
    key           bytea,
    shard         smallint NOT NULL,
    event_id      text NOT NULL,
    payload       bytea NOT NULL,
    headers       jsonb NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL,
    published_at  timestamptz,
    -- A row the broker refuses for good (e.g. larger than the topic allows) is set
    -- aside after a few attempts instead of blocking its shard; `planrouter outbox
    -- status` counts them and last_error says why.
    attempts      int NOT NULL DEFAULT 0,
    last_error    text,
    failed_at     timestamptz
);
CREATE INDEX outbox_pending ON outbox (shard, id) WHERE published_at IS NULL AND failed_at IS NULL;
CREATE INDEX outbox_published ON outbox (published_at) WHERE published_at IS NOT NULL;

-- Routing rules, one row per loaded version of an organization's YAML file.
-- organization_id '*' holds rules for organizations without their own.
CREATE TABLE routing_rules (
    organization_id  text NOT NULL,
    version          int NOT NULL CHECK (version > 0),
    source_yaml      text NOT NULL,
    checksum         text NOT NULL,
    loaded_at        timestamptz NOT NULL,
    PRIMARY KEY (organization_id, version)
);

-- The simulated clock: when a worker runs with --clock simulated it reads "now"
-- from this single row, which a simulation advances.
CREATE TABLE sim_clock (
    id   boolean PRIMARY KEY DEFAULT true CHECK (id),
    now  timestamptz NOT NULL
);
