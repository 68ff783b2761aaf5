"""Slot escrow under a partition: station and HQ both sell the same cells while cut off from each
other; once their messages flow again, no cell has more than one confirmed booking and every
tentative booking is decided.

The messages are handed over between the station's and HQ's own functions (the station's
outbox events to `on_station_event`, HQ's downlink log to `apply_downlink`), in the order a
reconnecting link delivers them: each stream in seq order, the streams interleaved.
"""

from __future__ import annotations

import json
from contextlib import suppress
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from edge.domain.booking_state import BookingState
from edge.errors import RuleViolation, SlotTaken
from edge.services import bookings
from edge.services.cell_ownership import cell_owners
from edge.services.escrow import apply_downlink
from edge.store.types import from_db_time, to_db_time
from sync.hq import escrow as hq_escrow
from sync.hq.db import transaction
from tests.stations import NOW, make_station
from tests.sync.conftest import (backlog, hq_rows, reopen, start_hq, start_station_sync, sync_settings,
                                 wait_until)
from tests.test_escrow import ESCROW_CONFIG, MONDAY, at
from tests.test_escrow import station as escrow_station  # noqa: F401  (the fixture: a station with HQ's share)

STATION_ID = "TST-001"


class Link:
    """The two directions of the station's link to HQ, delivered by hand."""

    def __init__(self, station, engine) -> None:
        self.station, self.engine = station, engine
        self.up_seq = 0
        self.down_seq = {"booking": 0, "lease": 0}

    def up(self) -> int:
        """Deliver the station's new booking-stream events to HQ; how many."""
        with self.station.store.read() as conn:
            rows = conn.execute("SELECT seq, type, entity_id, idem_key, hlc, body, epoch, stream FROM outbox"
                                " WHERE stream = 'booking' AND seq > ? ORDER BY seq", (self.up_seq,)).fetchall()
        with transaction(self.engine) as session:
            for row in rows:
                event = {**dict(row), "body": json.loads(row["body"])}
                hq_escrow.on_station_event(session, STATION_ID, event, NOW)
        if rows:
            self.up_seq = rows[-1]["seq"]
        return len(rows)

    def down(self, stream: str) -> int:
        """Deliver HQ's new downlink messages of `stream` to the station; how many."""
        with transaction(self.engine) as session:
            rows = session.execute(text(
                "SELECT seq, type, body FROM hq_downlink WHERE station_id = :s AND stream = :t AND seq > :q ORDER BY seq"
            ), {"s": STATION_ID, "t": stream, "q": self.down_seq[stream]}).all()
        for row in rows:
            body = row.body if isinstance(row.body, dict) else json.loads(row.body)
            with self.station.store.write() as conn:
                apply_downlink(self.station, conn, row.type, body, NOW)
            self.down_seq[stream] = row.seq
        return len(rows)

    def heal(self) -> None:
        """Deliver both ways until nothing moves: answers to answers included."""
        for _ in range(10):
            moved = self.down("lease") + self.up() + self.down("booking") + self.up()
            if not moved:
                return
        raise AssertionError("the link never settled")


def confirmed_per_cell(station, engine) -> dict[tuple[str, str], set[str]]:
    """(bay, cell) -> the bookings confirmed on it, at the station and at HQ together."""
    per_cell: dict[tuple[str, str], set[str]] = {}
    with station.store.read() as conn:
        for bay, cell, booking_id in conn.execute(
            "SELECT c.bay_id, c.slot_start, b.id FROM slot_claim c JOIN booking b ON b.id = c.booking_id"
            " WHERE b.state IN ('confirmed', 'checked_in', 'in_service')"
        ):
            per_cell.setdefault((bay, cell), set()).add(booking_id)
    with transaction(engine) as session:
        for row in session.execute(text("SELECT b.booking_id, l.bay_id, l.cells FROM hq_escrow_booking b"
                                        " JOIN hq_escrow_leg l ON l.station_id = b.station_id"
                                        " AND l.booking_id = b.booking_id WHERE b.state = 'confirmed'")):
            cells = row.cells if isinstance(row.cells, list) else json.loads(row.cells)
            for cell in cells:
                per_cell.setdefault((row.bay_id, cell), set()).add(row.booking_id)
    return per_cell


