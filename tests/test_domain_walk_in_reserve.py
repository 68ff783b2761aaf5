"""The walk-in reserve, pure: which cells are kept back, spread over the day and the bays, and for whom."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from edge.domain.slots import slot_grid
from edge.domain.walk_in_reserve import WalkInReserve, spread

TZ = ZoneInfo("Asia/Shanghai")
MONDAY = date(2026, 11, 23)
# 08:00-18:00 in 30-minute cells: 20 a bay
GRID = slot_grid(MONDAY, {0: ((8 * 60, 18 * 60),)}, frozenset(), TZ, 30)
STARTS = [cell.start for cell in GRID]
BAYS = [("W1", "wash"), ("L1", "lift"), ("L2", "lift")]


def at(hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 11, 23, hh, mm, tzinfo=TZ).astimezone(UTC)


def test_a_share_of_one_bay_is_every_kth_cell_from_the_middle_of_its_stretch():
    assert spread(STARTS, ["W1"], 0.25) == {("W1", at(h, m)) for h, m in
                                            ((9, 0), (11, 0), (13, 0), (15, 0), (17, 0))}
    assert spread(STARTS, ["W1"], 0.0) == frozenset()
    assert spread(STARTS, ["W1"], 1.0) == {("W1", s) for s in STARTS}


def test_the_count_is_the_share_of_the_kinds_cells_rounded():
    for share, count in ((0.2, 8), (0.24, 10), (0.01, 0), (0.5, 20), (0.33, 13)):
        assert len(spread(STARTS, ["L1", "L2"], share)) == count


def test_the_reserve_rotates_over_the_bays_of_a_kind_and_is_spread_over_the_whole_day():
    cells = spread(STARTS, ["L1", "L2"], 0.2)
    per_bay = Counter(bay for bay, _ in cells)
    assert per_bay == {"L1": 4, "L2": 4}
    times = sorted(start for _, start in cells)
    # as many before noon as after: not all the morning, and no two on one start
    assert sum(t < at(13) for t in times) == 4 and len(set(times)) == 8
    # the gaps between reserved starts differ by at most one cell
    gaps = {b - a for a, b in zip(times, times[1:])}
    assert max(gaps) - min(gaps) <= timedelta(minutes=30)
    # the bays take turns along the day
    order = [bay for _, bay in sorted((start, bay) for bay, start in cells)]
    assert order == ["L1", "L2"] * 4


def test_more_than_one_bays_worth_reserves_several_bays_at_a_start_never_one_cell_twice():
    cells = spread(STARTS, ["L1", "L2"], 0.75)
    assert len(cells) == 30 and Counter(bay for bay, _ in cells) == {"L1": 15, "L2": 15}


def test_the_day_is_the_same_whoever_computes_it_and_kinds_keep_their_own_share():
    reserve = WalkInReserve(shares={"wash": 0.25, "lift": 0.2}, cutoff_minutes=120)
    cells = reserve.cells(GRID, BAYS)
    assert cells == reserve.cells(GRID, list(BAYS)) == WalkInReserve({"lift": 0.2, "wash": 0.25}).cells(GRID, BAYS)
    assert Counter(bay for bay, _ in cells) == {"W1": 5, "L1": 4, "L2": 4}
    # a kind not configured keeps nothing; a configured kind with no bay today reserves nothing
    assert WalkInReserve({"film": 0.5}).cells(GRID, BAYS) == frozenset()
    assert WalkInReserve({"wash": 0.25}).cells((), BAYS) == frozenset()


def test_phone_and_app_are_kept_off_until_the_cutoff_walk_ins_and_the_counter_never():
    reserve = WalkInReserve(shares={"wash": 0.25}, cutoff_minutes=120)
    nine = ("W1", at(9))
    assert nine in reserve.cells(GRID, BAYS)
    assert reserve.opens_at(at(9)) == at(7)
    for channel in ("phone", "app", "hq"):
        assert reserve.binds(channel)
        assert nine in reserve.closed(GRID, BAYS, channel=channel, now=at(6, 59))
        # from 07:00 the 09:00 cell is open to everyone; the 11:00 one is still kept
        closed = reserve.closed(GRID, BAYS, channel=channel, now=at(7))
        assert nine not in closed and ("W1", at(11)) in closed
    for channel in ("walk_in", "terminal"):
        assert not reserve.binds(channel)
        assert reserve.closed(GRID, BAYS, channel=channel, now=at(6)) == frozenset()


def test_no_reserve_binds_no_one():
    assert not WalkInReserve().binds("phone")
    assert not WalkInReserve({"wash": 0.0}).binds("app")
