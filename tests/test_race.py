"""Eight OS processes race for the same cells: exactly one wins each round.

One race is for a wash cell, 200 rounds. The other is for bookings in legs, 54 rounds: three
processes book the package PKG (an oil change on lift L1, then the wash) and three the same
package from lift L2, all at the same start, and two book a plain wash at the cell the
package's second leg needs. Every contender needs that wash cell, so one booking wins it
and the others are refused, whichever leg they lose on.
"""

from __future__ import annotations

import multiprocessing
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from tests.stations import TEST_CONFIG, make_station

WORKERS = 8
ROUNDS = 200
TZ = ZoneInfo("Asia/Shanghai")
# a guest may book a month ahead here, with no hot slots, so 200 distinct cells are bookable
RACE_CONFIG = TEST_CONFIG.split("[booking.hot_slots]")[0].replace("horizon_days = 3", "horizon_days = 30")
# a car may not wait between legs here: the package's wash is the cell right after the lift's
LEG_RACE_CONFIG = RACE_CONFIG.replace("waitlist_offer_minutes = 20", "waitlist_offer_minutes = 20\nleg_max_wait_minutes = 0")
LEG_ROUNDS = 54


def _worker(data_dir: str, starts: list[str], barrier, results) -> None:
    from edge.errors import SlotTaken
    from edge.services import bookings
    from edge.services.station import open_station

    station = open_station(data_dir)
    station.catalog()  # load outside the race so every round starts even
    pid = multiprocessing.current_process().name
    for round_number, start in enumerate(starts):
        barrier.wait()
        try:
            booking = bookings.book(
                station, services=["WASH"], start=datetime.fromisoformat(start),
                plate=f"沪R{round_number:03d}{pid[1:]:0>2}",  # eight cars race for the cell
                bay_id="W1", channel="phone",
            )
            results.put((round_number, pid, "won", booking.id))
        except SlotTaken as err:
            results.put((round_number, pid, "taken", str(err)))
        except Exception as err:  # anything else is a failure the parent reports
            results.put((round_number, pid, "error", repr(err)))
    station.store.close()


def race(worker, data_dir: str, starts: list[str]) -> list[tuple]:
    """Run `worker` in WORKERS spawned processes over the same `starts`, a barrier before each
    round; every (round, process, outcome, detail) they report."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(WORKERS)
    results = context.Queue()
    workers = [context.Process(target=worker, args=(data_dir, starts, barrier, results), name=f"w{i}")
               for i in range(WORKERS)]
    for process in workers:
        process.start()
    outcomes = [results.get(timeout=120) for _ in range(WORKERS * len(starts))]
    for process in workers:
        process.join(timeout=60)
        assert process.exitcode == 0
    return outcomes


def race_cells() -> list[str]:
    """200 washing cells from tomorrow on (08:00-18:00, 30 minutes), as ISO strings."""
    tomorrow = datetime.now(TZ).date() + timedelta(days=1)
    cells = []
    day: date = tomorrow
    while len(cells) < ROUNDS:
        for minute in range(8 * 60, 18 * 60, 30):
            cells.append(datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=TZ).isoformat())
        day += timedelta(days=1)
    return cells[:ROUNDS]


def test_exactly_one_of_eight_processes_wins_each_cell(tmp_path):
    station = make_station(tmp_path, config=RACE_CONFIG)
    station.store.close()
    outcomes = race(_worker, str(tmp_path / "data"), race_cells())

    errors = [o for o in outcomes if o[2] == "error"]
    assert not errors, errors[:3]
    for round_number in range(ROUNDS):
        this_round = [o for o in outcomes if o[0] == round_number]
        winners = [o for o in this_round if o[2] == "won"]
        losers = [o for o in this_round if o[2] == "taken"]
        assert len(winners) == 1, this_round
        assert len(losers) == WORKERS - 1
        assert all("W1 is already booked at" in o[3] for o in losers)

    with station.store.read() as conn:
        assert conn.execute("SELECT count(*) FROM booking").fetchone()[0] == ROUNDS
        assert conn.execute("SELECT count(*) FROM slot_claim").fetchone()[0] == ROUNDS
        events = [r[0] for r in conn.execute("SELECT seq FROM outbox WHERE stream = 'booking' ORDER BY seq")]
    assert events == list(range(1, ROUNDS + 1))  # no gaps left by the losers' rolled-back attempts


def _leg_worker(data_dir: str, starts: list[str], barrier, results) -> None:
    from edge.errors import SlotTaken
    from edge.services import bookings
    from edge.services.station import open_station

    station = open_station(data_dir)
    station.catalog()
    pid = multiprocessing.current_process().name
    number = int(pid[1:])
    for round_number, start in enumerate(starts):
        first = datetime.fromisoformat(start)
        if number % 4 == 3:  # w3 and w7: a plain wash on the cell the package's wash leg needs
            ask = dict(services=["WASH"], start=first + timedelta(hours=1), bay_id="W1")
        else:  # the package from lift L1 (w0, w2, w5) or L2 (w1, w4, w6)
            ask = dict(services=["PKG"], start=first, bay_id="L1" if number in (0, 2, 5) else "L2")
        barrier.wait()
        try:
            booking = bookings.book(station, plate=f"沪L{round_number:03d}{number:0>2}", channel="phone", **ask)
            results.put((round_number, pid, "won", booking.id))
        except SlotTaken as err:
            results.put((round_number, pid, "taken", str(err)))
        except Exception as err:
            results.put((round_number, pid, "error", repr(err)))
    station.store.close()


def leg_race_starts() -> list[str]:
    """Package starts an hour apart from tomorrow on (08:00 to 16:00), so rounds never share a cell."""
    day: date = datetime.now(TZ).date() + timedelta(days=1)
    starts = []
    while len(starts) < LEG_ROUNDS:
        starts += [datetime(day.year, day.month, day.day, hour, tzinfo=TZ).isoformat() for hour in range(8, 17)]
        day += timedelta(days=1)
    return starts[:LEG_ROUNDS]


def test_bookings_in_legs_racing_for_an_overlapping_leg_leave_exactly_one_winner(tmp_path):
    station = make_station(tmp_path, config=LEG_RACE_CONFIG)
    station.store.close()
    outcomes = race(_leg_worker, str(tmp_path / "data"), leg_race_starts())

    errors = [o for o in outcomes if o[2] == "error"]
    assert not errors, errors[:3]
    won: dict[str, int] = {}
    for round_number in range(LEG_ROUNDS):
        this_round = [o for o in outcomes if o[0] == round_number]
        winners = [o for o in this_round if o[2] == "won"]
        assert len(winners) == 1, this_round
        won[winners[0][3]] = round_number
    with station.store.read() as conn:
        claimed = conn.execute("SELECT booking_id, bay_id, slot_start FROM slot_claim").fetchall()
        kinds = dict(conn.execute("SELECT id, package_code FROM booking").fetchall())
        legs = conn.execute("SELECT count(*) FROM booking_leg").fetchone()[0]
    assert set(kinds) == set(won)
    packages = sum(1 for code in kinds.values() if code == "PKG")
    assert 0 < packages < LEG_ROUNDS  # both kinds of contender won some rounds
    # a package holds two lift cells and one wash cell, a wash one cell: nothing more, nothing twice
    assert len(claimed) == packages * 3 + (LEG_ROUNDS - packages)
    assert len({(bay, cell) for _booking, bay, cell in claimed}) == len(claimed)
    assert legs == packages * 2 + (LEG_ROUNDS - packages)
