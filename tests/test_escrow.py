"""Slot escrow at the station, against a real station database: tentative bookings on HQ's
cells, the owner's decisions, app bookings from HQ, leases with fencing tokens, clashes."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from edge.config import ConfigError, parse_settings
from edge.domain.booking_state import BookingState
from edge.errors import InvalidTransition, RuleViolation, SlotTaken
from edge.services import bookings
from edge.services.cell_ownership import cell_owners
from edge.services.escrow import EscrowMessageError, apply_downlink
from edge.store.types import to_db_time
from tests.stations import NOW, TEST_CONFIG, make_station

TZ = ZoneInfo("Asia/Shanghai")
MONDAY = date(2026, 11, 23)
ESCROW_CONFIG = TEST_CONFIG + "\n[escrow]\nhq_share = 0.3\nblock_minutes = 120\n"


@pytest.fixture
def station(tmp_path):
    station = make_station(tmp_path, config=ESCROW_CONFIG)
    yield station
    station.store.close()


def at(hh: int, mm: int = 0) -> datetime:
    return datetime(MONDAY.year, MONDAY.month, MONDAY.day, hh, mm, tzinfo=TZ)


def cells(start: datetime, count: int = 2) -> list[str]:
    return [to_db_time(start + timedelta(minutes=30 * i)) for i in range(count)]


def first_run(station, bay: str, owner: str, count: int = 2) -> datetime:
    """The first start on Monday from which `count` cells of `bay` all belong to `owner`."""
    owners = cell_owners(station, MONDAY)
    grid = [cell.start for cell in station.grid(MONDAY)]
    for i in range(len(grid) - count + 1):
        if all(owners[(bay, grid[i + k])] == owner for k in range(count)):
            return grid[i]
    raise AssertionError(f"no run of {count} {owner} cells on {bay}")


def events(station, prefix: str = "") -> list[dict]:
    with station.store.read() as conn:
        rows = conn.execute("SELECT type, entity_id, body FROM outbox ORDER BY stream, seq").fetchall()
    return [{"type": r["type"], "entity_id": r["entity_id"], **json.loads(r["body"])}
            for r in rows if r["type"].startswith(prefix)]


def conflicts(station) -> list[dict]:
    with station.store.read() as conn:
        return [dict(r) for r in conn.execute("SELECT kind, entity_id, detail FROM conflict ORDER BY created_at")]


def downlink(station, message_type: str, body: dict) -> None:
    with station.store.write() as conn:
        apply_downlink(station, conn, message_type, body, NOW)


def live_firm_per_cell(station) -> dict[tuple[str, str], int]:
    """(bay, cell) -> live bookings holding it that are not tentative."""
    with station.store.read() as conn:
        rows = conn.execute(
            "SELECT c.bay_id, c.slot_start, count(*) FROM slot_claim c JOIN booking b ON b.id = c.booking_id"
            " WHERE b.state NOT IN ('tentative', 'rejected', 'cancelled', 'expired', 'no_show')"
            " GROUP BY c.bay_id, c.slot_start"
        )
        return {(r[0], r[1]): r[2] for r in rows}


def test_without_a_share_the_station_owns_every_cell(tmp_path):
    plain = make_station(tmp_path)
    try:
        assert set(cell_owners(plain, MONDAY).values()) == {"station"}
    finally:
        plain.store.close()


def test_the_configured_share_gives_hq_about_its_share_of_each_days_cells(station):
    owners = cell_owners(station, MONDAY)
    assert len(owners) == 3 * 20  # three bays, 08:00-18:00 in 30-minute cells
    share = sum(o == "hq" for o in owners.values()) / len(owners)
    assert 0.15 <= share <= 0.45


def test_a_booking_on_hqs_cells_is_tentative_holds_them_and_asks_hq(station):
    start = first_run(station, "L1", "hq")
    booking = bookings.book(station, services=["OIL"], start=start, plate="沪A12345", bay_id="L1")
    assert booking.state == BookingState.TENTATIVE and booking.hold_until is None
    with pytest.raises(SlotTaken):
        bookings.book(station, services=["TYRE"], start=start, plate="沪B22222", bay_id="L1")
    [asked] = events(station, "escrow.requested")
    assert asked["entity_id"] == booking.id and asked["cells"] == cells(start)
    assert asked["bay_id"] == "L1" and asked["rule"] == "300/1000@120m"
    assert [e["type"] for e in events(station, "booking.")] == ["booking.tentative"]
    with pytest.raises(InvalidTransition):
        bookings.confirm(station, booking.code)  # only HQ, the owner, confirms it
    with pytest.raises(InvalidTransition):
        bookings.reschedule(station, booking.code, start=start + timedelta(hours=4))


def test_a_booking_on_the_stations_cells_is_confirmed_at_once(station):
    start = first_run(station, "L1", "station")
    booking = bookings.book(station, services=["OIL"], start=start, plate="沪A12345", bay_id="L1")
    assert booking.state == BookingState.CONFIRMED
    assert events(station, "escrow.") == []


def test_hqs_decision_confirms_or_rejects_the_tentative_booking(station):
    start = first_run(station, "L1", "hq")
    kept = bookings.book(station, services=["OIL"], start=start, plate="沪A11111", bay_id="L1")
    lost = bookings.book(station, services=["TYRE"], start=start, plate="沪A22222", bay_id="L2")
    downlink(station, "escrow.decided", {"booking_id": kept.id, "decision": "confirmed"})
    downlink(station, "escrow.decided", {"booking_id": lost.id, "decision": "rejected", "reason": "sold in the app"})
    assert bookings.booking(station, kept.id).state == BookingState.CONFIRMED
    rejected = bookings.booking(station, lost.id)
    assert rejected.state == BookingState.REJECTED and "sold in the app" in rejected.reason
    # the rejected booking's cells are free again
    with station.store.read() as conn:
        assert conn.execute("SELECT count(*) FROM slot_claim WHERE booking_id = ?", (lost.id,)).fetchone()[0] == 0
    # a late or repeated decision changes nothing
    downlink(station, "escrow.decided", {"booking_id": kept.id, "decision": "rejected"})
    assert bookings.booking(station, kept.id).state == BookingState.CONFIRMED


def test_an_app_booking_hq_sold_on_its_cell_rejects_the_stations_tentative_with_a_conflict(station):
    start = first_run(station, "L1", "hq")
    walk_in = bookings.book(station, services=["OIL"], start=start, plate="沪A11111", bay_id="L1")
    downlink(station, "app_booking.confirmed", {"booking_id": "app-1", "bay_id": "L1", "cells": cells(start),
                                                "services": ["OIL"], "plate": "沪C33333", "token": 0})
    assert bookings.booking(station, walk_in.id).state == BookingState.REJECTED
    app = bookings.booking(station, "app-1")
    assert app.state == BookingState.CONFIRMED and app.channel == "app" and app.bay_id == "L1"
    [conflict] = conflicts(station)
    assert conflict["kind"] == "escrow_tentative_lost" and conflict["entity_id"] == walk_in.id
    assert set(live_firm_per_cell(station).values()) == {1}
    assert [e["type"] for e in events(station, "escrow.conflict")] == ["escrow.conflict"]
    # HQ's downlink is applied once; the same message again is harmless
    downlink(station, "app_booking.confirmed", {"booking_id": "app-1", "bay_id": "L1", "cells": cells(start),
                                                "services": ["OIL"], "plate": "沪C33333", "token": 0})
    assert len(bookings.bookings_on(station, MONDAY)) == 2


def test_an_app_request_on_the_stations_cells_is_decided_by_the_station(station):
    start = first_run(station, "L1", "station")
    downlink(station, "app_booking.requested", {"booking_id": "app-1", "bay_id": "L1", "cells": cells(start),
                                                "services": ["OIL"], "plate": "沪C33333"})
    downlink(station, "app_booking.requested", {"booking_id": "app-2", "bay_id": "L1", "cells": cells(start),
                                                "services": ["OIL"], "plate": "沪C44444"})
    downlink(station, "app_booking.requested", {"booking_id": "app-3", "bay_id": "L1", "cells": cells(start, 1),
                                                "services": ["OIL"], "plate": "沪C55555"})
    answers = {e["booking_id"]: e for e in events(station, "escrow.answered")}
    assert answers["app-1"]["decision"] == "confirmed"
    assert answers["app-2"]["decision"] == "rejected" and "already booked" in answers["app-2"]["reason"]
    assert answers["app-3"]["decision"] == "rejected"
    assert bookings.booking(station, "app-1").state == BookingState.CONFIRMED
    assert set(live_firm_per_cell(station).values()) == {1}


def test_a_lease_grant_hands_hqs_cells_to_the_station_and_is_acked_with_its_token(station):
    start = first_run(station, "L2", "hq")
    downlink(station, "lease.grant", {"lease_id": "lease-1", "bay_id": "L2", "cells": cells(start), "token": 5})
    owners = cell_owners(station, MONDAY)
    assert owners[("L2", start)] == owners[("L2", start + timedelta(minutes=30))] == "station"
    assert owners[("L1", start)] == "hq"
    # the station's own cells now come first: no bay named, the granted bay is taken, confirmed
    booking = bookings.book(station, services=["OIL"], start=start, plate="沪A12345")
    assert booking.bay_id == "L2" and booking.state == BookingState.CONFIRMED
    [ack] = events(station, "escrow.lease_acked")
    assert ack["lease_id"] == "lease-1" and ack["token"] == 5 and ack["kind"] == "grant"
    assert ack["applied"] == cells(start) and ack["refused"] == {}


def test_a_stale_fencing_token_is_refused(station):
    start = first_run(station, "L2", "hq")
    downlink(station, "lease.grant", {"lease_id": "lease-1", "bay_id": "L2", "cells": cells(start), "token": 5})
    downlink(station, "lease.revoke", {"lease_id": "lease-2", "bay_id": "L2", "cells": cells(start), "token": 6})
    assert cell_owners(station, MONDAY)[("L2", start)] == "hq"
    # the old grant arrives again under another id (a replay): its token is older than the cells'
    downlink(station, "lease.grant", {"lease_id": "lease-1b", "bay_id": "L2", "cells": cells(start), "token": 5})
    assert cell_owners(station, MONDAY)[("L2", start)] == "hq"
    acks = {e["lease_id"]: e for e in events(station, "escrow.lease_acked")}
    assert acks["lease-1b"]["applied"] == [] and set(acks["lease-1b"]["refused"].values()) == {"stale"}


def test_a_revoke_takes_back_only_the_cells_the_station_has_not_booked(station):
    start = first_run(station, "L1", "station", count=4)
    booked = bookings.book(station, services=["TYRE"], start=start, plate="沪A12345", bay_id="L1")
    downlink(station, "lease.revoke", {"lease_id": "lease-9", "bay_id": "L1", "cells": cells(start, 4), "token": 9})
    [ack] = events(station, "escrow.lease_acked")
    assert ack["refused"] == {cells(start)[0]: "booked"} and ack["applied"] == cells(start, 4)[1:]
    assert bookings.booking(station, booked.id).state == BookingState.CONFIRMED
    later = bookings.book(station, services=["TYRE"], start=start + timedelta(minutes=30), plate="沪B00001", bay_id="L1")
    assert later.state == BookingState.TENTATIVE
    with pytest.raises(RuleViolation, match="HQ's to sell"):
        bookings.reschedule(station, booked.code, start=start + timedelta(minutes=60), bay_id="L1")
    assert bookings.booking(station, booked.id).start_at == start  # the move rolled back


def test_both_sides_confirmed_one_cell_the_valid_fencing_token_wins(station):
    start = first_run(station, "L1", "station")
    mine = bookings.book(station, services=["OIL"], start=start, plate="沪A11111", bay_id="L1")
    # HQ claims the station's own cell with no lease newer than the station's: the station keeps it
    downlink(station, "app_booking.confirmed", {"booking_id": "app-1", "bay_id": "L1", "cells": cells(start),
                                                "services": ["OIL"], "plate": "沪C33333", "token": 0})
    assert bookings.booking(station, mine.id).state == BookingState.CONFIRMED
    [answer] = events(station, "escrow.answered")
    assert answer["booking_id"] == "app-1" and answer["decision"] == "rejected"
    # the same message again (HQ's log resent after a restore) is answered once only
    downlink(station, "app_booking.confirmed", {"booking_id": "app-1", "bay_id": "L1", "cells": cells(start),
                                                "services": ["OIL"], "plate": "沪C33333", "token": 0})
    assert len(conflicts(station)) == 1 and len(events(station, "escrow.answered")) == 1
    # HQ claims it by a newer fencing token than the station holds it by: HQ's booking stands
    downlink(station, "app_booking.confirmed", {"booking_id": "app-2", "bay_id": "L1", "cells": cells(start),
                                                "services": ["OIL"], "plate": "沪C44444", "token": 3})
    assert bookings.booking(station, mine.id).state == BookingState.REJECTED
    assert bookings.booking(station, "app-2").state == BookingState.CONFIRMED
    assert [c["kind"] for c in conflicts(station)] == ["escrow_double_confirm", "escrow_double_confirm"]
    assert all(json.loads(c["detail"]) for c in conflicts(station))
    assert set(live_firm_per_cell(station).values()) == {1}


def test_a_malformed_escrow_message_is_refused_naming_the_key_and_writes_nothing(station):
    before = len(events(station))
    with pytest.raises(EscrowMessageError, match="cells"):
        downlink(station, "lease.grant", {"lease_id": "x", "bay_id": "L1", "cells": ["yesterday"], "token": 1})
    with pytest.raises(EscrowMessageError, match="token"):
        downlink(station, "lease.grant", {"lease_id": "x", "bay_id": "L1", "cells": cells(at(9)), "token": -1})
    with pytest.raises(EscrowMessageError, match="unknown escrow message type"):
        downlink(station, "lease.steal", {})
    assert len(events(station)) == before


def test_escrow_config_errors_name_the_key_and_line():
    with pytest.raises(ConfigError) as info:
        parse_settings(TEST_CONFIG + "\n[escrow]\nhq_share = 1.5\nblock_minutes = 45\n", source="station.toml")
    keys = {key for _, key, _ in info.value.problems}
    assert keys == {"escrow.hq_share", "escrow.block_minutes"} or keys == {"escrow.hq_share"}
    lines = {line for line, _, _ in info.value.problems}
    assert None not in lines
    with pytest.raises(ConfigError) as info:
        parse_settings(TEST_CONFIG + "\n[escrow]\nblock_minutes = 45\n", source="station.toml")
    assert info.value.key == "escrow.block_minutes" and "whole number of slots" in info.value.message


def test_the_waitlist_is_offered_only_the_stations_own_cells(tmp_path):
    from edge.services import waitlist

    all_hq = make_station(tmp_path, config=TEST_CONFIG + "\n[escrow]\nhq_share = 1.0\n")
    try:
        entry = waitlist.join(all_hq, services=["WASH"], day=MONDAY, plate="沪A12345")
        assert entry.state == "waiting"  # every free cell is HQ's: nothing offered
        start = at(9)
        downlink(all_hq, "lease.grant", {"lease_id": "g", "bay_id": "W1", "cells": cells(start, 1), "token": 1})
        booked = bookings.book(all_hq, services=["WASH"], start=start + timedelta(hours=1), plate="沪B00001", bay_id="W1")
        assert booked.state == BookingState.TENTATIVE
        bookings.cancel(all_hq, booked.code)  # a release offers the day's free cells: only the granted one fits
        offered = [b for b in bookings.bookings_on(all_hq, MONDAY) if b.notes.startswith("waitlist offer")]
        assert [(b.start_at, b.state) for b in offered] == [(start, BookingState.HELD)]
    finally:
        all_hq.store.close()


def test_a_broken_bay_is_not_offered_a_bay_whose_cells_are_hqs(station):
    from edge.domain.delivery import OfferKind
    from edge.services import disruptions

    start = first_run(station, "L1", "station")
    booking = bookings.book(station, services=["OIL"], start=start, plate="沪A12345", bay_id="L1")
    disruptions.set_bay_in_service(station, "L1", False, "hydraulic leak", now=NOW)
    [offered] = disruptions.disruptions_for(station, bay_id="L1", now=NOW)
    assert [o.bay_id for o in offered.offers if o.kind == OfferKind.OTHER_BAY] == ["L2"]
    disruptions.set_bay_in_service(station, "L1", True, "", now=NOW)
    # HQ takes L2's cells back: the other lift is HQ's to sell at that time
    downlink(station, "lease.revoke", {"lease_id": "r", "bay_id": "L2", "cells": cells(start), "token": 1})
    disruptions.set_bay_in_service(station, "L1", False, "hydraulic leak again", now=NOW)
    offers = [o for d in disruptions.disruptions_for(station, bay_id="L1", now=NOW) for o in d.offers]
    assert OfferKind.OTHER_BAY not in {o.kind for o in offers}
    assert bookings.booking(station, booking.id).bay_id == "L1"


def test_a_conflict_is_listed_and_resolved_from_the_command_line(station, capsys):
    from edge.cli.main import main

    start = first_run(station, "L1", "hq")
    bookings.book(station, services=["OIL"], start=start, plate="沪A11111", bay_id="L1")
    downlink(station, "app_booking.confirmed", {"booking_id": "app-1", "bay_id": "L1", "cells": cells(start),
                                                "services": ["OIL"], "plate": "沪C33333", "token": 0})
    data_dir = str(station.store.path.parent)

    def cli(*args: str) -> tuple[int, str]:
        code = main(["--data-dir", data_dir, *args])
        out, err = capsys.readouterr()
        return code, out + err

    code, out = cli("--json", "sync", "conflicts")
    [open_one] = json.loads(out)
    assert code == 0 and open_one["kind"] == "escrow_tentative_lost" and open_one["detail"]["plate"] == "沪A11111"
    code, out = cli("sync", "conflicts", "resolve", open_one["id"], "--note", "customer called, moved to L2")
    assert code == 0 and "resolved" in out
    assert cli("sync", "conflicts", "list")[1].strip() == "no open conflicts"
    assert cli("--json", "sync", "conflicts", "list", "--all")[1].count("customer called") == 1
    code, out = cli("sync", "conflicts", "resolve", open_one["id"], "--note", "again")
    assert code == 7 and "resolved already" in out
    code, out = cli("sync", "conflicts", "resolve", "nope", "--note", "x")
    assert code == 4 and "no conflict 'nope'" in out
    assert [e["type"] for e in events(station, "conflict.resolved")] == ["conflict.resolved"]
