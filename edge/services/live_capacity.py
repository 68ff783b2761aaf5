"""Live capacity: technicians absent today take their skills off today's remaining cells.

The roster says who should be here; the clock-in readers say who is. For the station's
current day, from now on, a technician counts only while clocked in:
- clocked in now: the roster governs their cells, as on any day;
- clocked in earlier today and clocked out since: absent for the rest of the day (until
  they clock in again);
- not clocked in today: absent once their first shift of the day has begun CLOCK_IN_GRACE
  ago; before that (a later shift, or the first minutes of it) the roster governs.
The rule is on only where clock-in is in use: the station has a clock-in reader configured,
or someone has clocked in today (at the terminal). A station without readers keeps booking
by the roster alone. Future days always follow the roster.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from sqlite3 import Connection

from edge.domain.slots import day_bounds, local_day
from edge.services.station import Station
from edge.store.types import to_db_time

CLOCK_IN_GRACE = timedelta(minutes=15)
CLOCK_IN_DRIVERS = frozenset({"clock_in", "sim_clock_in"})


def uses_clock_in(station: Station) -> bool:
    return any(device.driver in CLOCK_IN_DRIVERS for device in station.settings.devices)


def absent_technicians(conn: Connection, station: Station, *, day: date, now: datetime) -> frozenset[str]:
    """Technicians who may not be given work on `day` from `now` on (empty unless `day` is today)."""
    if day != local_day(now, station.tz):
        return frozenset()
    first, last = day_bounds(day, station.tz)
    present: dict[str, bool] = {}
    # rows in clock-in order: a technician's latest stay today decides
    for technician_id, out in conn.execute(
        "SELECT technician_id, clocked_out_at FROM technician_presence"
        " WHERE clocked_in_at >= ? AND clocked_in_at < ? ORDER BY clocked_in_at, id",
        (to_db_time(first), to_db_time(last)),
    ):
        present[technician_id] = out is None
    if not present and not uses_clock_in(station):
        return frozenset()
    absent = set()
    for technician in station.catalog().technicians.values():
        if technician.id in present:
            if not present[technician.id]:
                absent.add(technician.id)
            continue
        shifts = station.shifts(technician, day)
        if shifts and shifts[0][0] + CLOCK_IN_GRACE <= now:
            absent.add(technician.id)
    return frozenset(absent)
