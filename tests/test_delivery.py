"""Service delivery: reports and next service due, feedback and complaints, bays out of service and the offers made."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from edge.cli.main import main
from edge.domain.booking_state import BookingState
from edge.domain.capacity import StartOption
from edge.domain.delivery import (
    MileageReading,
    Neighbour,
    Offer,
    OfferKind,
    Placement,
    ServiceReportInput,
    chosen_offer,
    daily_km,
    disruption_offers,
    predict_next_service,
    same_time_placements,
)
from edge.domain.reports import period_of
from edge.errors import InvalidTransition, NotFound, RuleViolation, SlotTaken
from edge.services import bookings, delivery, disruptions, inventory, members
from edge.services.reports import station_report
from tests.stations import TEST_CONFIG, make_station

TZ = ZoneInfo("Asia/Shanghai")
MONDAY = date(2026, 11, 23)

DELIVERY_CONFIG = (
    TEST_CONFIG
    .replace("price = 29900\n", "price = 29900\ninterval_days = 180\ninterval_km = 5000\n"
             'materials = { "OIL-5W30" = 4 }\n')
    .replace("price = 8000\n", "price = 8000\ninterval_km = 10000\n")
    .replace("waitlist_offer_minutes = 20\n", 'waitlist_offer_minutes = 20\ncompensation_coupon = "SORRY-20"\n')
    + """
[[materials]]
sku = "OIL-5W30"
name_zh = "机油"
name_en = "Engine oil"
unit = "L"
reorder_level = 4
initial_stock = 20

[[materials]]
sku = "FILTER-AIR"
name_zh = "空气滤芯"
name_en = "Air filter"
unit = "pc"
reorder_level = 1
initial_stock = 5

[[coupon_templates]]
id = "SORRY-20"
kind = "percent_off"
value = 20
"""
)
NEIGHBOURS = """
[[neighbours]]
id = "SH-PD-002"
name = "Zhangjiang"
distance_km = 6.5

