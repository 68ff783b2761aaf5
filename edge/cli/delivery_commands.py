"""`station-edge service ...` and `bay ...`: what the station sells, service reports, next service due,
feedback, complaints, bays out of service, and the offers made when the station cannot serve a booking."""

from __future__ import annotations

import argparse

from edge.cli import commands, session
from edge.cli.output import emit_json, table
from edge.domain.booking_state import BookingState
from edge.domain.delivery import WAIT, Offer, OfferKind, ServiceReportInput
from edge.services import bookings, delivery, disruptions, extra_parts
from edge.services.delivery import ServiceReportRecord
from edge.services.disruptions import BayState, DisruptionRecord
from edge.services.station import Station
from edge.cli.session import open_station


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add `service` (what the station sells and how it was delivered) and `bay` to the station-edge parser."""
    group = sub.add_parser("service", help="service items and packages, service reports, feedback, complaints, "
                                           "bookings the station cannot serve")
    service_sub = group.add_subparsers(dest="service_command", required=True, metavar="ACTION")

    p = service_sub.add_parser("list", parents=[common], help="list service items and packages")
    p.set_defaults(handler=commands.services)

    p = service_sub.add_parser("report", parents=[common],
                               help="complete a booking with its service report "
                                    "(or add to a completed booking's report)")
    p.add_argument("booking", help="booking id or code")
    p.add_argument("--work", default="", help="work done (default: the services' names)")
    p.add_argument("--finding", action="append", default=[], help="something found on the car (repeatable)")
    p.add_argument("--advice", action="append", default=[], help="advice for the customer (repeatable)")
    p.add_argument("--part", action="append", default=[], type=_part, metavar="SKU=QTY",
                   help="a part used beyond the services' standard materials; taken out of stock (repeatable)")
    p.add_argument("--mileage", type=_kilometres, metavar="KM", help="odometer reading, km")
    p.set_defaults(handler=_report_service)

    p = service_sub.add_parser("show-report", parents=[common], help="show a booking's service report")
    p.add_argument("booking", help="booking id or code")
    p.set_defaults(handler=_show_report)

    p = service_sub.add_parser("due", parents=[common], help="when a car is due again, per service it has had")
    p.add_argument("plate", help="licence plate")
    p.set_defaults(handler=_next_service)

    p = service_sub.add_parser("feedback", parents=[common], help="record a customer's rating of a completed booking")
    p.add_argument("booking", help="booking id or code")
    p.add_argument("--rating", type=int, choices=range(1, 6), required=True, metavar="1-5",
                   help="1 (bad) to 5 (excellent); 2 or less raises a complaint")
    p.add_argument("--comment", default="", help="what the customer said")
    p.set_defaults(handler=_feedback)

    p = service_sub.add_parser("waive-parts", parents=[common],
                               help="let the customer off a booking's extra parts (needs a manager)")
    p.add_argument("booking", help="booking id or code")
    p.add_argument("--reason", required=True, help="why they are not billed")
    p.set_defaults(handler=_waive_parts)

    p = service_sub.add_parser("feedback-due", parents=[common], help="feedback requests due now and not answered yet")
    p.set_defaults(handler=_feedback_due)

    p = service_sub.add_parser("complaints", parents=[common], help="complaints raised by low ratings (open ones)")
    p.add_argument("--all", action="store_true", help="every complaint, whatever its state")
    p.set_defaults(handler=_complaints)

    p = sub.add_parser("bay", help="bays: list, take out of service, put back")
    q = p.add_subparsers(dest="bay_command", required=True, metavar="ACTION")
    r = q.add_parser("list", parents=[common], help="every bay and whether it is in service")
    r.set_defaults(handler=_bay_list)
    r = q.add_parser("out-of-service", parents=[common], help="take a bay out of service; lists the bookings affected")
    r.add_argument("bay", help="bay id")
    r.add_argument("--reason", required=True, help="why (kept with the outage)")
    r.set_defaults(handler=_bay_out)
    r = q.add_parser("in-service", parents=[common], help="put a bay back in service")
    r.add_argument("bay", help="bay id")
    r.set_defaults(handler=_bay_in)

    p = service_sub.add_parser("disruptions", parents=[common],
                               help="bookings the station cannot serve as planned, with their offers (default: open "
                                    "offers); resolve: the customer's choice")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--bay", help="the confirmed bookings on this bay (out of service)")
    which.add_argument("--technician", help="the confirmed bookings with this technician (absent)")
    p.set_defaults(handler=_disruptions)
    q = p.add_subparsers(dest="disruptions_command", metavar="ACTION")
    r = q.add_parser("resolve", parents=[common], help="record the customer's choice and apply it")
    r.add_argument("booking", help="booking id or code")
    r.add_argument("--choice", type=_choice, required=True, help="other_bay, neighbour:ID, coupon or wait")
    r.set_defaults(handler=_resolve)


def _part(text: str) -> tuple[str, int]:
    sku, sep, quantity = text.partition("=")
    if not sep or not sku.strip() or not quantity.strip().isdigit() or int(quantity) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a part: write SKU=QTY, e.g. FILTER-AIR=1")
    return sku.strip(), int(quantity)


def _choice(text: str) -> str:
    """One of the answers an offer can have; whether it was offered to the booking is the service's rule."""
    choice = text.strip()
    kind, _, neighbour = choice.partition(":")
    if choice == WAIT or (kind in set(OfferKind) and bool(neighbour) == (kind == OfferKind.NEIGHBOUR)):
        return choice
    raise argparse.ArgumentTypeError(f"{text!r} is not a choice: other_bay, neighbour:ID, coupon or wait")


