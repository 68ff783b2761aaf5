"""Eight OS processes race for the same cell, 200 rounds: exactly one wins each round."""

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
    starts = race_cells()
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(WORKERS)
    results = context.Queue()
    workers = [
        context.Process(target=_worker, args=(str(tmp_path / "data"), starts, barrier, results), name=f"w{i}")
        for i in range(WORKERS)
    ]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=120) for _ in range(WORKERS * ROUNDS)]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0

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
