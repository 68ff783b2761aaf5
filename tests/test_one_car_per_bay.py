"""One car per bay: a second booking cannot go into a bay that has one in it, whoever asks, and old files are mended."""

from __future__ import annotations

import json
import sqlite3

import pytest

from edge.errors import RuleViolation
from edge.services import bookings, live_state
from edge.services.one_car_per_bay import IN_BAY_WHERE
from edge.store.db import Store
from edge.store.migrate import current_revisions, script_heads, upgrade_to_head
from tests.stations import NOW
from tests.test_cli import cli, data_dir  # noqa: F401  (the CLI's station fixture)
from tests.tui.sample import local


def two_on_lift(station):
    """Two cars checked in for L1 at 07:00: the 08:00 oil change and the 09:00 tyre rotation."""
    first = bookings.book(station, services=["OIL"], start=local(8), plate="沪A11111", bay_id="L1", now=NOW)
    second = bookings.book(station, services=["TYRE"], start=local(9), plate="沪B22222", bay_id="L1", now=NOW)
    return bookings.check_in(station, first.code, now=NOW), bookings.check_in(station, second.code, now=NOW)


def test_a_second_car_cannot_go_into_a_bay_with_a_car_in_it(station):
    first, second = two_on_lift(station)
    bookings.set_progress(station, first.code, "in_bay", now=NOW)

    with pytest.raises(RuleViolation) as refused:
        bookings.set_progress(station, second.code, "in_bay", now=NOW)

    message = str(refused.value)
    assert "L1" in message and first.code in message and "沪A11111" in message and second.code in message
    assert bookings.booking(station, second.code).progress == "received"  # nothing written
    # straight to work is going into the bay too
    with pytest.raises(RuleViolation):
        bookings.set_progress(station, second.code, "in_service", now=NOW)


def test_the_next_car_goes_in_once_the_first_is_done(station):
    first, second = two_on_lift(station)
    for stage in ("in_bay", "in_service", "waiting_parts", "in_service", "quality_check"):
        bookings.set_progress(station, first.code, stage, now=NOW)
        with pytest.raises(RuleViolation):
            bookings.set_progress(station, second.code, "in_bay", now=NOW)
    bookings.set_progress(station, first.code, "done", now=NOW)

    assert bookings.set_progress(station, second.code, "in_bay", now=NOW).progress == "in_bay"


def test_a_cancelled_car_in_bay_no_longer_holds_the_bay(station):
    first, second = two_on_lift(station)
    bookings.set_progress(station, first.code, "in_bay", now=NOW)
    bookings.cancel(station, first.code, now=NOW)

    assert bookings.set_progress(station, second.code, "in_bay", now=NOW).progress == "in_bay"


def test_the_bay_sensor_does_not_move_a_second_car_in(station):
    first, second = two_on_lift(station)
    bookings.set_progress(station, first.code, "in_bay", now=NOW)

    live_state.record_occupancy(station, "L1", "occupied", source="bay-sensors", now=NOW)

    assert bookings.booking(station, second.code).progress == "received"
    assert live_state.bay_states(station)["L1"].occupancy == "occupied"  # the reading itself is kept


def test_the_cli_refuses_a_second_car_in_a_bay_with_exit_6(data_dir, capsys):  # noqa: F811
    # the CLI reads the real clock: let these far-off bookings check in now
    config = data_dir.parent / "station.toml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        "[booking]\n", "[booking]\nearly_arrival_minutes = 5256000\n"), encoding="utf-8")
    assert cli(capsys, "--data-dir", data_dir, "init", "--config", config)[0] == 0
    codes = []
    for start, services, plate in (("2030-01-07T09:00:00+08:00", "OIL", "沪A11111"),
                                   ("2030-01-07T10:00:00+08:00", "TYRE", "沪B22222")):
        code, out, _ = cli(capsys, "--data-dir", data_dir, "book", "--bay", "L1", "--start", start,
                           "--services", services, "--plate", plate, "--json")
        assert code == 0
        codes.append(json.loads(out)["code"])
        assert cli(capsys, "--data-dir", data_dir, "checkin", "--booking", codes[-1])[0] == 0
    assert cli(capsys, "--data-dir", data_dir, "progress", codes[0], "in_bay")[0] == 0

    code, out, err = cli(capsys, "--data-dir", data_dir, "progress", codes[1], "in_bay")

    assert code == 6
    assert "L1" in err and codes[0] in err


def test_the_services_read_the_bays_through_the_index_they_name(station):
    with station.store.read() as conn:
        index = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'ux_booking_one_car_in_bay'").fetchone()[0]
        plan = conn.execute(f"EXPLAIN QUERY PLAN SELECT id FROM booking WHERE {IN_BAY_WHERE}").fetchall()
    assert index.endswith(f"WHERE {IN_BAY_WHERE}")
    assert "ux_booking_one_car_in_bay" in plan[0][-1]


def _booking_row(conn, booking_id: str, code: str, *, progress: str, state: str, updated_at: str) -> None:
    conn.execute(
        "INSERT INTO booking (id, code, plate, member_id, channel, state, progress, bay_id, technician_id,"
        " start_at, end_at, services, package_code, price_minor, currency, price_version, hold_until, notes,"
        " reason, version, created_at, updated_at) VALUES (?, ?, '沪A12345', NULL, 'phone', ?, ?, 'L1', NULL,"
        " '2026-01-02T01:00:00Z', '2026-01-02T01:30:00Z', '[\"OIL\"]', NULL, 29900, 'CNY', 'v0', NULL, '', '', 3,"
        " '2026-01-01T00:00:00Z', ?)", (booking_id, code, state, progress, updated_at))


def test_upgrading_a_file_with_two_cars_in_one_bay_keeps_the_last_and_sends_the_other_back(tmp_path):
    path = tmp_path / "station.db"
    upgrade_to_head(path, revision="0009_link_heard")
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO node (id, station_id, epoch, created_at, catalog_version, hlc_wall_ms, hlc_logical)"
                     " VALUES (1, 'OLD-1', 'epoch-1', '2026-01-01T00:00:00Z', 'v0', 5, 0)")
        conn.execute("INSERT INTO bay (id, name, kind, services, position, in_service, active)"
                     " VALUES ('L1', 'Lift', 'lift', '[]', 0, 1, 1)")
        _booking_row(conn, "b1", "EARLY1", progress="in_service", state="in_service", updated_at="2026-01-02T01:10:00Z")
        _booking_row(conn, "b2", "LATER2", progress="in_bay", state="checked_in", updated_at="2026-01-02T01:20:00Z")
        _booking_row(conn, "b3", "DONE33", progress="in_bay", state="cancelled", updated_at="2026-01-02T01:30:00Z")

    Store(path).close()

    assert current_revisions(path) == script_heads()
    with sqlite3.connect(path) as conn:
        rows = dict((r[0], r[1:]) for r in conn.execute("SELECT code, state, progress, version FROM booking"))
        events = conn.execute("SELECT type, entity_id, idem_key FROM outbox").fetchall()
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute("UPDATE booking SET state = 'checked_in', progress = 'in_bay' WHERE id = 'b1'")
    assert rows == {"LATER2": ("checked_in", "in_bay", 3), "EARLY1": ("checked_in", "received", 4),
                    "DONE33": ("cancelled", "in_bay", 3)}
    assert events == [("booking.progress", "b1", "booking:b1:4")]