def sell_everything(station, engine) -> tuple[list, list]:
    """Both sides sell every cell of both lifts, one customer each per cell, without talking."""
    station_made, hq_made = [], []
    for bay in ("L1", "L2"):
        for i, start in enumerate(cell.start for cell in station.grid(MONDAY)):
            # a side refusing a cell (taken, or no technician free) is an outcome this test expects
            with suppress(SlotTaken, RuleViolation):
                station_made.append(bookings.book(station, services=["TYRE"], start=start,
                                                  plate=f"沪S{i:02d}{bay}0", bay_id=bay, channel="walk_in"))
            with transaction(engine) as session, suppress(hq_escrow.EscrowRefused):
                hq_made.append(hq_escrow.book_app(session, STATION_ID, bay_id=bay, start=start, cells=1,
                                                  services=["TYRE"], plate=f"沪H{i:02d}{bay}0", now=NOW))
    assert any(b.state == BookingState.TENTATIVE for b in station_made)
    assert any(b.state == BookingState.CONFIRMED for b in station_made)
    assert {b["state"] for b in hq_made} == {"confirmed", "tentative"}
    # HQ also asks back the wash bay's cells, which the station has not sold
    with transaction(engine) as session:
        hq_escrow.revoke_lease(session, STATION_ID, bay_id="W1", start=at(8), end=at(18), now=NOW)
    return station_made, hq_made


def tentative_left(station, engine) -> int:
    with station.store.read() as conn:
        at_station = conn.execute("SELECT count(*) FROM booking WHERE state = 'tentative'").fetchone()[0]
    with transaction(engine) as session:
        at_hq = session.execute(text("SELECT count(*) FROM hq_escrow_booking WHERE state = 'tentative'")).scalar()
        leases = session.execute(text("SELECT count(*) FROM hq_lease WHERE state <> 'acked'")).scalar()
    return at_station + at_hq + leases


def assert_converged(station, engine) -> None:
    """One confirmed booking per cell at most, on both sides together; nothing left undecided."""
    sold = confirmed_per_cell(station, engine)
    for cell, booked in sold.items():
        assert len(booked) == 1, f"cell {cell} confirmed for {booked}"
    assert tentative_left(station, engine) == 0
    with transaction(engine) as session:
        hq_confirmed = {r[0] for r in session.execute(text(
            "SELECT booking_id FROM hq_escrow_booking WHERE origin = 'app' AND state = 'confirmed'"))}
    # every app booking HQ counts as confirmed stands confirmed at the station too
    assert hq_confirmed
    for booking_id in hq_confirmed:
        assert bookings.booking(station, booking_id).state == BookingState.CONFIRMED
    # every cell of both lifts was sold exactly once, to one side or the other
    grid = [cell.start for cell in station.grid(MONDAY)]
    assert all((bay, to_db_time(start)) in sold for bay in ("L1", "L2") for start in grid)
    assert set(cell_owners(station, MONDAY)[("W1", start)] for start in grid) == {"hq"}


def configure(engine) -> None:
    with transaction(engine) as session:
        hq_escrow.configure_station(session, STATION_ID, hq_share=0.3, block_minutes=120, slot_minutes=30, now=NOW)


def test_both_sides_sell_the_same_cells_while_cut_off_and_converge_without_double_booking(escrow_station, hq_engine):
    station = escrow_station
    configure(hq_engine)
    link = Link(station, hq_engine)
    owners = cell_owners(station, MONDAY)
    grid = [cell.start for cell in station.grid(MONDAY)]
    # one of HQ's runs is handed to the station before the link breaks (the near-term rule)
    granted_start = next(c for c in grid if owners[("L2", c)] == "hq")
    with transaction(hq_engine) as session:
        hq_escrow.grant_lease(session, STATION_ID, bay_id="L2", start=granted_start,
                              end=granted_start + timedelta(hours=1), now=NOW)
    link.down("lease")
    link.up()

    station_made, _ = sell_everything(station, hq_engine)
    link.heal()

    assert_converged(station, hq_engine)
    # the cells HQ granted were sold at the station, firm from the start
    granted = [b for b in station_made if b.bay_id == "L2" and granted_start <= b.start_at < granted_start
               + timedelta(hours=1)]
    assert granted and all(b.state == BookingState.CONFIRMED for b in granted)


