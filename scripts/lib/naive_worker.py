#!/usr/bin/python3
"""The baseline of scripts/bench-compare: what a competent team writes first.

One process consumes plan.accepted and, per event, in ONE transaction: records the event id
(duplicates skipped), stores the plan, classifies it (code ranges), reads the location's schedule
and the holds already placed, picks up to three openings one per day starting tomorrow, inserts
the holds (an exclusion constraint forbids double booking), the offer and, with no channel, a
coordinator task; commits; then publishes the patient message and commits the consumer offset.
Nothing is batched or cached. It is honest work, not a straw man: the same delivery guarantees
(the event id and its effects commit together before the offset), the same schedule data (the
`schedule_blocks` mirror that `planrouter availability import` loaded), the same three openings.

Tables live in schema `naive` of the database it is given. Debian packages python3-confluent-kafka
and python3-psycopg (installed by scripts/bench-compare).
"""
import argparse
import datetime as dt
import json
import signal
import sys
import time

import psycopg
from confluent_kafka import Consumer, KafkaException, Producer

SCHEMA = """
CREATE SCHEMA IF NOT EXISTS naive;
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE TABLE IF NOT EXISTS naive.processed (event_id text PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE TABLE IF NOT EXISTS naive.plans (
    organization_id text, plan_id text, location_id text, patient_id text, provider_id text, tier text,
    chair_minutes int, deposit_cents bigint, total_fee_cents bigint, accepted_at timestamptz, status text,
    PRIMARY KEY (organization_id, plan_id));
CREATE TABLE IF NOT EXISTS naive.holds (
    id bigserial PRIMARY KEY, organization_id text, location_id text, provider_id text, plan_id text,
    during tstzrange NOT NULL, expires_at timestamptz,
    EXCLUDE USING gist (organization_id WITH =, location_id WITH =, provider_id WITH =, during WITH &&));
CREATE TABLE IF NOT EXISTS naive.offers (
    id bigserial PRIMARY KEY, organization_id text, plan_id text, channel text, openings jsonb,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE TABLE IF NOT EXISTS naive.tasks (
    id bigserial PRIMARY KEY, organization_id text, plan_id text, reason text,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp());
"""

SURGICAL = ("D6", "D7")
AESTHETIC = ("BOTOX", "BTX", "DYSPORT", "XEOMIN", "FILLER", "FIL-", "INJ-", "LASER", "PEEL", "AES-")
SLOT = dt.timedelta(minutes=10)


def classify(procedures):
    codes = [p.get("code", "") for p in procedures]
    if any(c.startswith(SURGICAL) for c in codes):
        tier, minutes, percent = "surgical", 60 * len(codes), 10
    elif any(c.upper().startswith(AESTHETIC) for c in codes):
        tier, minutes, percent = "aesthetic", 30 * len(codes), 15
    else:
        tier, minutes, percent = "restorative", 45 * len(codes), 10
    return tier, min(minutes, 180), percent


