-- Deposits through Stripe Checkout (docs/payments.md). One row per deposit request
-- (payments.deposit-requests, recorded by `worker payments` in the transaction that records
-- the event id in its inbox); the session loop of the same worker creates the Checkout
-- Session (Idempotency-Key = deposit_id) and stores its id and URL; the Stripe webhook moves
-- the row to paid or expired. Money is integer cents.
CREATE TABLE deposits (
    organization_id     text NOT NULL,
    deposit_id          text NOT NULL,
    plan_id             text NOT NULL,
    location_id         text NOT NULL,
    patient_id          text NOT NULL,
    tier                text,
    -- deposit_to_confirm: the booking is provisional until paid; deposit_after_booking: booked already.
    policy              text NOT NULL CHECK (policy IN ('deposit_to_confirm', 'deposit_after_booking')),
    -- The provisional booking's hold (deposit_to_confirm), confirmed when the deposit is paid.
    reservation_id      bigint,
    amount_cents        bigint NOT NULL CHECK (amount_cents > 0),
    currency            text NOT NULL,
    status              text NOT NULL DEFAULT 'requested' CHECK (status IN ('requested', 'paid', 'expired', 'refunded')),
    -- When the deposit (and a provisional hold) runs out.
    due_by              timestamptz NOT NULL,
    checkout_session_id text,
    checkout_url        text,
    session_attempts    int NOT NULL DEFAULT 0,
    next_attempt_at     timestamptz NOT NULL,
    last_error          text,
    requested_at        timestamptz NOT NULL,
    paid_at             timestamptz,
    closed_at           timestamptz,
    PRIMARY KEY (organization_id, deposit_id)
);
CREATE INDEX deposits_plan ON deposits (organization_id, plan_id);
-- The session loop's queue: requested deposits without a Checkout Session yet.
CREATE INDEX deposits_need_session ON deposits (next_attempt_at) WHERE status = 'requested' AND checkout_session_id IS NULL;
CREATE UNIQUE INDEX deposits_session ON deposits (checkout_session_id) WHERE checkout_session_id IS NOT NULL;

-- Stripe webhook events applied, by Stripe's event id: a redelivered or replayed event is a no-op.
CREATE TABLE stripe_webhook_events (
    organization_id text NOT NULL,
    event_id        text NOT NULL,
    event_type      text NOT NULL,
    received_at     timestamptz NOT NULL,
    PRIMARY KEY (organization_id, event_id)
);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['deposits', 'stripe_webhook_events'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (planrouter_tenant_visible(organization_id))', t);
    END LOOP;
END $$;

-- Coordinator tasks about deposits and patients' replies.
ALTER TABLE coordinator_tasks
    DROP CONSTRAINT coordinator_tasks_kind_check,
    ADD CONSTRAINT coordinator_tasks_kind_check
        CHECK (kind IN ('callback', 'no_availability', 'escalation', 'same_visit', 'routing_stalled',
                        'deposit_refund', 'deposit_unconfirmed', 'patient_reply'));

-- Deposit conversion by tier, for analysts and `planrouter report`: deposits requested on the
-- location-local days from_date..to_date (default: the 30 days ending on as_of's local day), and
-- how they stood at as_of: paid (refunded ones were paid), expired, still open; the conversion is
-- paid / requested. Like the other analytics functions, as of a given instant.
CREATE FUNCTION analytics_deposit_conversion(from_date date DEFAULT NULL, to_date date DEFAULT NULL, as_of timestamptz DEFAULT now(),
                                             organization text DEFAULT NULL)
RETURNS TABLE (
    level            text,
    organization_id  text,
    tier             text,
    requested        bigint,
    requested_cents  bigint,
    paid             bigint,
    paid_cents       bigint,
    expired          bigint,
    refunded         bigint,
    conversion_pct   numeric(5,2)
)
LANGUAGE sql STABLE AS $$
    WITH d AS (
        SELECT d.organization_id, coalesce(d.tier, 'unclassified') AS tier, d.amount_cents,
               d.paid_at IS NOT NULL AND d.paid_at <= as_of AS paid,
               d.status = 'expired' AND d.closed_at <= as_of AS expired,
               d.status = 'refunded' AND d.closed_at <= as_of AS refunded
        FROM deposits d
        JOIN locations l ON l.organization_id = d.organization_id AND l.id = d.location_id
        WHERE d.requested_at <= as_of
          AND (organization IS NULL OR d.organization_id = organization)
          AND (d.requested_at AT TIME ZONE l.time_zone)::date
              BETWEEN coalesce(from_date, coalesce(to_date, (as_of AT TIME ZONE l.time_zone)::date) - 29)
                  AND coalesce(to_date, (as_of AT TIME ZONE l.time_zone)::date)
    )
    SELECT CASE GROUPING(d.organization_id, d.tier) WHEN 3 THEN 'all' WHEN 2 THEN 'tier' WHEN 1 THEN 'organization' ELSE 'organization_tier' END,
           d.organization_id, d.tier,
           count(*), coalesce(sum(d.amount_cents), 0)::bigint,
           count(*) FILTER (WHERE d.paid), coalesce(sum(d.amount_cents) FILTER (WHERE d.paid), 0)::bigint,
           count(*) FILTER (WHERE d.expired), count(*) FILTER (WHERE d.refunded),
           round(100.0 * count(*) FILTER (WHERE d.paid) / nullif(count(*), 0), 2)::numeric(5,2)
    FROM d
    GROUP BY GROUPING SETS ((), (d.tier), (d.organization_id), (d.organization_id, d.tier))
$$;

CREATE VIEW analytics_deposit_conversion AS SELECT * FROM analytics_deposit_conversion(NULL, NULL, now());
