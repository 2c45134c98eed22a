#!/usr/bin/python3
"""Produces plan.accepted CloudEvents (NDJSON on stdin, from `planrouter bench generate acceptances`)
for scripts/bench-compare: each stamped with the send instant as its `time` and `accepted_at`, so
"acceptance -> offer recorded" can be read from either side's database. --rate 0 sends as fast as
the producer can; otherwise paced at --rate per second. Keyed by location, like the connectors."""
import argparse
import datetime as dt
import json
import sys
import time

from confluent_kafka import Producer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--brokers", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--rate", type=float, default=0)
    args = ap.parse_args()
    producer = Producer({"bootstrap.servers": args.brokers, "enable.idempotence": True, "linger.ms": 5 if args.rate == 0 else 0})
    # Connect, fetch the topic's metadata and get the idempotent producer's id before the first
    # stamp, so the first events do not carry the producer's start-up (~1 s) in their latency.
    producer.list_topics(args.topic, timeout=10)
    time.sleep(0.5)  # the idempotent producer asks for its id right after connecting
    failed = []
    sent = 0
    started = time.monotonic()
    for line in sys.stdin:
        if not line.strip():
            continue
        if args.rate > 0:
            due = started + sent / args.rate
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
        event = json.loads(line)
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")
        event["time"] = now
        event["data"]["accepted_at"] = now
        producer.produce(
            args.topic, key=event["data"]["location_id"], value=json.dumps(event, separators=(",", ":")),
            headers=[("content-type", b"application/cloudevents+json")],
            on_delivery=lambda err, _m: err and failed.append(str(err)))
        producer.poll(0)
        sent += 1
    producer.flush(60)
    if failed:
        sys.exit(f"compare producer: {len(failed)} of {sent} not delivered: {failed[0]}")
    print(f"{sent} sent in {time.monotonic() - started:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
