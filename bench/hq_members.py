"""HQ member ledger benchmark: events/s that HQ's ingest stores, applies and acks when they are
points and prepaid entries (folded into member balances, one member.snapshot per changed member
per transaction) against the same number of booking events (the baseline, measured in the same
run on a fresh database of the same kind).

The ingest is fed in-process (`sync.hq.ingest.Ingest.handle_many`, signed batches of 200 events,
one group of 8 messages per transaction, as `station-edge hq run` groups them): no broker, so the
ratio is the member ledger's own cost. SQLite file always; PostgreSQL too when it answers at
127.0.0.1:5432 (a database of its own per run, as bench/hq_ingest.py makes them).

Usage: python bench/hq_members.py [--quick] [--events N] [--members N]
Headline figures come last, one per line: hq_members_<db>_events_per_s=, hq_members_<db>_vs_bookings=.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from hq_ingest import hq_database, postgres_available  # noqa: E402  (HQ databases as the ingest bench makes them)
from sqlalchemy import text  # noqa: E402

from edge.domain.hlc import Hlc  # noqa: E402
from sync.envelope import batch_message, encode, new_message  # noqa: E402
from sync.hq.db import create_schema, open_engine  # noqa: E402
from sync.hq.ingest import Ingest  # noqa: E402
from sync.signing import Keyring, Signer  # noqa: E402

STATION, EPOCH = "BENCH-001", "epoch-1"
SIGNER = Signer.generate(f"{STATION}-k1")
BATCH, GROUP = 200, 8
LEDGER_TYPES = (("points.earned", "points", 10), ("points.redeemed", "points", -3),
                ("prepaid.top_up", "amount_minor", 5000), ("prepaid.debit", "amount_minor", -1200))


def member_events(count: int, members: int) -> dict[str, list[dict]]:
    """The member stream (profiles, then points) and the payment stream (prepaid), as a station writes them."""
    wall = int(time.time() * 1000)
    streams: dict[str, list[dict]] = {"member": [], "payment": []}

    def add(stream: str, event_type: str, entity_id: str, body: dict) -> None:
        items = streams[stream]
        items.append({"seq": len(items) + 1, "type": event_type, "entity_id": entity_id,
                      "idem_key": f"{stream}-{len(items) + 1}", "hlc": Hlc(wall + len(items), 0).encode(),
                      "body": body})

    for m in range(members):
        add("member", "member.created", f"m{m}", {"member": {"id": f"m{m}", "phone": f"139{m:08d}", "name": "",
                                                             "tier": "gold", "version": 1}})
    for i in range(count - members):
        event_type, field, amount = LEDGER_TYPES[i % len(LEDGER_TYPES)]
        member_id = f"m{(i // len(LEDGER_TYPES)) % members}"  # each member gets each kind, in turn
        add("payment" if event_type.startswith("prepaid") else "member", event_type, member_id,
            {"entry_id": f"e{i}", "member_id": member_id, field: amount})
    return streams


def booking_events(count: int) -> dict[str, list[dict]]:
    wall = int(time.time() * 1000)
    return {"booking": [{"seq": i, "type": "booking.confirmed", "entity_id": f"bk{i}", "idem_key": f"b-{i}",
                         "hlc": Hlc(wall + i, 0).encode(), "body": {"booking_id": f"bk{i}"}}
                        for i in range(1, count + 1)]}


def run(url: str, streams: dict[str, list[dict]]) -> float:
    """Events/s through the ingest; checks every event was applied."""
    engine = open_engine(url)
    create_schema(engine)
    hq = Ingest(engine, Keyring({SIGNER.kid: SIGNER.public_pem()}), clock=lambda: datetime.now(UTC))
    hq.handle(f"st/{STATION}/up/hello", encode(SIGNER.sign(new_message("hello", station=STATION, epoch=EPOCH,
                                                                        applied={}, heads={}))))
    messages = [(f"st/{STATION}/up/{stream}",
                 encode(SIGNER.sign(batch_message(STATION, EPOCH, stream, items[i:i + BATCH], head=len(items),
                                                  known_acked=0))))
                for stream, items in streams.items() for i in range(0, len(items), BATCH)]
    total = sum(len(items) for items in streams.values())
    started = time.perf_counter()
    for i in range(0, len(messages), GROUP):
        hq.handle_many(messages[i:i + GROUP])
    seconds = time.perf_counter() - started
    with engine.connect() as conn:
        applied = conn.execute(text("SELECT count(*) FROM hq_event")).scalar()
    engine.dispose()
    if applied != total:
        raise SystemExit(f"only {applied} of {total} events applied")
    return total / seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 events (ends within ~30 s)")
    parser.add_argument("--events", type=int, help="events per run (default 20,000; 2,000 with --quick)")
    parser.add_argument("--members", type=int, default=200, help="members the entries are spread over (default 200)")
    args = parser.parse_args()
    count = args.events or (2_000 if args.quick else 20_000)
    kinds = ["sqlite"] + (["postgresql"] if postgres_available() else [])
    results = []
    with tempfile.TemporaryDirectory(prefix="hq-members-bench-") as tmp:
        for kind in kinds:
            with hq_database(kind, Path(tmp), "bookings") as url:
                baseline = run(url, booking_events(count))
            with hq_database(kind, Path(tmp), "members") as url:
                ledger = run(url, member_events(count, args.members))
            print(f"{kind:<10} bookings {baseline:8.0f} events/s   points+prepaid over {args.members} members "
                  f"{ledger:8.0f} events/s")
            results.append((kind, ledger, ledger / baseline))
    for kind, ledger, ratio in results:
        print(f"hq_members_{kind}_events_per_s={ledger:.0f}")
        print(f"hq_members_{kind}_vs_bookings={ratio:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
