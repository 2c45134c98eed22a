-- The real-browser tests' cases (scripts/browser-test, scripts/screenshots), relative to now():
-- org-b with two locations and three escalated cases with open tasks (one booked from the case page,
-- one resolved, one left for the queue). The phone-sized booking page books a case that came
-- through the pipeline instead (scripts/browser-test).
INSERT INTO organizations (id, name) VALUES ('org-b', 'Bright Smiles');
INSERT INTO locations (id, organization_id, name, time_zone, default_coordinator_id)
VALUES ('loc-north', 'org-b', 'North Clinic', 'America/New_York', 'anna'), ('loc-south', 'org-b', 'South Clinic', 'America/Chicago', 'anna');

INSERT INTO plans (organization_id, plan_id, location_id, patient_id, provider_id, accepted_at, acceptance_source,
                   total_fee_cents, patient_portion_cents, patient, status, source, source_event_id, received_at, updated_at)
SELECT 'org-b', c.plan, c.loc, 'pat-' || c.plan, 'prov-' || c.plan, now() - c.age, 'chair', c.fee, c.portion, c.patient::jsonb, c.status,
       'browser-test', 'seed-' || c.plan, now() - c.age, now() - c.age
FROM (VALUES
    ('case-ann', 'loc-north', interval '30 hours', 245000, 98000, '{"first_name": "Ann", "last_name": "Example", "phone": "+15550100001", "email": "ann@example.org", "sms_consent": true, "preferred_channel": "sms"}', 'escalated'),
    ('case-ben', 'loc-north', interval '5 hours', 120000, 40000, '{"first_name": "Ben", "last_name": "Sample", "phone": "+15550100002", "sms_consent": false}', 'escalated'),
    ('case-cat', 'loc-south', interval '200 hours', 380000, 150000, '{"first_name": "Cat", "last_name": "O''Neil <b>", "phone": "+15550100003", "sms_consent": true}', 'escalated')
) AS c(plan, loc, age, fee, portion, patient, status);

INSERT INTO plan_procedures (organization_id, plan_id, line, code_system, code, description, tooth, fee_cents)
VALUES ('org-b', 'case-ann', 1, 'CDT', 'D6010', 'implant body', '19', 200000), ('org-b', 'case-ann', 2, 'CDT', 'D0367', 'CBCT scan', NULL, 45000),
       ('org-b', 'case-ben', 1, 'CDT', 'D2740', 'crown', '3', 120000),
       ('org-b', 'case-cat', 1, 'CDT', 'D7240', 'impacted tooth removal', '32', 380000);

INSERT INTO classifications (organization_id, plan_id, location_id, tier, path, chair_minutes, value_cents, deposit_cents,
                             first_offer_sla_seconds, hold_window_seconds, rules_version, reasons, accepted_at, classified_at)
SELECT p.organization_id, p.plan_id, p.location_id, c.tier, 'self_book', c.minutes, p.total_fee_cents, c.deposit, c.sla, 172800, 1,
       c.reasons, p.accepted_at, p.accepted_at
FROM plans p JOIN (VALUES
    ('case-ann', 'surgical', 120, 50000, 900, ARRAY['D6010 in D6000-D6199 -> surgical; 120 min; deposit 50000 cents; SLA 15 min']),
    ('case-ben', 'major', 90, 0, 3600, ARRAY['D2740 in D2700-D2799 -> major; 90 min; SLA 60 min']),
    ('case-cat', 'surgical', 60, 50000, 900, ARRAY['D7240 in D7000-D7999 -> surgical; 60 min; SLA 15 min'])
) AS c(plan, tier, minutes, deposit, sla, reasons) ON p.plan_id = c.plan AND p.organization_id = 'org-b';

-- Openings held for Ann: three mornings starting tomorrow, inside their providers' schedules.
INSERT INTO schedule_blocks (organization_id, location_id, provider_id, during, changed_at)
SELECT 'org-b', 'loc-north', 'prov-' || plan, tstzrange(d - interval '1 hour', d + interval '9 hours'), now() - interval '1 day'
FROM unnest(ARRAY['case-ann']) AS plan,
     LATERAL (SELECT date_trunc('hour', now()) + interval '1 day' * g + interval '1 day' AS d FROM generate_series(0, 2) g) s;
INSERT INTO reservations (location_id, provider_id, operatory_id, during, operatory_during, kind, organization_id, plan_id, patient_id,
                          expires_at, created_at)