[[neighbours]]
id = "SH-PD-007"
name = "Lujiazui East"
distance_km = 3.2
"""


def at(hh: int, mm: int = 0, day: date = MONDAY) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=TZ)


@pytest.fixture
def shop(tmp_path):
    station = make_station(tmp_path, config=DELIVERY_CONFIG + NEIGHBOURS)
    yield station
    station.store.close()


@pytest.fixture
def lonely(tmp_path):
    """A station with no neighbours configured."""
    station = make_station(tmp_path, config=DELIVERY_CONFIG)
    yield station
    station.store.close()


def events(station, *types: str) -> list[dict]:
    with station.store.read() as conn:
        rows = conn.execute(
            f"SELECT type, entity_id, idem_key, body FROM outbox WHERE type IN ({', '.join('?' * len(types))})"
            " ORDER BY hlc", types,
        ).fetchall()
    return [dict(row) | {"body": json.loads(row["body"])} for row in rows]


def served(station, services, start, *, plate="沪A12345", phone="13800000001", bay=None, book_at=None):
    """A booking that has arrived and is in the bay, ready to be completed."""
    booking = bookings.book(station, services=services, start=start, plate=plate, phone=phone, bay_id=bay,
                            now=book_at or start - timedelta(hours=2))
    return bookings.check_in(station, booking.id, now=start - timedelta(minutes=5))


# -- next-service prediction (pure) ------------------------------------------------------


def test_next_service_without_earlier_readings_is_interval_and_mileage():
    due = predict_next_service(completed_on=MONDAY, mileage_km=15_000, interval_days=[180, None],
                               interval_km=[5_000, 10_000], readings=[MileageReading(MONDAY, 15_000)])
    assert (due.due_date, due.due_km, due.basis) == (date(2027, 5, 22), 20_000, "interval")
    assert due.date_by_mileage is None and due.daily_km is None
    # no reading at all: a date, but no due mileage
    due = predict_next_service(completed_on=MONDAY, mileage_km=None, interval_days=[180], interval_km=[5_000])
    assert (due.due_date, due.due_km) == (date(2027, 5, 22), None)
    # a service without an interval (a wash) predicts nothing
    assert predict_next_service(completed_on=MONDAY, mileage_km=15_000, interval_days=[None],
                                interval_km=[None]) is None


def test_next_service_from_the_daily_average_takes_the_earlier_date():
    # 3,000 km in 60 days: 50 km a day, so 5,000 km take 100 days - before the 180-day interval
    readings = [MileageReading(MONDAY, 15_000), MileageReading(MONDAY + timedelta(days=60), 18_000)]
    due = predict_next_service(completed_on=MONDAY + timedelta(days=60), mileage_km=18_000,
                               interval_days=[180], interval_km=[5_000], readings=readings)
    assert (due.due_date, due.due_km, due.basis, due.daily_km) == (date(2027, 5, 2), 23_000, "mileage", 50.0)
    assert due.date_by_interval == date(2027, 7, 21)
    # a car that hardly moves is due by the calendar
    slow = [MileageReading(MONDAY, 15_000), MileageReading(MONDAY + timedelta(days=60), 15_300)]
    due = predict_next_service(completed_on=MONDAY + timedelta(days=60), mileage_km=15_300,
                               interval_days=[180], interval_km=[5_000], readings=slow)
    assert (due.due_date, due.basis) == (date(2027, 7, 21), "interval")
    assert due.date_by_mileage == MONDAY + timedelta(days=60 + 1000)


def test_the_daily_average_needs_two_readings_days_apart_and_a_rising_odometer():
    assert daily_km([MileageReading(MONDAY, 1_000)]) is None
    assert daily_km([MileageReading(MONDAY, 1_000), MileageReading(MONDAY, 1_200)]) is None
    assert daily_km([MileageReading(MONDAY, 1_000), MileageReading(MONDAY + timedelta(days=2), 900)]) is None
    # oldest to newest, whatever the order given
    assert daily_km([MileageReading(MONDAY + timedelta(days=10), 2_000), MileageReading(MONDAY, 1_000),
                     MileageReading(MONDAY + timedelta(days=4), 1_100)]) == 100.0


# -- offers (pure) ---------------------------------------------------------------------


def option(bay: str, start: datetime, *technicians: str) -> StartOption:
    return StartOption(bay, start, start + timedelta(minutes=45), (start,), technicians)


def test_offers_go_other_bay_then_neighbours_nearest_first_then_coupon():
    start = at(9)
    options = [option("L1", start, "T1"), option("L2", start, "T1", "T2"), option("L2", at(10), "T1")]
    placements = same_time_placements(options, start=start, avoid_bay="L1", prefer_technician="T2")
    assert placements == [Placement("L2", "T2", (start,))]
    neighbours = [Neighbour("FAR", "Far", 9.0), Neighbour("NEAR", "Near", 1.5)]
    assert disruption_offers(placements=placements, neighbours=neighbours, coupon_template="SORRY-20") == (
        Offer(OfferKind.OTHER_BAY, bay_id="L2", technician_id="T2"),
    )
    offers = disruption_offers(placements=[], neighbours=neighbours, coupon_template="SORRY-20")
    assert [o.choice for o in offers] == ["neighbour:NEAR", "neighbour:FAR", "coupon"]
    assert [o.choice for o in disruption_offers(placements=[], neighbours=[], coupon_template="SORRY-20")] == ["coupon"]
    assert disruption_offers(placements=[], neighbours=[], coupon_template=None) == ()


def test_an_absent_technician_is_never_the_replacement():
    start = at(9)
    options = [option("L1", start, "T1"), option("L2", start, "T1", "T2")]
    assert same_time_placements(options, start=start, avoid_technician="T1", prefer_bay="L1") == [
        Placement("L2", "T2", (start,))
    ]
    # work without skills needs no technician
    assert same_time_placements([option("W1", start)], start=start, avoid_technician="T1") == [
        Placement("W1", None, (start,))
    ]


def test_a_choice_must_have_been_offered():
    offers = (Offer(OfferKind.COUPON, coupon_template="SORRY-20"),)
    assert chosen_offer("ABC123", "coupon", offers) == offers[0]
    assert chosen_offer("ABC123", "wait", offers) is None
    with pytest.raises(RuleViolation, match=r"ABC123: 'other_bay' was not offered \(choose one of: coupon, wait\)"):
        chosen_offer("ABC123", "other_bay", offers)


def test_report_input_refuses_bad_parts():
    with pytest.raises(RuleViolation, match="part FILTER-AIR: quantity"):
        ServiceReportInput(parts=(("FILTER-AIR", 0),))


# -- service reports ---------------------------------------------------------------------


def test_completion_writes_the_report_with_next_service_due(shop):
    booking = served(shop, ["OIL"], at(9))
    report = ServiceReportInput(work_done="Oil and filter changed", parts=(("FILTER-AIR", 1),),
                                findings=("front pads at 30%",), advice=("replace front pads within 3 months",))
    done = bookings.complete(shop, booking.code, report=report, mileage_km=15_000, now=at(10))
    assert done.state == BookingState.COMPLETED

    saved = delivery.service_report(shop, booking.code)
    assert (saved.work_done, saved.findings, saved.advice) == (
        "Oil and filter changed", ("front pads at 30%",), ("replace front pads within 3 months",))
    assert saved.parts == ({"sku": "OIL-5W30", "quantity": 4, "source": "standard"},
                           {"sku": "FILTER-AIR", "quantity": 1, "source": "extra"})
    assert (saved.mileage_km, saved.next_due_date, saved.next_due_km, saved.next_due_basis) == (
        15_000, date(2027, 5, 22), 20_000, "interval")
    assert saved.technician_id == done.technician_id
    stock = {m.sku: m.on_hand for m in inventory.stock(shop)}
    assert stock == {"OIL-5W30": 16, "FILTER-AIR": 4}  # the extra part left stock too
    with shop.store.read() as conn:
        assert conn.execute("SELECT mileage_km FROM vehicle WHERE plate = '沪A12345'").fetchone()[0] == 15_000

    (reported,) = events(shop, "service.reported")
    assert reported["idem_key"] == f"service_report:{booking.id}:1"
    assert reported["body"]["next_service"]["due_date"] == "2027-05-22"
    # the report travels ahead of the completion
    types = [e["type"] for e in events(shop, "service.reported", "feedback.requested", "booking.completed")]
    assert types == ["service.reported", "feedback.requested", "booking.completed"]


def test_a_second_visit_predicts_from_the_cars_daily_mileage(shop):
    first = served(shop, ["OIL"], at(9))
    bookings.complete(shop, first.code, mileage_km=15_000, now=at(10))
    later = MONDAY + timedelta(days=60)
    second = served(shop, ["OIL"], at(9, day=later))
    bookings.complete(shop, second.code, mileage_km=18_000, now=at(10, day=later))

    saved = delivery.service_report(shop, second.code)
    assert (saved.next_due_date, saved.next_due_km, saved.next_due_basis) == (date(2027, 5, 2), 23_000, "mileage")
    (due,) = delivery.next_service(shop, "沪a12345")
    assert (due.service_code, due.last_booking_code, due.next.due_date) == ("OIL", second.code, date(2027, 5, 2))


def test_completion_without_a_report_and_amending_it_later(shop):
    booking = served(shop, ["OIL", "TYRE"], at(9))
    for stage in ("in_service", "quality_check", "done"):  # completed through progress: a default report
        bookings.set_progress(shop, booking.code, stage, now=at(10))
    saved = delivery.service_report(shop, booking.code)
    assert saved.work_done == "Oil change + Tyre rotation" and saved.findings == ()
    assert (saved.mileage_km, saved.next_due_date, saved.next_due_km) == (None, date(2027, 5, 22), None)

    amended = delivery.amend_service_report(shop, booking.code, mileage_km=40_000, now=at(11),
                                            report=ServiceReportInput(findings=("wiper blades worn",)))
    assert (amended.version, amended.findings, amended.work_done) == (2, ("wiper blades worn",), saved.work_done)
    assert (amended.next_due_km, amended.completed_at) == (45_000, at(10))
    # correcting a mistyped reading is allowed; going below another visit's reading is not
    assert delivery.amend_service_report(shop, booking.code, report=ServiceReportInput(),
                                         mileage_km=4_000).mileage_km == 4_000
    assert [e["idem_key"] for e in events(shop, "service.reported")][-1] == f"service_report:{booking.id}:3"

    other = served(shop, ["WASH"], at(14), plate="沪A12345")
    with pytest.raises(RuleViolation, match="mileage 3000 km for 沪A12345 is below the 4000 km already recorded"):
        bookings.complete(shop, other.code, mileage_km=3_000, now=at(14, 30))
    with pytest.raises(InvalidTransition, match=f"booking {other.code} is checked_in; its report"):
        delivery.amend_service_report(shop, other.code, report=ServiceReportInput(findings=("x",)))
    with pytest.raises(NotFound, match=f"no material 'NOPE' for the report of booking {other.code}"):
        bookings.complete(shop, other.code, report=ServiceReportInput(parts=(("NOPE", 1),)), now=at(14, 30))
    assert bookings.booking(shop, other.code).state == BookingState.CHECKED_IN  # nothing of it was kept


# -- feedback and complaints --------------------------------------------------------------


def test_feedback_is_requested_a_day_later_and_recorded(shop):
    booking = served(shop, ["OIL"], at(9))
    bookings.complete(shop, booking.code, now=at(10))
    (requested,) = events(shop, "feedback.requested")
    assert requested["body"]["due_at"] == "2026-11-24T02:00:00Z" and requested["body"]["phone"] == "13800000001"
    assert delivery.due_feedback_requests(shop, now=at(9, 59, day=MONDAY + timedelta(days=1))) == []
    (due,) = delivery.due_feedback_requests(shop, now=at(10, day=MONDAY + timedelta(days=1)))
    assert (due.booking_code, due.phone) == (booking.code, "13800000001")

    result = delivery.record_feedback(shop, booking.code, rating=5, comment="quick", now=at(12, day=date(2026, 11, 24)))
    assert (result.rating, result.complaint_id) == (5, None)
    assert delivery.due_feedback_requests(shop, now=at(13, day=date(2026, 11, 24))) == []
    assert [e["idem_key"] for e in events(shop, "feedback.recorded")] == [f"feedback:{booking.id}"]
    assert delivery.complaints(shop) == []
    with pytest.raises(InvalidTransition, match=f"feedback for booking {booking.code} was already recorded"):
        delivery.record_feedback(shop, booking.code, rating=4)


def test_a_low_rating_raises_a_complaint(shop):
    booking = served(shop, ["OIL"], at(9))
    bookings.complete(shop, booking.code, now=at(10))
    result = delivery.record_feedback(shop, booking.code, rating=2, comment="oil on the seat", now=at(11))
    (complaint,) = delivery.complaints(shop)
    assert complaint.id == result.complaint_id
    assert (complaint.booking_code, complaint.rating, complaint.comment, complaint.state) == (
        booking.code, 2, "oil on the seat", "open")
    assert complaint.technician_id == booking.technician_id
    (raised,) = events(shop, "complaint.raised")
    assert raised["idem_key"] == f"complaint:{complaint.id}" and raised["body"]["booking"] == booking.code


def test_feedback_errors_name_the_booking(shop):
    booking = served(shop, ["OIL"], at(9))
    with pytest.raises(InvalidTransition, match=f"booking {booking.code} is checked_in; feedback is taken once"):
        delivery.record_feedback(shop, booking.code, rating=4)
    with pytest.raises(RuleViolation, match=f"rating for booking {booking.code} must be 1-5, got 6"):
        delivery.record_feedback(shop, booking.code, rating=6)
    with pytest.raises(NotFound, match="no booking 'NOPE'"):
        delivery.record_feedback(shop, "NOPE", rating=3)


def test_recorded_ratings_show_in_the_technicians_report(shop):
    booking = served(shop, ["OIL"], at(9))
    bookings.complete(shop, booking.code, now=at(10))
    delivery.record_feedback(shop, booking.code, rating=4, now=at(11))
    report = station_report(shop, period_of("day", MONDAY), ["technicians"], now=at(20))
    (section,) = report.sections
    rows = {row[0]: row for row in section.rows}
    assert rows[booking.technician_id][-2:] == (4.0, 1)  # rating, ratings
    assert section.notes == ()


# -- the station cannot serve --------------------------------------------------------------


def test_bay_out_of_service_offers_another_bay_and_moves_the_booking(shop):
    booking = bookings.book(shop, services=["OIL"], start=at(9), plate="沪A12345", bay_id="L1", phone="13800000001")
    state = disruptions.set_bay_in_service(shop, "L1", False, "hydraulic leak", now=at(7, 30))
    assert (state.in_service, state.reason, state.since) == (False, "hydraulic leak", at(7, 30))
    with pytest.raises(RuleViolation, match="bay L1 cannot do OIL"):  # not bookable while out
        bookings.book(shop, services=["OIL"], start=at(11), plate="沪B00001", bay_id="L1")

    (offered,) = disruptions.disruptions_for(shop, bay_id="L1", now=at(7, 31))
    assert offered.booking.id == booking.id and offered.state == "offered"
    assert offered.offers == (Offer(OfferKind.OTHER_BAY, bay_id="L2", technician_id=booking.technician_id),)
    # asking again changes nothing and sends nothing new
    assert disruptions.disruptions_for(shop, bay_id="L1", now=at(7, 32)) == [offered]
    assert len(events(shop, "disruption.offered")) == 1

    resolved = disruptions.resolve_disruption(shop, booking.code, "other_bay", now=at(7, 40))
    moved = resolved.booking
    assert (moved.bay_id, moved.start_at, moved.state, moved.technician_id) == (
        "L2", at(9), BookingState.CONFIRMED, booking.technician_id)
    assert (resolved.state, resolved.choice) == ("resolved", "other_bay")
    with shop.store.read() as conn:
        claims = conn.execute("SELECT DISTINCT bay_id FROM slot_claim WHERE booking_id = ?", (booking.id,))
        assert [r[0] for r in claims] == ["L2"]
    assert [e["type"] for e in events(shop, "booking.rescheduled", "disruption.resolved")] == [
        "booking.rescheduled", "disruption.resolved"]
    (change,) = events(shop, "bay.service_changed")
    assert change["body"]["in_service"] is False and change["body"]["reason"] == "hydraulic leak"
    assert disruptions.disruptions_for(shop, bay_id="L1", now=at(7, 45)) == []  # nothing left on L1


def test_no_free_bay_offers_the_neighbours_nearest_first_and_hq_is_asked(shop):
    booking = bookings.book(shop, services=["OIL"], start=at(9), plate="沪A12345", bay_id="L1", phone="13800000001")
    bookings.book(shop, services=["OIL"], start=at(9), plate="沪B22222", bay_id="L2")
    disruptions.set_bay_in_service(shop, "L1", False, "lift broken", now=at(8))
    (offered,) = disruptions.disruptions_for(shop, bay_id="L1", now=at(8))
    assert [o.choice for o in offered.offers] == ["neighbour:SH-PD-007", "neighbour:SH-PD-002", "coupon"]
    (request,) = events(shop, "disruption.offered")
    assert request["body"]["neighbour_ids"] == ["SH-PD-007", "SH-PD-002"]
    assert request["body"]["booking"]["services"] == ["OIL"]

    credit = members.lookup(shop, "13800000001").member.credit_score
    resolved = disruptions.resolve_disruption(shop, booking.code, "neighbour:SH-PD-002", now=at(8, 10))
    assert resolved.booking.state == BookingState.CANCELLED
    assert resolved.booking.reason == "moved to neighbour SH-PD-002"
    assert members.lookup(shop, "13800000001").member.credit_score == credit  # not the customer's fault
    (answer,) = events(shop, "disruption.resolved")
    assert answer["body"]["choice"] == "neighbour:SH-PD-002" and answer["idem_key"] == f"disruption:{offered.id}:2"


def test_with_no_neighbour_the_coupon_is_offered_and_issued(lonely):
    booking = bookings.book(lonely, services=["OIL"], start=at(9), plate="沪A12345", bay_id="L1", phone="13800000001")
    bookings.book(lonely, services=["OIL"], start=at(9), plate="沪B22222", bay_id="L2")
    disruptions.set_bay_in_service(lonely, "L1", False, "lift broken", now=at(8))
    (offered,) = disruptions.disruptions_for(lonely, bay_id="L1", now=at(8))
    assert offered.offers == (Offer(OfferKind.COUPON, coupon_template="SORRY-20"),)

    resolved = disruptions.resolve_disruption(lonely, booking.code, "coupon", now=at(8, 5))
    assert resolved.booking.state == BookingState.CANCELLED and resolved.coupon_code.startswith("SORRY-20-")
    with lonely.store.read() as conn:
        coupon = conn.execute("SELECT member_id, kind, value, source FROM coupon WHERE code = ?",
                              (resolved.coupon_code,)).fetchone()
    assert tuple(coupon) == (booking.member_id, "percent_off", 20, "compensation")
    assert [e["type"] for e in events(lonely, "coupon.issued", "booking.cancelled", "disruption.resolved")] == [
        "coupon.issued", "booking.cancelled", "disruption.resolved"]


def test_waiting_keeps_the_booking_and_a_repaired_bay_withdraws_open_offers(shop):
    first = bookings.book(shop, services=["OIL"], start=at(9), plate="沪A12345", bay_id="L1")
    second = bookings.book(shop, services=["TYRE"], start=at(14), plate="沪C33333", bay_id="L1")
    disruptions.set_bay_in_service(shop, "L1", False, "lift broken", now=at(8))
    assert len(disruptions.disruptions_for(shop, bay_id="L1", now=at(8))) == 2

    kept = disruptions.resolve_disruption(shop, first.code, "wait", now=at(8, 5))
    assert (kept.choice, kept.booking.bay_id, kept.booking.version) == ("wait", "L1", first.version)
    assert [d.booking.code for d in disruptions.open_disruptions(shop)] == [second.code]

    disruptions.set_bay_in_service(shop, "L1", True, now=at(12))
    assert disruptions.open_disruptions(shop) == []
    assert [s.in_service for s in disruptions.bay_states(shop)] == [True, True, True]
    withdrawn = [e["body"]["state"] for e in events(shop, "disruption.resolved")]
    assert withdrawn == ["resolved", "withdrawn"]
    with pytest.raises(NotFound, match=f"booking {second.code} has no offer waiting for an answer"):
        disruptions.resolve_disruption(shop, second.code, "wait")


def test_an_absent_technician_is_replaced_on_the_same_bay(shop):
    booking = bookings.book(shop, services=["OIL"], start=at(9), plate="沪A12345", bay_id="L1")
    absent = booking.technician_id
    (offered,) = disruptions.disruptions_for(shop, technician_id=absent, now=at(7, 30))
    (offer,) = offered.offers
    assert (offer.kind, offer.bay_id) == (OfferKind.OTHER_BAY, "L1") and offer.technician_id not in (None, absent)
    moved = disruptions.resolve_disruption(shop, booking.code, "other_bay", now=at(7, 35)).booking
    assert (moved.bay_id, moved.technician_id, moved.start_at) == ("L1", offer.technician_id, at(9))


def test_disruption_errors_name_the_thing(shop):
    booking = bookings.book(shop, services=["OIL"], start=at(9), plate="沪A12345", bay_id="L1")
    with pytest.raises(NotFound, match=r"no bay 'L9' \(bays: W1, L1, L2\)"):
        disruptions.set_bay_in_service(shop, "L9", False, "gone")
    with pytest.raises(RuleViolation, match="give the reason bay L1 is out of service"):
        disruptions.set_bay_in_service(shop, "L1", False, " ")
    with pytest.raises(NotFound, match="no technician 'T9'"):
        disruptions.disruptions_for(shop, technician_id="T9")
    with pytest.raises(RuleViolation, match="name either the bay or the technician"):
        disruptions.disruptions_for(shop)
    with pytest.raises(NotFound, match=f"booking {booking.code} has no offer waiting"):
        disruptions.resolve_disruption(shop, booking.code, "wait")
    disruptions.set_bay_in_service(shop, "L1", False, "lift broken", now=at(8))
    disruptions.disruptions_for(shop, bay_id="L1", now=at(8))
    with pytest.raises(RuleViolation, match=f"booking {booking.code}: 'coupon' was not offered"):
        disruptions.resolve_disruption(shop, booking.code, "coupon", now=at(8, 1))
    # the other bay was taken before the customer answered: nothing changes
    bookings.book(shop, services=["TYRE"], start=at(9), plate="沪B22222", bay_id="L2", now=at(8, 2))
    with pytest.raises(SlotTaken, match=f"no other bay can take booking {booking.code} at 2026-11-23 09:00"):
        disruptions.resolve_disruption(shop, booking.code, "other_bay", now=at(8, 3))
    assert bookings.booking(shop, booking.code).bay_id == "L1"


# -- the command line ------------------------------------------------------------------------


def cli(capsys, *args: object) -> tuple[int, str, str]:
    try:
        code = main([str(a) for a in args])
    except SystemExit as exit_:  # argparse exits on its own with 2
        code = exit_.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_command_line_round_trip(tmp_path, capsys):
    config = tmp_path / "station.toml"
    # the command line runs on the real clock: bookings in 2030 need a long horizon
    # (and a car may check in that early)
    config.write_text((DELIVERY_CONFIG + NEIGHBOURS).replace("horizon_days = 3\n", "horizon_days = 3650\n")
                      .replace("[booking]\n", "[booking]\nearly_arrival_minutes = 5256000\n"), encoding="utf-8")
    data = tmp_path / "data"
    assert cli(capsys, "--data-dir", data, "init", "--config", config)[0] == 0

    def run(*args):
        code, out, err = cli(capsys, "--data-dir", data, *args)
        assert code == 0, err
        return out

    booking = json.loads(run("book", "--start", "2030-01-07T09:00", "--services", "OIL", "--plate", "沪A12345",
                             "--phone", "13800000001", "--bay", "L1", "--json"))
    run("checkin", "--booking", booking["code"])
    out = run("service", "report", booking["code"], "--finding", "pads at 30%", "--advice", "pads within 3 months",
              "--part", "FILTER-AIR=1", "--mileage", "15000")
    assert "pads at 30%" in out and "FILTER-AIR x1 (extra)" in out and "at 20000 km" in out
    report = json.loads(run("service", "show-report", booking["code"], "--json"))
    # completed now (the real clock): due 180 days on, or 5,000 km on
    assert report["next_due_date"] and (report["mileage_km"], report["next_due_km"]) == (15000, 20000)
    assert json.loads(run("service", "due", "沪A12345", "--json"))[0]["due_km"] == 20000

    assert "complaint" in run("service", "feedback", booking["code"], "--rating", "1", "--comment", "late")
    (complaint,) = json.loads(run("service", "complaints", "--json"))
    assert complaint["booking_code"] == booking["code"]

    other = json.loads(run("book", "--start", "2030-01-08T09:00", "--services", "OIL", "--plate", "沪B22222",
                           "--bay", "L1", "--json"))
    result = json.loads(run("bay", "out-of-service", "L1", "--reason", "hydraulic leak", "--json"))
    assert result["bay"]["in_service"] is False
    assert [o["choice"] for o in result["disruptions"][0]["offers"]] == ["other_bay"]
    assert other["code"] in run("service", "disruptions")
    assert "on L2 at 09:00" in run("service", "disruptions", "resolve", other["code"], "--choice", "other_bay")
    assert "OUT OF SERVICE" in run("bay", "list")
    assert "in service" in run("bay", "in-service", "L1")

    code, _, err = cli(capsys, "--data-dir", data, "service", "report", booking["code"], "--part", "FILTER-AIR")
    assert code == 2 and "SKU=QTY" in err
    code, _, err = cli(capsys, "--data-dir", data, "service", "feedback", booking["code"], "--rating", "3")
    assert code == 7 and "already recorded" in err
    code, _, err = cli(capsys, "--data-dir", data, "service", "disruptions", "resolve", other["code"],
                       "--choice", "wait")
    assert code == 4 and f"booking {other['code']} has no offer" in err
