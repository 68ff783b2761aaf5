"""Slot grid in local time, including daylight-saving days, and capacity arithmetic."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from edge.domain.capacity import rostered_cells, start_options
from edge.domain.legs import leg_window
from edge.domain.catalog import Bay, Catalog, Package, ServiceItem, Technician
from edge.domain.slots import cells_needed, day_bounds, local_intervals, slot_grid
from edge.errors import NotFound, RuleViolation

ALL_DAY = {d: ((0, 1440),) for d in range(7)}
NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")


def local_labels(cells, tz):
    return [c.start.astimezone(tz).strftime("%H:%M%z") for c in cells]


@pytest.mark.parametrize(
    ("tz", "day", "expected_slots"),
    [
        (NEW_YORK, date(2026, 3, 8), 46),   # spring forward: 23 hours
        (NEW_YORK, date(2026, 11, 1), 50),  # fall back: 25 hours
        (NEW_YORK, date(2026, 6, 1), 48),
        (BERLIN, date(2026, 3, 29), 46),
        (BERLIN, date(2026, 10, 25), 50),
    ],
)
def test_a_24_hour_station_has_the_real_number_of_slots_on_dst_days(tz, day, expected_slots):
    grid = slot_grid(day, ALL_DAY, frozenset(), tz, 30)
    assert len(grid) == expected_slots
    first, last = day_bounds(day, tz)
    assert grid[0].start == first and grid[-1].end == last
    # consecutive, each exactly 30 real minutes
    assert all(b.start == a.end for a, b in zip(grid, grid[1:]))
    assert all(c.end - c.start == timedelta(minutes=30) for c in grid)


def test_spring_forward_skips_the_missing_hour_and_fall_back_repeats_one():
    spring = local_labels(slot_grid(date(2026, 3, 8), ALL_DAY, frozenset(), NEW_YORK, 60), NEW_YORK)
    assert spring[:4] == ["00:00-0500", "01:00-0500", "03:00-0400", "04:00-0400"]
    autumn = local_labels(slot_grid(date(2026, 11, 1), ALL_DAY, frozenset(), NEW_YORK, 60), NEW_YORK)
    assert autumn[:4] == ["00:00-0400", "01:00-0400", "01:00-0500", "02:00-0500"]


def test_daytime_hours_on_dst_days_keep_their_wall_clock_times():
    hours = {d: ((8 * 60, 12 * 60),) for d in range(7)}
    for day in (date(2026, 3, 8), date(2026, 11, 1)):
        grid = slot_grid(day, hours, frozenset(), NEW_YORK, 30)
        assert len(grid) == 8
        assert local_labels(grid, NEW_YORK)[0].startswith("08:00")
        assert grid[-1].end.astimezone(NEW_YORK).strftime("%H:%M") == "12:00"


def test_opening_inside_the_skipped_hour_moves_forward_like_the_clock():
    hours = {6: ((2 * 60 + 30, 5 * 60),)}  # Sunday 02:30-05:00; 02:30 does not exist on 2026-03-08
    grid = slot_grid(date(2026, 3, 8), hours, frozenset(), NEW_YORK, 30)
    assert local_labels(grid, NEW_YORK)[0] == "03:30-0400"
    assert grid[-1].end.astimezone(NEW_YORK).strftime("%H:%M") == "05:00"


def test_closed_days_and_split_shifts():
    hours = {0: ((8 * 60, 12 * 60), (13 * 60, 17 * 60))}
    shanghai = ZoneInfo("Asia/Shanghai")
    monday = date(2026, 11, 23)
    grid = slot_grid(monday, hours, frozenset(), shanghai, 60)
    assert [c.segment for c in grid] == [0] * 4 + [1] * 4
    assert slot_grid(monday, hours, frozenset({monday}), shanghai, 60) == ()
    assert slot_grid(monday + timedelta(days=1), hours, frozenset(), shanghai, 60) == ()


def test_cells_needed_rounds_up():
    assert cells_needed(30, 30) == 1
    assert cells_needed(31, 30) == 2
    assert cells_needed(60, 30) == 2
    assert cells_needed(0, 30) == 1


def _catalog() -> Catalog:
    services = {
        "OIL": ServiceItem("OIL", "保养", "Oil", "maintenance", 45, 15, 29900, "mechanic", frozenset({"lift"})),
        "WASH": ServiceItem("WASH", "洗车", "Wash", "wash", 30, 0, 3000, None, frozenset({"wash", "lift"})),
        "FILM": ServiceItem("FILM", "贴膜", "Film", "film", 240, 30, 300000, "film", frozenset({"film"})),
    }
    return Catalog(
        version="v1",
        services=services,
        packages={"PKG": Package("PKG", "套餐", "Pkg", ("OIL", "WASH"), 31000)},
        bays={
            "L1": Bay("L1", "Lift", "lift", frozenset({"OIL", "WASH"})),
            "W1": Bay("W1", "Wash", "wash", frozenset({"WASH"})),
            "L9": Bay("L9", "Broken lift", "lift", frozenset({"OIL", "WASH"}), in_service=False),
        },
        technicians={"T1": Technician("T1", "Wang", frozenset({"mechanic"}), {0: ((8 * 60, 12 * 60),)})},
    )


def test_work_plan_sums_durations_takes_longest_buffer_and_package_price():
    catalog = _catalog()
    plan = catalog.plan(["PKG"])
    (leg,) = plan.legs  # L1 does both: one leg
    assert plan.duration_minutes == 75 and leg.buffer_minutes == 15 and leg.occupied_minutes == 90
    assert plan.price_minor == 31000 and plan.package_code == "PKG"
    assert plan.skills == {"mechanic"}
    assert catalog.plan(["OIL", "WASH"]).price_minor == 32900
    assert [b.id for b in catalog.bays_for(leg)] == ["L1"]  # L9 is out of service, W1 cannot do OIL
    with pytest.raises(NotFound, match="NOPE"):
        catalog.plan(["NOPE"])
    with pytest.raises(RuleViolation, match="twice"):
        catalog.plan(["PKG", "OIL"])


def test_start_options_need_free_cells_and_a_free_rostered_technician():
    catalog = _catalog()
    tz = ZoneInfo("Asia/Shanghai")
    monday = date(2026, 11, 23)
    hours = {0: ((8 * 60, 14 * 60),)}
    grid = slot_grid(monday, hours, frozenset(), tz, 30)
    plan = catalog.plan(["OIL"])  # 60 occupied minutes = 2 cells
    t1 = catalog.technicians["T1"]
    shifts = {"T1": local_intervals(monday, t1.shifts[0], tz)}
    assert len(rostered_cells(shifts["T1"], grid)) == 8  # 08:00-12:00
    at = lambda hh, mm: datetime(2026, 11, 23, hh, mm, tzinfo=tz).astimezone(UTC)  # noqa: E731
    options = start_options(
        plan=plan, grid=grid, slot_minutes=30, bays=catalog.bays_for(plan.legs[0]), technicians=[t1], shifts=shifts,
        bay_claims={"L1": {at(9, 0)}}, technician_claims={"T1": {at(10, 30)}},
    )
    starts = [o.start.astimezone(tz).strftime("%H:%M") for o in options]
    # 08:30 would need the claimed 09:00 cell; 10:00 and 10:30 need T1 at 10:30; 11:30 runs past his shift
    assert starts == ["08:00", "09:30", "11:00"]
    assert all(o.technician_ids == ("T1",) for o in options)
    assert leg_window(grid, at(13, 30), plan.legs[0], 30) is None  # runs past closing
    assert leg_window(grid, at(8, 10), plan.legs[0], 30) is None  # not the start of a cell
    assert leg_window(grid, at(13, 0), plan.legs[0], 30) == (at(13, 0), at(13, 30))
