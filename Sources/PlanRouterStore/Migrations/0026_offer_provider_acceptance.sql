-- Time to first offer and the first-offer SLA from the provider's acceptance of the message
-- (issue 16): the notify worker records which offer a message carries (offer_id, from
-- patient.messages) and when the provider accepted it (sent_at); analytics_plan_facts counts an
-- offer from then. Offers without a recorded message keep counting from their release.
ALTER TABLE message_deliveries ADD COLUMN offer_id bigint;
CREATE INDEX message_deliveries_offer ON message_deliveries (organization_id, offer_id) WHERE offer_id IS NOT NULL;

-- Restated from 0010 with only the offers lateral changed (a replaced function must be whole).
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
    age_days                 int,
    version_accepted_at      timestamptz,
    owner_id                 text,
    owner_kind               text
)
LANGUAGE sql STABLE AS $$
    SELECT p.organization_id, l.id, l.time_zone, p.plan_id, p.patient_id,
           coalesce(v.detail ->> 'provider_id', p.provider_id), k.coordinator_id,
           coalesce(c.tier, 'unclassified'), c.path, s.status,
           p.first_accepted_at, (p.first_accepted_at AT TIME ZONE l.time_zone)::date,
           k.value_cents, (k.value_cents / 100.0)::numeric(14,2), k.patient_portion_cents,
           c.first_offer_sla_seconds,
           o.first_offer_at,
           -- greatest() skips NULLs, so only for cases that have the time at all.
           CASE WHEN o.first_offer_at IS NOT NULL THEN greatest(extract(epoch FROM o.first_offer_at - p.first_accepted_at), 0)::double precision END,
           coalesce(o.offers_sent, 0), coalesce(o.initial_offers, 0), coalesce(o.initial_offers_sla_met, 0),
           b.booked_at, b.via, (b.booked_at AT TIME ZONE l.time_zone)::date,
           CASE WHEN b.booked_at IS NOT NULL THEN greatest(extract(epoch FROM b.booked_at - p.first_accepted_at), 0)::double precision END,
           b.booked_at IS NOT NULL AND (b.booked_at AT TIME ZONE l.time_zone)::date = (p.first_accepted_at AT TIME ZONE l.time_zone)::date,
           CASE
               WHEN s.status IN ('declined', 'cancelled', 'revoked') THEN 'closed'
               WHEN s.status = 'booked' THEN 'scheduled'
               ELSE 'unscheduled'
           END,
           (as_of AT TIME ZONE l.time_zone)::date - (p.first_accepted_at AT TIME ZONE l.time_zone)::date,
           coalesce(v.occurred_at, p.first_accepted_at),
           -- Who owns the case as of as_of: its newest open task's owner, else the plan's
           -- coordinator, else the location's default coordinator, else the location queue.
           coalesce(t.owner_id, k.coordinator_id, l.default_coordinator_id, 'location:' || l.id),
           CASE
               WHEN t.owner_id IS NOT NULL THEN 'task'
               WHEN k.coordinator_id IS NOT NULL THEN 'coordinator'
               WHEN l.default_coordinator_id IS NOT NULL THEN 'location_default'
               ELSE 'unassigned'
           END
    FROM plans p
    -- The version in force: the newest acceptance or modification known by as_of.
    LEFT JOIN LATERAL (
        SELECT e.location_id, e.occurred_at, e.detail
        FROM plan_events e
        WHERE e.organization_id = p.organization_id AND e.plan_id = p.plan_id AND e.kind IN ('accepted', 'modified')
          AND e.occurred_at <= as_of AND e.recorded_at <= as_of
        ORDER BY e.occurred_at DESC, e.id DESC LIMIT 1
    ) v ON true
    -- Its values. Events recorded before migration 0010 carry no coordinator or patient
    -- portion (nor provider), and a case with no such event at all (fixtures) has none: for
    -- those the plans row stands in.
    CROSS JOIN LATERAL (
        SELECT coalesce((v.detail ->> 'total_fee_cents')::bigint, p.total_fee_cents) AS value_cents,
               CASE WHEN v.detail ? 'patient_portion_cents' THEN (v.detail ->> 'patient_portion_cents')::bigint
                    ELSE p.patient_portion_cents END AS patient_portion_cents,
               CASE WHEN v.detail ? 'coordinator_id' THEN v.detail ->> 'coordinator_id' ELSE p.coordinator_id END AS coordinator_id
    ) k
    JOIN locations l ON l.organization_id = p.organization_id AND l.id = coalesce(v.location_id, p.location_id)
    -- The status: the last status change known by as_of, in the order PlanRouter applied them
    -- (a join, not a scalar subquery: that would run once per reference to the status).
    LEFT JOIN LATERAL (
        SELECT analytics_status_after(e.kind) AS status
        FROM plan_events e
        WHERE e.organization_id = p.organization_id AND e.plan_id = p.plan_id
          AND analytics_status_after(e.kind) IS NOT NULL
          AND e.occurred_at <= as_of AND e.recorded_at <= as_of
        ORDER BY e.id DESC LIMIT 1
    ) s0 ON true
    CROSS JOIN LATERAL (SELECT coalesce(s0.status, 'accepted') AS status) s
    LEFT JOIN LATERAL (
        SELECT c.tier, c.path, c.first_offer_sla_seconds
        FROM classifications c
        WHERE c.organization_id = p.organization_id AND c.plan_id = p.plan_id AND c.classified_at <= as_of
        ORDER BY c.classified_at DESC, c.id DESC LIMIT 1
    ) c ON true
    LEFT JOIN LATERAL (
        -- Every acceptance version's offers from the first acceptance on, counted from when they
        -- reached the patient's provider by as_of: an offer whose message the notify worker
        -- recorded counts from the provider's acceptance of it (message_deliveries.sent_at; not
        -- yet accepted or failed = not yet offered); an offer without a message (a callback or
        -- no-availability task) or whose message no notify worker recorded, from its release.
        SELECT min(x.contact_at) AS first_offer_at, count(*) AS offers_sent,
               count(*) FILTER (WHERE x.kind = 'initial') AS initial_offers,
               count(*) FILTER (WHERE x.kind = 'initial'
                                  AND x.contact_at - x.plan_accepted_at <= make_interval(secs => x.sla_seconds)) AS initial_offers_sla_met
        FROM (
            SELECT o.kind, o.plan_accepted_at, o.sla_seconds,
                   CASE WHEN d.sent_at IS NULL AND d.recorded THEN NULL ELSE coalesce(d.sent_at, o.released_at) END AS contact_at
            FROM offers o
            LEFT JOIN LATERAL (
                SELECT min(md.sent_at) FILTER (WHERE md.sent_at <= as_of) AS sent_at, true AS recorded
                FROM message_deliveries md
                WHERE md.organization_id = o.organization_id AND md.offer_id = o.id AND md.created_at <= as_of
                HAVING count(*) > 0
            ) d ON true
            WHERE o.organization_id = p.organization_id AND o.plan_id = p.plan_id
              AND o.plan_accepted_at >= p.first_accepted_at AND o.released_at <= as_of
        ) x
        WHERE x.contact_at IS NOT NULL
    ) o ON true
    LEFT JOIN LATERAL (
        SELECT e.occurred_at AS booked_at, e.detail ->> 'via' AS via
        FROM plan_events e
        WHERE e.organization_id = p.organization_id AND e.plan_id = p.plan_id
          AND e.kind = 'booked' AND e.occurred_at <= as_of AND e.recorded_at <= as_of
          AND NOT coalesce((e.detail ->> 'time_unknown')::boolean, false)
        ORDER BY e.occurred_at, e.id LIMIT 1
    ) b ON true
    LEFT JOIN LATERAL (
        SELECT t.owner_id
        FROM coordinator_tasks t
        WHERE t.organization_id = p.organization_id AND t.plan_id = p.plan_id AND t.created_at <= as_of
          AND (t.resolved_at IS NULL OR t.resolved_at > as_of)
        ORDER BY t.created_at DESC, t.id DESC LIMIT 1
    ) t ON true
    WHERE p.first_accepted_at <= as_of AND p.received_at <= as_of
$$;
