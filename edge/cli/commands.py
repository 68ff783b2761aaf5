"""One handler per `station-edge` subcommand: open the station, call a service, print the result."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Collection
from datetime import datetime

from edge.cli.inventory_commands import warn_shortages
from edge.cli.output import emit_json, table
from edge.domain.booking_state import BookingState
from edge.domain.capacity import StartOption
from edge.domain.money import parse_money
from edge.domain.slots import resolve_wall_time
from edge.services import arrivals, assignments, availability, bay_now, bookings, found_work, members, waitlist, \
    walk_in_reserve
from edge.services.booking_store import BookingRecord, LegRecord
from edge.services.setup import init_station
from edge.services.station import DB_FILENAME, Station
from edge.cli.session import open_station
from edge.errors import InvalidInput, NotFound, RuleViolation, StoreError
from edge.store.catalog import sizes_json
from edge.store.db import Store
from edge.store.outbox import pending_count, pending_events


RESERVED_MARK = "*"


def _station(args: argparse.Namespace) -> Station:
    return open_station(args.data_dir)


def _aware(station: Station, instant: datetime) -> datetime:
    """A CLI time without an offset is the station's local wall time (the first of a repeated hour)."""
    return resolve_wall_time(instant, station.tz)


def starts_table(station: Station, options: list[StartOption], per_line: int = 12,
                 reserved: Collection[StartOption] = ()) -> str:
    """Free starts per bay (per route of bays, for work in legs), wrapped so a busy day still fits
    an 80-column terminal; a start on the walk-in reserve (`reserved`) is marked `*`."""
    by_bay: dict[str, list[str]] = {}
    for option in options:
        mark = RESERVED_MARK if option in reserved else ""
        by_bay.setdefault(route(option), []).append(f"{station.local(option.start):%H:%M}{mark}")
    rows = [
        (bay if i == 0 else "", " ".join(times[i : i + per_line]))
        for bay, times in by_bay.items()
        for i in range(0, len(times), per_line)
    ]
    return table(("bay", "free starts"), rows)


def route(option: StartOption) -> str:
    """The bays a start would use, in order: 'L1' for one leg, 'L1>W1' for a lift then the wash."""
    return ">".join(leg.bay_id for leg in option.legs) or option.bay_id


def _legs_table(station: Station, booking: BookingRecord, legs: tuple[LegRecord, ...]) -> str:
    """The booking's legs, the one its car is on marked once it has arrived."""
    here = booking.leg if booking.state in (BookingState.CHECKED_IN, BookingState.IN_SERVICE) else None
    return table(("leg", "bay", "start", "end", "services", "tech", ""), [
        (leg.seq + 1, leg.bay_id, f"{station.local(leg.start_at):%H:%M}", f"{station.local(leg.end_at):%H:%M}",
         "+".join(leg.services), leg.technician_id or "", "<- car here" if leg.seq == here else "")
        for leg in legs
    ])


def _print_bookings(station: Station, records: list[BookingRecord]) -> None:
    rows = [
        (b.code, f"{station.local(b.start_at):%m-%d %H:%M}", f"{station.local(b.end_at):%H:%M}", b.bay_id,
         b.plate, "+".join(b.package_code and [b.package_code] or b.services), b.state, b.progress or "",
         b.technician_id or "", station.money(b.price_minor))
        for b in records
    ]
    print(table(("code", "start", "end", "bay", "plate", "services", "state", "progress", "tech", "price"), rows))


def _result(args: argparse.Namespace, station: Station, booking: BookingRecord, verb: str,
            extra: dict | None = None) -> None:
    legs = bookings.legs(station, booking.id)
    if args.json:
        emit_json({**booking.to_json(), "legs": [leg.to_json() for leg in legs], **(extra or {})})
        return
    print(f"{verb} {booking.code} ({booking.id})")
    _print_bookings(station, [booking])
    if len(legs) > 1:
        print(_legs_table(station, booking, legs))
    if booking.overlap_allowed:
        print("overlap allowed: a fleet booked this car for overlapping work on purpose")