def openings(cur, org, loc, provider, minutes, now):
    """Up to three openings, one per day, the treating provider first, from tomorrow on."""
    start = (now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    end = start + dt.timedelta(days=30)
    cur.execute(
        "SELECT provider_id, lower(during), upper(during) FROM schedule_blocks"
        " WHERE organization_id = %s AND location_id = %s AND during && tstzrange(%s, %s) ORDER BY lower(during)",
        (org, loc, start, end))
    blocks = cur.fetchall()
    cur.execute(
        "SELECT provider_id, lower(during), upper(during) FROM naive.holds"
        " WHERE organization_id = %s AND location_id = %s AND during && tstzrange(%s, %s)",
        (org, loc, start, end))
    busy = {}
    for p, s, e in cur.fetchall():
        busy.setdefault(p, []).append((s, e))
    length = dt.timedelta(minutes=minutes)
    picked, days = [], set()
    # The treating provider's blocks first, then the others'.
    for p, s, e in sorted(blocks, key=lambda b: (b[0] != provider, b[1])):
        day = s.date()
        if day in days:
            continue
        t = max(s, start)
        while t + length <= e:
            if all(not (t < be and bs < t + length) for bs, be in busy.get(p, [])):
                picked.append((p, t, t + length))
                days.add(day)
                break
            t += SLOT
        if len(picked) == 3:
            break
    return sorted(picked, key=lambda o: o[1])


def apply(conn, event):
    d = event["data"]
    org, plan, loc = d["organization_id"], d["plan_id"], d["location_id"]
    with conn.transaction():
        cur = conn.cursor()
        cur.execute("INSERT INTO naive.processed (event_id) VALUES (%s) ON CONFLICT DO NOTHING", (event["id"],))
        if cur.rowcount == 0:
            return None
        tier, minutes, percent = classify(d.get("procedures", []))
        fee = int(d.get("total_fee_cents", 0))
        deposit = fee * percent // 100 if tier != "restorative" else 0
        accepted = dt.datetime.fromisoformat(d["accepted_at"].replace("Z", "+00:00"))
        cur.execute(
            "INSERT INTO naive.plans VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'accepted')"
            " ON CONFLICT (organization_id, plan_id) DO UPDATE SET accepted_at = excluded.accepted_at",
            (org, plan, loc, d["patient"]["id"], d["provider_id"], tier, minutes, deposit, fee, accepted))
        patient = d["patient"]
        channel = "sms" if patient.get("sms_consent") and patient.get("phone") else ("email" if patient.get("email") else None)
        now = dt.datetime.now(dt.timezone.utc)
        found = openings(cur, org, loc, d["provider_id"], minutes, now) if channel else []
        for p, s, e in found:
            cur.execute(
                "INSERT INTO naive.holds (organization_id, location_id, provider_id, plan_id, during, expires_at)"
                " VALUES (%s, %s, %s, %s, tstzrange(%s, %s), %s)",
                (org, loc, p, plan, s, e, now + dt.timedelta(hours=48)))
        if found:
            shown = [{"provider_id": p, "start": s.isoformat()} for p, s, _ in found]
            cur.execute(
                "INSERT INTO naive.offers (organization_id, plan_id, channel, openings) VALUES (%s, %s, %s, %s)",
                (org, plan, channel, json.dumps(shown)))
            cur.execute("UPDATE naive.plans SET status = 'offered' WHERE organization_id = %s AND plan_id = %s", (org, plan))
            return {"plan_id": plan, "organization_id": org, "channel": channel, "openings": shown, "deposit_cents": deposit}
        cur.execute("INSERT INTO naive.tasks (organization_id, plan_id, reason) VALUES (%s, %s, %s)",
                    (org, plan, "no channel" if not channel else "no opening"))
        cur.execute("UPDATE naive.plans SET status = 'escalated' WHERE organization_id = %s AND plan_id = %s", (org, plan))
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--brokers", required=True)
    ap.add_argument("--topic", default="plan.accepted")
    ap.add_argument("--messages-topic", default="naive.patient-messages")
    ap.add_argument("--group", default="naive-worker")
    ap.add_argument("--properties", default="", help="extra librdkafka properties, k=v,k=v")
    args = ap.parse_args()
    extra = dict(kv.split("=", 1) for kv in args.properties.split(",") if kv)

    conn = psycopg.connect(args.database_url, autocommit=True)
    # PlanRouter's mirror tables are row-level secured per organization; this worker reads every one.
    conn.execute("SET planrouter.organization = '*'")
    conn.execute(SCHEMA)
    consumer = Consumer({
        "bootstrap.servers": args.brokers, "group.id": args.group, "enable.auto.commit": False,
        "auto.offset.reset": "earliest", **extra})
    producer = Producer({"bootstrap.servers": args.brokers, "enable.idempotence": True, "linger.ms": 0})
    consumer.subscribe([args.topic])
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    applied = 0
    while not stopping:
        m = consumer.poll(0.2)
        if m is None:
            continue
        if m.error():
            print(f"naive worker: {m.error()}", file=sys.stderr)
            continue
        try:
            event = json.loads(m.value())
            message = apply(conn, event)
        except (ValueError, KeyError, TypeError) as e:
            # Bad input: say so (no patient data) and go on, like a dead letter.
            print(f"naive worker: skipped offset {m.offset()}: {type(e).__name__}", file=sys.stderr)
            message = None
        if message:
            producer.produce(args.messages_topic, key=m.key(), value=json.dumps(message))
            producer.poll(0)
        consumer.commit(message=m, asynchronous=True)
        applied += 1
    producer.flush(10)
    consumer.close()
    print(f"naive worker: {applied} events handled", file=sys.stderr)


if __name__ == "__main__":
    try:
        main()
    except KafkaException as e:
        sys.exit(f"naive worker: {e}")
