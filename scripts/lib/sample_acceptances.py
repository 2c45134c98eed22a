#!/usr/bin/env python3
"""Prints N realistic plan.accepted data objects (NDJSON) for the demo and benchmarks."""
import json, random, sys
from datetime import datetime, timedelta, timezone

n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
seed = int(sys.argv[2]) if len(sys.argv) > 2 else 7
rng = random.Random(seed)
CASES = [  # (weight, procedures) - fees in cents
    (10, [("D6010", "Surgical placement of implant body", 240000), ("D6065", "Implant supported porcelain crown", 180000)]),
    (25, [("D2740", "Crown - porcelain/ceramic", 135000)]),
    (10, [("D3330", "Endodontic therapy, molar", 110000), ("D2740", "Crown - porcelain/ceramic", 135000)]),
    (15, [("BOTOX-20U", "Botox 20 units", 42000, "service")]),
    (25, [("D1351", "Sealant - per tooth", 6500)]),
    (10, [("D4341", "Periodontal scaling and root planing, 4+ teeth", 28000)]),
    (5, [("D7210", "Surgical extraction", 40000)]),
]
names = ["Maria", "James", "Aiko", "Olu", "Priya", "Tom", "Lena", "Diego"]
start = datetime(2026, 11, 30, 14, 0, tzinfo=timezone.utc)
for i in range(n):
    _, procs = rng.choices(CASES, weights=[c[0] for c in CASES])[0]
    loc = rng.randrange(1, 5)
    procedures = []
    for p in procs:
        d = {"code": p[0], "description": p[1], "fee_cents": p[2]}
        if len(p) > 3:
            d["code_system"] = p[3]; d["minutes"] = 30
        procedures.append(d)
    consent = rng.random() < 0.8
    print(json.dumps({
        "organization_id": "org-demo", "location_id": f"loc-{loc}", "plan_id": f"plan-{i+1}",
        "accepted_at": (start + timedelta(seconds=i * 7)).isoformat(), "acceptance_source": "chair",
        "patient": {"id": f"pat-{i+1}", "first_name": rng.choice(names), "phone": f"+1555{rng.randrange(1000000, 9999999)}",
                    "preferred_channel": "sms", "sms_consent": consent, "still_in_office": rng.random() < 0.2},
        "provider_id": f"prov-{loc}-{rng.randrange(1, 4)}", "procedures": procedures,
        "total_fee_cents": sum(p["fee_cents"] for p in procedures)}))