def test_escrow_across_a_stopped_broker_converges_after_it_restarts(tmp_path, broker, keys, hq_engine, runners):
    """The same partition over the real link: Mosquitto stopped while both sides sell."""
    desk = make_station(tmp_path, config=ESCROW_CONFIG)  # the counter works on the test day's clock
    try:
        configure(hq_engine)
        start_hq(runners, hq_engine, keys, broker)
        sync = start_station_sync(runners, reopen(desk), sync_settings(broker, keys))
        wait_until(lambda: sync.link.connected, what="station connected")
        broker.stop()
        wait_until(lambda: not sync.link.connected, what="station noticed the outage")

        sell_everything(desk, hq_engine)
        assert tentative_left(desk, hq_engine) > 0
        broker.start()

        def settled() -> bool:
            return backlog(desk) == 0 and tentative_left(desk, hq_engine) == 0 and not hq_rows(
                hq_engine, "SELECT stream FROM hq_down_cursor WHERE applied_upto < last_seq")

        wait_until(settled, timeout=90, what="both sides settled")
        assert_converged(desk, hq_engine)
    finally:
        desk.store.close()


def test_hq_cli_books_and_leases_and_the_station_applies_it(escrow_station, tmp_path, capsys):
    from edge.cli.main import main
    from sync.hq.db import create_schema, open_engine

    db = str(tmp_path / "hq.db")

    def cli(*args: str) -> tuple[int, str]:
        code = main(["--json", "hq", *args, "--db", db])
        out, err = capsys.readouterr()
        return code, out + err

    assert cli("lease", "configure", STATION_ID, "--hq-share", "0.3")[0] == 0
    owners = cell_owners(escrow_station, MONDAY)
    grid = [cell.start for cell in escrow_station.grid(MONDAY)]
    hq_cell = next(c for c in grid if owners[("L1", c)] == "hq")
    code, out = cli("book", STATION_ID, "--bay", "L1", "--start", hq_cell.isoformat(), "--services", "TYRE",
                    "--plate", "沪A12345")
    assert code == 0 and json.loads(out)["state"] == "confirmed"
    code, out = cli("book", STATION_ID, "--bay", "L1", "--start", hq_cell.isoformat(), "--services", "TYRE",
                    "--plate", "沪B99999")
    assert code == 6 and "already sold" in out
    code, out = cli("book", STATION_ID, "--bay", "L1", "--start", "2026-11-23T09:00", "--services", "TYRE",
                    "--plate", "沪B99999")
    assert code == 2 and "--start" in out and "offset" in out
    free_hq = next(c for c in grid if owners[("L2", c)] == "hq")
    code, out = cli("lease", "grant", STATION_ID, "--bay", "L2", "--start", free_hq.isoformat(),
                    "--end", (free_hq + timedelta(hours=1)).isoformat())
    assert code == 0 and json.loads(out)[0]["token"] == 1
    code, out = cli("lease", "grant", STATION_ID, "--bay", "L1", "--bay", "L2", "--near-term", "--next-hours", "6")
    now = datetime.now(UTC)
    assert code == 0 and all(now <= from_db_time(c) < now + timedelta(hours=6) for x in json.loads(out)
                             for c in x["cells"])
    code, out = cli("lease", "grant", STATION_ID, "--bay", "L1", "--near-term", "--start", hq_cell.isoformat())
    assert code == 2 and "--near-term" in out
    engine = open_engine(db)
    create_schema(engine)
    try:
        link = Link(escrow_station, engine)
        link.heal()
        app = bookings.bookings_on(escrow_station, MONDAY)
        assert [(b.channel, b.state, b.start_at) for b in app] == [("app", BookingState.CONFIRMED, hq_cell)]
        assert cell_owners(escrow_station, MONDAY)[("L2", free_hq)] == "station"
        with transaction(engine) as session:
            assert session.execute(text("SELECT state FROM hq_lease")).scalar() == "acked"
    finally:
        engine.dispose()
