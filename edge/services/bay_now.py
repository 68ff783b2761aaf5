"""What is in each bay now: the booking whose car is in it (or waits for it), the sensor's reading, and where they disagree.

One model for the board, the `bookings` listing, `doctor` and the daemon:

- a booking is *in the bay* when it is checked in or in service on that bay and its progress
  is in bay, in service, waiting for parts or quality check, whatever its slot says (a car
  that came early and was moved in is in the bay before its start);
- a checked-in booking not yet moved in is *waiting* for its bay, and shows on that bay;
- the sensor reads free, occupied, unknown (fallen silent) or stuck; `none` when the bay has
  no sensor;
- a bay is occupied when a booking is in it or its sensor (not stuck) says occupied: it is
  never called free with a car in it;
- sensor and booking disagree when the sensor says free with a booking in the bay, or
  occupied with none (a car that completed moments ago is leaving, not a disagreement).

At most one booking is in a bay at a time (edge.services.one_car_per_bay).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from sqlite3 import Connection

from edge.domain.booking_state import BookingState
from edge.domain.catalog import Catalog
from edge.services.booking_store import BookingRecord, query_bookings
from edge.services.live_state import BayLive, bay_states
from edge.services.one_car_per_bay import IN_BAY_WHERE, ON_SITE, is_in_bay
from edge.services.station import Station
from edge.store.types import to_db_time

# a car whose booking completed this recently may still be driving out past the sensor
LEAVING_GRACE = timedelta(minutes=15)
# a car waiting for its bay, or driving out of it, has a booking starting within this of now
ON_SITE_WINDOW = timedelta(days=1)
SENSOR_READINGS = ("free", "occupied", "unknown", "stuck", "none")
# disagreements between the sensor and the bookings
CAR_NOT_SENSED = "car_not_sensed"  # sensor says free, a booking says the car is in the bay
CAR_NOT_BOOKED = "car_not_booked"  # sensor says occupied, no booking is in the bay


@dataclass(frozen=True, slots=True)
class BayNow:
    bay_id: str
    in_service: bool  # the catalogue's word: False when the bay is out of service
    in_bay: BookingRecord | None  # the booking whose car is in the bay
    waiting: tuple[BookingRecord, ...]  # checked in for this bay, not yet moved in
    sensor: str  # one of SENSOR_READINGS
    sensor_since: datetime | None
    leaving: BookingRecord | None = None  # completed moments ago; the sensor may still see it
    disagreement: str | None = None  # CAR_NOT_SENSED, CAR_NOT_BOOKED or None

    @property
    def state(self) -> str:
        """free, occupied, unknown or out_of_service: what the bay is, never free with a car in it."""
        if self.in_bay is not None or self.sensor == "occupied":
            return "occupied"
        if not self.in_service:
            return "out_of_service"
        if self.sensor in ("unknown", "stuck"):
            return "unknown"
        return "free"

    def disagreement_text(self) -> str:
        """The disagreement in words, naming the booking: for logs, `doctor` and the CLI ("" when none)."""
        if self.disagreement == CAR_NOT_SENSED and self.in_bay is not None:
            return f"sensor says free, booking {self.in_bay.code} ({self.in_bay.plate}) says in bay"
        if self.disagreement == CAR_NOT_BOOKED:
            return "sensor says occupied, no booking in bay"
        return ""


def bays_now(station: Station, *, now: datetime | None = None) -> list[BayNow]:
    """Every bay of the station, read in one snapshot."""
    now = now or station.clock()
    with station.store.read() as conn:
        return list(bays_from(station.catalog(), bay_states(station), on_site_bookings(conn, now), now))


def on_site_bookings(conn: Connection, now: datetime) -> list[BookingRecord]:
    """The bookings in a bay (any day: a car left in a bay overnight is still in it), those checked
    in and waiting, and those completed within LEAVING_GRACE of `now`, oldest change first."""
    in_bay = query_bookings(conn, IN_BAY_WHERE, ())
    around = query_bookings(  # through the start index: waiting and leaving cars are today's
        conn, "start_at >= ? AND start_at < ? AND (state IN (?, ?) OR (state = ? AND updated_at >= ?))",
        (to_db_time(now - ON_SITE_WINDOW), to_db_time(now + ON_SITE_WINDOW), BookingState.CHECKED_IN,
         BookingState.IN_SERVICE, BookingState.COMPLETED, to_db_time(now - LEAVING_GRACE)),
    )
    unique = {b.id: b for b in (*in_bay, *around)}
    return sorted(unique.values(), key=lambda b: (b.updated_at, b.id))


def bays_from(catalog: Catalog, live: dict[str, BayLive], bookings: list[BookingRecord] | tuple[BookingRecord, ...],
              now: datetime) -> tuple[BayNow, ...]:
    """The bays from the live sensor state and the bookings at the station (no I/O)."""
    rows = []
    for bay in catalog.bays.values():
        mine = [b for b in bookings if b.bay_id == bay.id]
        in_bay = next((b for b in reversed(mine) if is_in_bay(b)), None)
        waiting = tuple(sorted((b for b in mine if b.state in ON_SITE and not is_in_bay(b)),
                               key=lambda b: b.start_at))
        leaving = next((b for b in reversed(mine) if b.state == BookingState.COMPLETED
                        and now - b.updated_at <= LEAVING_GRACE), None)
        sensor, since = _reading(live.get(bay.id))
        rows.append(BayNow(bay.id, bay.in_service, in_bay, waiting, sensor, since, leaving,
                           _disagreement(sensor, in_bay, leaving)))
    return tuple(rows)


def _reading(live: BayLive | None) -> tuple[str, datetime | None]:
    if live is None or live.source is None:
        return "none", None
    return ("stuck" if live.stuck else live.occupancy), live.since


def _disagreement(sensor: str, in_bay: BookingRecord | None, leaving: BookingRecord | None) -> str | None:
    if sensor == "free" and in_bay is not None:
        return CAR_NOT_SENSED
    if sensor == "occupied" and in_bay is None and leaving is None:
        return CAR_NOT_BOOKED
    return None
