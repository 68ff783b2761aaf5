"""The legs of an app booking HQ sold: checked against this station's catalogue and leg rules,
then given technicians where one is free.

HQ knows neither the station's bays nor its leg rules, so the app names every leg (a bay, its
first cell, its cells) and the station checks that they make the work it asks for: as many
legs as the work splits into here, each on a bay able to do its services, with the cells its
work and the bay's turnover take, and each leg starting when the car can be there after the
one before it (the transfer gap, waiting at most the longest wait), the same rules placement
follows when the station books the work itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlite3 import Connection

from edge.domain.catalog import Bay, WorkPlan
from edge.domain.legs import leg_window, starts_from
from edge.domain.slots import local_day
from edge.errors import RuleViolation, SlotTaken
from edge.services.placement import PlacedLeg, Placement, Wishes, choose_placement
from edge.services.station import Station


@dataclass(frozen=True, slots=True)
class AppLeg:
    """A leg as HQ sent it: the bay and the starts of its cells."""

    bay: Bay
    starts: tuple[datetime, ...]


def check_app_legs(station: Station, plan: WorkPlan, legs: Sequence[AppLeg]) -> None:
    """RuleViolation naming the first leg that does not make `plan` as this station would do it."""
    work = "+".join(plan.service_codes)
    if len(legs) != len(plan.legs):
        raise RuleViolation(f"{work} is {len(plan.legs)} leg(s) at this station, the app booking has {len(legs)}")
    catalog, rules = station.catalog(), station.leg_rules
    grid = station.grid(local_day(legs[0].starts[0], station.tz))
    for number, (leg, app) in enumerate(zip(plan.legs, legs), 1):
        name, start = "+".join(leg.service_codes), app.starts[0]
        if app.bay.id not in {bay.id for bay in catalog.bays_for(leg)}:
            raise RuleViolation(f"leg {number}: bay {app.bay.id} cannot do {name} (or is out of service)")
        window = leg_window(grid, start, leg, station.slot_minutes)
        if window is None:
            raise RuleViolation(f"leg {number}: {name} from {station.local(start):%Y-%m-%d %H:%M} is off the "
                                "slot grid or runs past closing time")
        if window != app.starts:
            raise RuleViolation(f"leg {number}: {name} takes {len(window)} cell(s), the app booking has "
                                f"{len(app.starts)}")
        if number > 1:
            before, came = plan.legs[number - 2], legs[number - 2]
            ready = rules.ready_at(before, came.starts[0], came.bay.kind, app.bay.kind)
            if start not in starts_from(grid, ready, rules.max_wait_minutes):
                raise RuleViolation(
                    f"leg {number}: {name} may start from {station.local(ready):%H:%M}, within "
                    f"{rules.max_wait_minutes} minutes, not at {station.local(start):%H:%M}")


def place_app_legs(conn: Connection, station: Station, plan: WorkPlan, legs: Sequence[AppLeg], *, now: datetime,
                   need_technician: bool) -> Placement:
    """Each leg on exactly HQ's cells, with a technician free for it where the leg needs one.

    A leg that does not fit there (taken, no one free, other cells than its work needs) raises
    when `need_technician` (the station decides on a request), and otherwise stays on HQ's cells
    without a technician: HQ sold its own cells, so the bay is the customer's even if the roster
    has no one free yet."""
    catalog = station.catalog()
    placed = []
    for leg, app in zip(plan.legs, legs, strict=True):
        technician_id = None
        try:
            fit = choose_placement(conn, station, plan=catalog.plan(leg.service_codes), start=app.starts[0],
                                   now=now, wishes=Wishes(bay_id=app.bay.id)).legs[0]
            if fit.starts != app.starts:
                raise RuleViolation(f"{'+'.join(leg.service_codes)} needs {len(fit.starts)} cells, "
                                    f"the app booking has {len(app.starts)}")
            technician_id = fit.technician_id
        except (RuleViolation, SlotTaken):
            if need_technician:
                raise
        placed.append(PlacedLeg(leg, app.bay, technician_id, app.starts))
    return Placement(tuple(placed))