def init(args: argparse.Namespace) -> None:
    station = init_station(args.config, args.data_dir)
    catalog = station.catalog()
    summary = {
        "station": station.settings.station.id, "data_dir": str(args.data_dir), "epoch": station.epoch,
        "bays": len(catalog.bays), "services": len(catalog.services), "technicians": len(catalog.technicians),
        "catalog_version": catalog.version,
    }
    if args.json:
        emit_json(summary)
    else:
        print(f"station {summary['station']} ready in {args.data_dir}: {summary['bays']} bays, "
              f"{summary['services']} services, {summary['technicians']} technicians "
              f"(catalogue {summary['catalog_version']})")


def db_upgrade(args: argparse.Namespace) -> None:
    from edge.store.migrate import current_revisions

    path = args.data_dir / DB_FILENAME
    if not path.is_file():
        raise StoreError(f"no station database in {args.data_dir}: run `station-edge init --config FILE` first")
    Store(path).close()
    revisions = sorted(current_revisions(path))
    if args.json:
        emit_json({"revisions": revisions})
    else:
        print(f"database at revision {', '.join(revisions)}")


def services(args: argparse.Namespace) -> None:
    station = _station(args)
    catalog = station.catalog()
    items = [
        {"code": s.code, "kind": "service", "name_zh": s.name_zh, "name_en": s.name_en, "category": s.category,
         "duration_minutes": s.duration_minutes, "buffer_minutes": s.buffer_minutes, "price_minor": s.price_minor,
         "currency": station.settings.station.currency, "skill": s.skill,
         "bays": [b.id for b in catalog.bays.values() if s.code in b.services], "by_size": sizes_json(s.by_size)}
        for s in catalog.services.values()
    ] + [
        {"code": p.code, "kind": "package", "name_zh": p.name_zh, "name_en": p.name_en, "services": list(p.services),
         "duration_minutes": catalog.plan([p.code]).duration_minutes, "price_minor": p.price_minor,
         "currency": station.settings.station.currency}
        for p in catalog.packages.values()
    ]
    if args.json:
        emit_json(items)
        return
    print(table(
        ("code", "name", "名称", "min", "price", "bays / items"),
        [(i["code"], i["name_en"], i["name_zh"], i["duration_minutes"], station.money(i["price_minor"]),
          ",".join(i.get("bays") or i.get("services") or [])) for i in items],
    ))


def slots(args: argparse.Namespace) -> None:
    station = _station(args)
    options = availability.free_starts(station, day=args.date, services=args.services, bay_id=args.bay, tier=args.tier,
                                       phone=args.phone, plate=args.plate, hold=args.hold, channel=args.channel,
                                       size_class=args.size)
    held = walk_in_reserve.held_back(station, args.date, now=station.clock())
    reserved = {o for o in options if walk_in_reserve.touches(o, held)}
    if args.json:
        emit_json([
            {"bay": o.bay_id, "start": station.local(o.start).isoformat(), "end": station.local(o.end).isoformat(),
             "technicians": list(o.technician_ids), "reserved": o in reserved,
             "legs": [{"bay": leg.bay_id, "start": station.local(leg.starts[0]).isoformat(),
                       "technicians": list(leg.technician_ids)} for leg in o.legs]}
            for o in options
        ])
        return
    if not options:
        print(f"no free start on {args.date} for {'+'.join(args.services)}")
        return
    print(starts_table(station, options, reserved=reserved))
    if reserved:
        cutoff = station.walk_in_reserve.cutoff_minutes
        print(f"{RESERVED_MARK} on the walk-in reserve: walk-ins and the counter may book it now, the phone and the "
              f"app from {cutoff} minutes before its start")


