-- First offers are measured to the moment the patient's message is released to delivery,
-- not to the moment the offer row is written (issue 12, point 7). A self-book offer written in
-- a location's quiet hours waits for their end (its message's send_after), so before this
-- migration such an offer counted as "sent" and "SLA met" while the patient saw nothing for
-- hours.
--
-- offers.sent_at keeps its meaning: when the offer worker wrote the offer (its clock). The new
-- offers.released_at is when the first contact goes to delivery: the message's send_after when
-- deferred, else sent_at (callbacks and same-visit offers reach the coordinator and the front
-- desk at once; nudges fire only outside quiet hours). sla_met compares released_at with the
-- acceptance. Rows written before this migration get released_at = sent_at (what they were
-- measured by; their send_after is not recorded anywhere else).
--
-- A row inserted without released_at (an older writer, a fixture) gets sent_at through the
-- trigger below: a column default cannot name another column.
ALTER TABLE offers ADD COLUMN released_at timestamptz;
UPDATE offers SET released_at = sent_at;
ALTER TABLE offers ALTER COLUMN released_at SET NOT NULL;
ALTER TABLE offers ADD CONSTRAINT offers_released_after_written CHECK (released_at >= sent_at);

CREATE FUNCTION offers_released_at_default() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.released_at := coalesce(NEW.released_at, NEW.sent_at);
    RETURN NEW;
END
$$;

CREATE TRIGGER offers_released_at_default BEFORE INSERT ON offers
    FOR EACH ROW EXECUTE FUNCTION offers_released_at_default();

-- analytics_plan_facts (0004) with first_offer_at, offers_sent and the SLA counts taken from
-- released_at; same columns, so every analytics object built on it follows (docs/analytics.md).
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
    JOIN locations l ON l.id = p.location_id
    LEFT JOIN LATERAL (
        SELECT c.tier, c.path, c.first_offer_sla_seconds
        FROM classifications c
        WHERE c.organization_id = p.organization_id AND c.plan_id = p.plan_id
        ORDER BY c.id DESC LIMIT 1
    ) c ON true
    LEFT JOIN LATERAL (
        -- Released to delivery by as_of (0008): a message held for quiet hours counts from its release.
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
