"""`station-edge demo`: a demo station from config.example.toml, walked through one booking."""

from __future__ import annotations

import argparse
import tempfile
from datetime import timedelta
from pathlib import Path

from edge.cli.commands import starts_table
from edge.cli.output import table
from edge.services import availability, bookings
from edge.services.setup import init_station
from edge.store.outbox import pending_count, pending_events

EXAMPLE_CONFIG = Path(__file__).resolve().parents[2] / "config.example.toml"


def run(args: argparse.Namespace) -> None:
    data_dir = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="station-edge-demo-"))
    config = Path(args.config) if args.config else EXAMPLE_CONFIG
    station = init_station(config, data_dir)
    s = station.settings.station
    print(f"Demo station {s.id} ({s.name}) in {data_dir}\n")

    catalog = station.catalog()
    print(table(
        ("bay", "kind", "can do"),
        [(b.id, b.kind, ", ".join(sorted(b.services))) for b in catalog.bays.values()],
    ))
    service = args.service or station.settings.services[0].code
    item = catalog.services[service]
    now = station.clock()
    options = []
    for days_ahead in range(0, 8):
        day = station.local(now).date() + timedelta(days=days_ahead)
        options = availability.free_starts(station, day=day, services=[service])
        if options:
            break
    if not options:
        print(f"\nno free start for {service} in the next week")
        return
    print(f"\nFree starts on {day} for {item.code} ({item.name_en} / {item.name_zh}, "
          f"{item.duration_minutes} min, {station.money(item.price_minor)}):")
    print(starts_table(station, options))

    first = options[0]
    booking = bookings.book(station, services=[service], start=first.start, plate=args.plate,
                            bay_id=first.bay_id, phone=args.phone, channel="phone")
    print(f"\nBooked {booking.code}: {booking.plate} on {booking.bay_id} at "
          f"{station.local(booking.start_at):%Y-%m-%d %H:%M} (technician {booking.technician_id or '-'})")
    try:
        bookings.book(station, services=[service], start=first.start, plate="沪Z99999", bay_id=first.bay_id)
    except Exception as err:  # the point of the demo: the second claim on the cell is refused
        print(f"A second booking of the same cell is refused: {err}")
    arrival = max(now, booking.start_at - timedelta(minutes=10))
    checked = bookings.check_in(station, plate=booking.plate, now=arrival)
    print(f"The car arrives at {station.local(arrival):%H:%M} and is checked in by plate: "
          f"{checked.code} is {checked.state} ({checked.progress})")

    with station.store.read() as conn:
        events = pending_events(conn, limit=20)
        total = pending_count(conn)
    print(f"\n{total} event(s) wait in the outbox for HQ (the link is not configured in this demo):")
    print(table(("stream", "seq", "type", "entity"), [(e["stream"], e["seq"], e["type"], e["entity_id"]) for e in events]))
    print(f"\nTry: station-edge --data-dir {data_dir} bookings --date {day}")
    print(f"     station-edge --data-dir {data_dir} tui      (the forecourt terminal)")
    station.store.close()