SELECT 'loc-north', 'prov-' || plan, 'op-' || plan, tstzrange(d, d + interval '90 minutes'), tstzrange(d, d + interval '90 minutes'),
       'hold', 'org-b', plan, 'pat-' || plan, now() + interval '2 days', now()
FROM unnest(ARRAY['case-ann']) AS plan,
     LATERAL (SELECT date_trunc('hour', now()) + interval '1 day' * g + interval '1 day' AS d FROM generate_series(0, 2) g) s;

INSERT INTO offers (organization_id, plan_id, location_id, kind, path, channel, openings, deposit_cents, link_expires_at,
                    plan_accepted_at, sent_at, sla_seconds, sla_met)
SELECT 'org-b', p.plan_id, p.location_id, 'initial', 'self_book', 'sms',
       (SELECT jsonb_agg(jsonb_build_object('reservation_id', r.id, 'provider_id', r.provider_id) ORDER BY r.id) FROM reservations r
        WHERE r.organization_id = 'org-b' AND r.plan_id = p.plan_id),
       c.deposit_cents, now() + interval '2 days', p.accepted_at, p.accepted_at + interval '4 minutes', c.first_offer_sla_seconds, true
FROM plans p JOIN classifications c ON c.organization_id = p.organization_id AND c.plan_id = p.plan_id
WHERE p.organization_id = 'org-b' AND p.plan_id = 'case-ann';
INSERT INTO offers (organization_id, plan_id, location_id, kind, path, channel, openings, deposit_cents, link_expires_at,
                    plan_accepted_at, sent_at, sla_seconds, sla_met)
SELECT 'org-b', p.plan_id, p.location_id, 'initial', 'self_book', 'sms', '[]', 0, p.accepted_at + interval '2 days', p.accepted_at,
       p.accepted_at + interval '20 minutes', 900, false
FROM plans p WHERE p.organization_id = 'org-b' AND p.plan_id IN ('case-ben', 'case-cat');

INSERT INTO plan_events (organization_id, plan_id, location_id, kind, source, event_id, occurred_at, recorded_at, detail)
SELECT p.organization_id, p.plan_id, p.location_id, e.kind, e.source, e.kind || '-' || p.plan_id, p.accepted_at + e.after,
       p.accepted_at + e.after, '{}'
FROM plans p CROSS JOIN (VALUES ('accepted', 'opendental', interval '0'), ('offered', 'planrouter/offer', interval '4 minutes'),
                                ('nudged', 'planrouter/escalation', interval '1 day'), ('escalated', 'planrouter/escalation', interval '26 hours')) AS e(kind, source, after)
WHERE p.organization_id = 'org-b' AND p.status = 'escalated' AND p.accepted_at + e.after < now();

INSERT INTO coordinator_tasks (organization_id, plan_id, location_id, owner_id, kind, urgent, reason, context, created_at)
SELECT p.organization_id, p.plan_id, p.location_id, 'anna', 'escalation', c.tier = 'surgical',
       'no booking ' || floor(extract(epoch FROM now() - p.accepted_at) / 3600) || ' h after acceptance; 1 nudge(s) sent',
       jsonb_build_object('tier', c.tier, 'why', 'the patient did not book from the link or the nudge'), now() - (now() - p.accepted_at) / 2
FROM plans p JOIN classifications c ON c.organization_id = p.organization_id AND c.plan_id = p.plan_id
WHERE p.organization_id = 'org-b' AND p.status = 'escalated';

-- The texts Ann was sent (the case page lists them): the offer and the nudge, both delivered.
INSERT INTO message_deliveries (organization_id, message_id, event_source, event_id, plan_id, location_id, patient_id, kind, channel,
                                recipient, body, status, attempts, send_after, next_attempt_at, created_at, updated_at, sent_at, delivered_at)
SELECT 'org-b', 'msg-' || m.kind, 'planrouter/offer', 'evt-' || m.kind, p.plan_id, p.location_id, p.patient_id, m.kind, 'sms',
       p.patient->>'phone', 'Hi Ann, pick your appointment: …', 'delivered', 1, p.accepted_at + m.after, p.accepted_at + m.after,
       p.accepted_at + m.after, p.accepted_at + m.after + interval '5 seconds', p.accepted_at + m.after + interval '2 seconds',
       p.accepted_at + m.after + interval '5 seconds'
FROM plans p CROSS JOIN (VALUES ('offer', interval '4 minutes'), ('nudge', interval '1 day')) AS m(kind, after)
WHERE p.organization_id = 'org-b' AND p.plan_id = 'case-ann';