def book(args: argparse.Namespace) -> None:
    station = _station(args)
    booking = bookings.book(
        station, services=args.services, start=_aware(station, args.start), plate=args.plate, bay_id=args.bay,
        technician=args.technician, phone=args.phone, member_id=args.member, channel=args.channel, hold=args.hold, notes=args.notes,
        deposit_minor=parse_money(args.deposit, station.settings.station.currency_minor_digits, field="deposit"),
        deposit_method=args.deposit_method,
        foreign_plate=args.foreign, size_class=args.size,
    )
    _result(args, station, booking, "held" if args.hold else "booked")
    warn_shortages(station, booking.services)


def confirm(args: argparse.Namespace) -> None:
    station = _station(args)
    _result(args, station, bookings.confirm(station, args.booking), "confirmed")


def cancel(args: argparse.Namespace) -> None:
    station = _station(args)
    _result(args, station, bookings.cancel(station, args.booking, reason=args.reason), "cancelled")


def reschedule(args: argparse.Namespace) -> None:
    station = _station(args)
    moved = bookings.reschedule(station, args.booking, start=_aware(station, args.start), bay_id=args.bay,
                                technician=args.technician)
    _result(args, station, moved, "moved")


def reassign(args: argparse.Namespace) -> None:
    station = _station(args)
    _result(args, station, assignments.reassign(station, args.booking, args.technician, leg=args.leg), "reassigned")


def checkin(args: argparse.Namespace) -> None:
    """An arrival typed at the counter: the arrival service decides; a refusal exits 6 or 7 with its reason."""
    station = _station(args)
    by_booking = args.booking is not None
    outcome = arrivals.arrive(station, args.booking if by_booking else args.plate,
                              by=arrivals.By.BOOKING if by_booking else arrivals.By.PLATE)
    if isinstance(outcome, arrivals.Refused):
        raise outcome.error()
    if isinstance(outcome, arrivals.NoMatch):
        raise NotFound(outcome.message) if outcome.is_plate else InvalidInput("plate", outcome.message)
    if isinstance(outcome, arrivals.Prompt):
        choices = "; ".join(f"{c.booking.code} {c.booking.plate} {station.local(c.booking.start_at):%H:%M}"
                            for c in outcome.candidates)
        raise RuleViolation(f"plate {outcome.read} may be any of: {choices}; check in with --booking CODE")
    _result(args, station, outcome.booking, "checked in")


def progress(args: argparse.Namespace) -> None:
    station = _station(args)
    _result(args, station, bookings.set_progress(station, args.booking, args.stage), "progress")


def complete(args: argparse.Namespace) -> None:
    station = _station(args)
    _result(args, station, bookings.complete(station, args.booking), "completed")


def no_show(args: argparse.Namespace) -> None:
    station = _station(args)
    _result(args, station, bookings.mark_no_show(station, args.booking), "no-show")


def show(args: argparse.Namespace) -> None:
    from edge.cli.found_work_commands import work_table

    station = _station(args)
    record = bookings.booking(station, args.booking)
    added = found_work.work_on(station, record.id)
    _result(args, station, record, "booking", {"added_work": [work.to_json() for work in added]})
    if added and not args.json:
        print(work_table(station, added))


def expire(args: argparse.Namespace) -> None:
    station = _station(args)
    expired = bookings.expire_holds(station)
    if args.json:
        emit_json([b.to_json() for b in expired])
    else:
        print(f"{len(expired)} hold(s) expired")


def bookings_of_day(args: argparse.Namespace) -> None:
    """The day's bookings; today's listing ends with what is in each bay now (the board's model)."""
    station = _station(args)
    today = station.local(station.clock()).date()
    day = args.date or today
    records = bookings.bookings_on(station, day)
    if args.json:
        emit_json([b.to_json() for b in records])
        return
    if not records:
        print(f"no bookings on {day}")
    else:
        _print_bookings(station, records)
    if day == today:
        print()
        print(bays_table(bay_now.bays_now(station)))


def bays_table(bays: list[bay_now.BayNow]) -> str:
    """Each bay's state, sensor, the car in it and those waiting for it, and any disagreement."""
    return table(("bay", "state", "sensor", "in bay", "waiting", "alert"), [
        (b.bay_id, b.state, b.sensor, f"{b.in_bay.code} {b.in_bay.plate}" if b.in_bay else "",
         " ".join(f"{w.code} {w.plate}" for w in b.waiting), b.disagreement_text())
        for b in bays
    ])


