-- Message delivery (the notify worker, docs/messaging.md). One row per patient.messages
-- message id and organization: the UNIQUE key is what makes a re-published event (relay
-- replay, a new event id for the same message) one delivery and one provider call.
CREATE TABLE message_deliveries (
    id               bigserial PRIMARY KEY,
    organization_id  text NOT NULL,
    message_id       text NOT NULL,
    -- The event that brought it (the first one; duplicates are absorbed by the key).
    event_source     text NOT NULL,
    event_id         text NOT NULL,
    plan_id          text NOT NULL,
    location_id      text NOT NULL,
    patient_id       text NOT NULL,
    kind             text NOT NULL,
    channel          text NOT NULL CHECK (channel IN ('sms', 'email')),
    -- Contact and content (PHI): kept only here, never logged, never in last_error.
    recipient        text NOT NULL,
    subject          text,
    body             text NOT NULL,
    status           text NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed', 'opted_out', 'cancelled')),
    provider_id      text,
    attempts         int NOT NULL DEFAULT 0,
    -- An error class and provider code (e.g. `twilio_21211`, `http_503`, `timeout`): no PHI.
    last_error       text,
    -- Quiet hours: not before this instant.
    send_after       timestamptz NOT NULL,
    next_attempt_at  timestamptz NOT NULL,
    -- A sender's claim: a row `sending` past its lease is claimed again (and looked up at the
    -- provider first, since the earlier call may have gone through).
    leased_by        text,
    leased_until     timestamptz,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    sent_at          timestamptz,
    delivered_at     timestamptz,
    UNIQUE (organization_id, message_id),
    FOREIGN KEY (organization_id, plan_id) REFERENCES plans ON DELETE CASCADE
);
CREATE INDEX message_deliveries_due ON message_deliveries (next_attempt_at) WHERE status IN ('queued', 'sending');
CREATE INDEX message_deliveries_plan ON message_deliveries (organization_id, plan_id);
-- "Has this number had a text from us": the first one carries the opt-out line.
CREATE INDEX message_deliveries_recipient ON message_deliveries (organization_id, channel, recipient);

-- Numbers that texted STOP (or an equivalent) to an organization's sender; START removes them.
CREATE TABLE sms_suppressions (
    organization_id  text NOT NULL,
    -- E.164 (PHI).
    phone            text NOT NULL,
    keyword          text NOT NULL,
    opted_out_at     timestamptz NOT NULL,
    PRIMARY KEY (organization_id, phone)
);