def _kilometres(text: str) -> int:
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a mileage: whole kilometres, e.g. 48200")
    return int(text)


# -- reports ----------------------------------------------------------------------


def _report_service(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    report = ServiceReportInput(work_done=args.work, parts=tuple(args.part), findings=tuple(args.finding),
                                advice=tuple(args.advice))
    if bookings.booking(station, args.booking).state == BookingState.COMPLETED:
        record = delivery.amend_service_report(station, args.booking, report=report, mileage_km=args.mileage)
    else:
        bookings.complete(station, args.booking, report=report, mileage_km=args.mileage)
        record = delivery.service_report(station, args.booking)
    _print_report(args, station, record)


def _show_report(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    _print_report(args, station, delivery.service_report(station, args.booking))


def _print_report(args: argparse.Namespace, station: Station, r: ServiceReportRecord) -> None:
    if args.json:
        emit_json(r.to_json())
        return
    technician = f", technician {r.technician_id}" if r.technician_id else ""
    print(f"service report of booking {r.booking_code} ({r.plate}), completed "
          f"{station.local(r.completed_at):%Y-%m-%d %H:%M}{technician}")
    print(f"work done: {r.work_done}")
    if r.parts:
        print("parts: " + ", ".join(f"{p['sku']} x{p['quantity']}" + (" (extra)" if p["source"] == "extra" else "")
                                    for p in r.parts))
    for label, lines in (("findings", r.findings), ("advice", r.advice)):
        if lines:
            print(f"{label}:\n" + "\n".join(f"  - {line}" for line in lines))
    if r.mileage_km is not None:
        print(f"mileage: {r.mileage_km} km")
    due = [part for part in (r.next_due_date and f"by {r.next_due_date}", r.next_due_km and f"at {r.next_due_km} km")
           if part]
    print("next service due: " + (" or ".join(due) + ", whichever comes first" if due else "nothing to predict"))


def _next_service(args: argparse.Namespace) -> None:
    due = delivery.next_service(open_station(args.data_dir), args.plate)
    if args.json:
        emit_json([d.to_json() for d in due])
        return
    if not due:
        print(f"nothing due: no service {args.plate} has had comes back at an interval")
        return
    print(table(("service", "last", "booking", "km then", "due by", "due at km", "decided by"),
                [(d.service_code, d.last_done_on, d.last_booking_code, d.last_mileage_km, d.next.due_date,
                  d.next.due_km, d.next.basis) for d in due]))


# -- feedback ---------------------------------------------------------------------


def _feedback(args: argparse.Namespace) -> None:
    result = delivery.record_feedback(open_station(args.data_dir), args.booking, rating=args.rating,
                                      comment=args.comment)
    if args.json:
        emit_json(result.to_json())
        return
    print(f"feedback for {result.booking_code}: {result.rating}/5")
    if result.complaint_id:
        print(f"complaint {result.complaint_id} raised (rating {result.rating})")


def _feedback_due(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    due = delivery.due_feedback_requests(station)
    if args.json:
        emit_json([{"booking_id": d.booking_id, "booking_code": d.booking_code, "plate": d.plate,
                    "member_id": d.member_id, "phone": d.phone, "due_at": station.local(d.due_at).isoformat()}
                   for d in due])
        return
    print(table(("booking", "plate", "phone", "due"),
                [(d.booking_code, d.plate, d.phone, f"{station.local(d.due_at):%m-%d %H:%M}") for d in due]))


def _complaints(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    found = delivery.complaints(station, state=None if args.all else "open")
    if args.json:
        emit_json([c.to_json() for c in found])
        return
    print(table(("complaint", "booking", "plate", "tech", "rating", "state", "raised", "comment"),
                [(c.id, c.booking_code, c.plate, c.technician_id, c.rating, c.state,
                  f"{station.local(c.created_at):%m-%d %H:%M}", c.comment) for c in found]))


# -- bays and disruptions -------------------------------------------------------


def _bay_list(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    states = disruptions.bay_states(station)
    if args.json:
        emit_json([s.to_json() for s in states])
        return
    print(table(("bay", "name", "kind", "state"), [(s.bay_id, s.name, s.kind, _bay_text(station, s)) for s in states]))


def _bay_out(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    state = disruptions.set_bay_in_service(station, args.bay, False, args.reason)
    affected = disruptions.disruptions_for(station, bay_id=args.bay)
    if args.json:
        emit_json({"bay": state.to_json(), "disruptions": [d.to_json() for d in affected]})
        return
    print(f"bay {state.bay_id}: {_bay_text(station, state)}")
    _print_disruptions(station, affected, empty=f"no confirmed booking on {state.bay_id} is affected")


def _bay_in(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    state = disruptions.set_bay_in_service(station, args.bay, True)
    emit_json(state.to_json()) if args.json else print(f"bay {state.bay_id}: {_bay_text(station, state)}")


def _bay_text(station: Station, state: BayState) -> str:
    if state.in_service:
        return "in service"
    since = f" since {station.local(state.since):%m-%d %H:%M}" if state.since else ""
    return f"OUT OF SERVICE{since}: {state.reason}" if state.reason else f"OUT OF SERVICE{since}"


def _disruptions(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    if args.bay or args.technician:
        found = disruptions.disruptions_for(station, bay_id=args.bay, technician_id=args.technician)
    else:
        found = disruptions.open_disruptions(station)
    if args.json:
        emit_json([d.to_json() for d in found])
        return
    _print_disruptions(station, found, empty="no booking affected" if args.bay or args.technician else "no open offer")


def _resolve(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    result = disruptions.resolve_disruption(station, args.booking, args.choice)
    if args.json:
        emit_json(result.to_json())
        return
    b = result.booking
    print(f"booking {b.code}: {result.choice} recorded; the booking is {b.state}"
          + (f" on {b.bay_id} at {station.local(b.start_at):%H:%M}" if b.state == BookingState.CONFIRMED else ""))
    if result.coupon_code:
        print(f"compensation coupon {result.coupon_code} issued")


def _print_disruptions(station: Station, found: list[DisruptionRecord], *, empty: str) -> None:
    if not found:
        print(empty)
        return
    print(table(("booking", "start", "plate", "bay", "tech", "state", "offers / choice"),
                [(d.booking.code, f"{station.local(d.booking.start_at):%m-%d %H:%M}", d.booking.plate,
                  d.booking.bay_id, d.booking.technician_id, d.state,
                  d.choice if d.state == "resolved" else "; ".join(_offer_text(o) for o in d.offers) or "none")
                 for d in found]))


def _offer_text(offer: Offer) -> str:
    if offer.kind == OfferKind.OTHER_BAY:
        return f"{offer.choice} ({offer.bay_id}" + (f", {offer.technician_id})" if offer.technician_id else ")")
    if offer.kind == OfferKind.NEIGHBOUR:
        return f"{offer.choice} {offer.distance_km:g}km"
    return offer.choice


def _waive_parts(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    waiver = extra_parts.waive(station, args.booking, reason=args.reason,
                               manager=session.manager(station))
    if args.json:
        emit_json(waiver.to_json())
        return
    parts = ", ".join(f"{sku} x{quantity}" for sku, quantity in waiver.parts)
    print(f"extra parts of booking {waiver.booking_code} waived ({parts}), authorised by {waiver.authorised_by}")