def waitlist_list(args: argparse.Namespace) -> None:
    station = _station(args)
    entries = waitlist.entries(station, day=args.date)
    if args.json:
        emit_json([e.to_json() for e in entries])
        return
    print(table(
        ("id", "day", "plate", "services", "window", "state", "offered booking"),
        [(e.id, e.day, e.plate, "+".join(e.services),
          f"{station.local(e.window_start):%H:%M}-{station.local(e.window_end):%H:%M}", e.state,
          e.offered_booking_id or "") for e in entries],
    ))


def waitlist_join(args: argparse.Namespace) -> None:
    station = _station(args)
    entry = waitlist.join(station, services=args.services, day=args.date, plate=args.plate, phone=args.phone,
                          earliest=args.earliest, latest=args.latest, foreign_plate=args.foreign)
    # joining may have been answered at once with an offer
    entry = next(e for e in waitlist.entries(station, day=args.date) if e.id == entry.id)
    if args.json:
        emit_json(entry.to_json())
    else:
        offer = f"; offered booking {entry.offered_booking_id}" if entry.offered_booking_id else ""
        print(f"waitlist entry {entry.id} for {entry.plate} on {entry.day}: {entry.state}{offer}")


def waitlist_cancel(args: argparse.Namespace) -> None:
    station = _station(args)
    entry = waitlist.cancel_entry(station, args.entry)
    if args.json:
        emit_json(entry.to_json())
    else:
        print(f"waitlist entry {entry.id} cancelled")


def outbox(args: argparse.Namespace) -> None:
    station = _station(args)
    with station.store.read() as conn:
        events = pending_events(conn, limit=args.limit)
        total = pending_count(conn)
    if args.json:
        emit_json({"pending": total, "events": events})
        return
    print(f"{total} event(s) waiting for HQ")
    if events:
        print(table(("stream", "seq", "type", "entity", "hlc"),
                    [(e["stream"], e["seq"], e["type"], e["entity_id"], e["hlc"]) for e in events]))


def _print_member(args: argparse.Namespace, profile: members.MemberProfile, verb: str) -> None:
    if args.json:
        emit_json(profile.to_json())
        return
    m = profile.member
    print(f"{verb} member {m.id}")
    print(table(("phone", "name", "tier", "credit", "vehicles"),
                [(m.phone, m.name, m.tier, m.credit_score, " ".join(profile.plates))]))


def member_add(args: argparse.Namespace) -> None:
    station = _station(args)
    profile = members.enroll(station, phone=args.phone, name=args.name, tier=args.tier, plates=tuple(args.plate),
                             birthday=args.birthday, foreign_plates=args.foreign)
    _print_member(args, profile, "enrolled")


def member_vehicle(args: argparse.Namespace) -> None:
    station = _station(args)
    _print_member(args, members.add_vehicle(station, phone=args.phone, plate=args.plate, foreign_plate=args.foreign),
                  "updated")


def member_show(args: argparse.Namespace) -> None:
    station = _station(args)
    _print_member(args, members.lookup(station, args.key), "")


def demo(args: argparse.Namespace) -> None:
    from edge.cli import demo as demo_module

    demo_module.run(args)


def run_daemon(args: argparse.Namespace) -> int:
    import asyncio

    from edge.daemon import runner

    logging.getLogger().setLevel(logging.INFO)  # the daemon's log is its journal
    # pymodbus logs every failed poll; the drivers log a sensor's loss and recovery once each
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    return asyncio.run(runner.run(_station(args)))


def token(args: argparse.Namespace) -> None:
    """The signed QR token of a booking: its current one (a reschedule issues a new one), valid on its day."""
    station = _station(args)
    record = bookings.booking(station, args.booking)
    text = bookings.booking_token(station, record.id)
    emit_json({"booking": record.code, "token": text}) if args.json else print(text)
