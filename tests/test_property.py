"""Property test: random booking operations never double-book a cell and never lose an event.

Hypothesis drives book / hold / confirm / cancel / reschedule / expire / check-in against
a real station database, with work in one leg (a wash, an oil change) and in two (the
package PKG: the lift, then the wash bay). After every step:
  * no two live bookings overlap on one bay (computed from the bookings' legs themselves);
  * every live booking's slot claims are exactly the cells its legs occupy, and its legs follow
    each other (each starts once the one before it and its bay's turnover are over);
  * no technician has two cars at once, and a leg needing skills has its technician's cells;
  * every booking has exactly one outbox event per version, and seqs are gap-free per stream.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from edge.domain.booking_state import LIVE_STATES, BookingState
from edge.domain.slots import cells_needed
from edge.errors import BookingError
from edge.services import bookings
from edge.services.station import open_station
from edge.store.types import to_db_time
from tests.stations import NOW, TEST_CONFIG, make_station

TZ = ZoneInfo("Asia/Shanghai")
MONDAY = date(2026, 11, 23)
CONFIG = TEST_CONFIG.replace("horizon_days = 3", "horizon_days = 30").replace("hold_minutes = 10", "hold_minutes = 20")
_TEMPLATE: Path | None = None


def template_dir() -> Path:
    """One migrated station, copied for every example (migrating each time would be slow)."""
    global _TEMPLATE
    if _TEMPLATE is None:
        root = Path(tempfile.mkdtemp(prefix="station-template-"))
        make_station(root, config=CONFIG).store.close()
        _TEMPLATE = root / "data"
    return _TEMPLATE


def start_at(day_offset: int, minute: int) -> datetime:
    day = MONDAY + timedelta(days=day_offset)
    return datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=TZ)


starts = st.builds(start_at, st.integers(0, 1), st.sampled_from(range(8 * 60, 18 * 60, 30)))
service_sets = st.sampled_from([["WASH"], ["OIL"], ["TYRE"], ["PKG"], ["OIL", "TYRE"], ["TYRE", "WASH"],
                                 ["WASH", "OIL"]])
bays = st.sampled_from([None, "W1", "L1", "L2"])


class BookingMachine(RuleBasedStateMachine):
    refs = Bundle("refs")

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="station-prop-"))
        shutil.copytree(template_dir(), self.dir / "data")
        self.now = NOW
        self.station = open_station(self.dir / "data", clock=lambda: self.now)
        self.accepted = 0
        self.expired_by_job = 0

    def teardown(self) -> None:
        self.station.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _apply(self, action, *args, **kwargs):
        try:
            result = action(self.station, *args, **kwargs)
        except BookingError:
            return None
        self.accepted += 1
        return result

    @rule(target=refs, services=service_sets, start=starts, bay=bays, hold=st.booleans())
    def book(self, services, start, bay, hold):
        booking = self._apply(bookings.book, services=services, start=start, plate="沪A12345", bay_id=bay, hold=hold)
        return booking.id if booking else "missing"

    @rule(ref=refs)
    def confirm(self, ref):
        self._check_version_step(ref, self._apply(bookings.confirm, ref))

    @rule(ref=refs)
    def cancel(self, ref):
        self._check_version_step(ref, self._apply(bookings.cancel, ref))

    @rule(ref=refs, start=starts, bay=bays)
    def reschedule(self, ref, start, bay):
        self._check_version_step(ref, self._apply(bookings.reschedule, ref, start=start, bay_id=bay))

    @rule(ref=refs)
    def check_in(self, ref):
        self._check_version_step(ref, self._apply(bookings.check_in, ref))

    @rule(minutes=st.integers(1, 30))
    def time_passes_and_holds_expire(self, minutes):
        self.now += timedelta(minutes=minutes)
        expired = bookings.expire_holds(self.station)
        assert all(b.state == BookingState.EXPIRED for b in expired)
        self.accepted += len(expired)
        self.expired_by_job += len(expired)

    def _check_version_step(self, ref, result):
        if result is not None:
            # one accepted change = one new version of exactly that booking
            assert result.id == ref or result.code == ref

    @invariant()
    def no_cell_is_double_booked_and_claims_match(self):
        with self.station.store.read() as conn:
            states = dict(conn.execute("SELECT id, state FROM booking").fetchall())
            legs = defaultdict(list)
            for row in conn.execute("SELECT booking_id, seq, bay_id, technician_id, start_at, services"
                                    " FROM booking_leg ORDER BY booking_id, seq"):
                legs[row[0]].append(row[1:])
            claims = defaultdict(set)
            for booking_id, bay_id, cell in conn.execute("SELECT booking_id, bay_id, slot_start FROM slot_claim"):
                claims[booking_id].add((bay_id, cell))
            tech_claims = defaultdict(set)
            for booking_id, tech, cell in conn.execute("SELECT booking_id, technician_id, slot_start FROM technician_claim"):
                tech_claims[booking_id].add((tech, cell))
        catalog = self.station.catalog()
        occupied: dict[tuple[str, str], str] = {}
        for booking_id, state in states.items():
            if state not in LIVE_STATES:
                assert not claims[booking_id] and not tech_claims[booking_id]
                continue
            cells, tech_cells, ready = set(), set(), None
            for _seq, bay_id, technician_id, start, services in legs[booking_id]:
                (leg,) = catalog.plan(json.loads(services)).legs
                first = datetime.fromisoformat(start.replace("Z", "+00:00"))
                assert ready is None or first >= ready, f"{booking_id}: a leg starts before the car is ready"
                ready = first + timedelta(minutes=leg.occupied_minutes)
                mine = {to_db_time(first + timedelta(minutes=30 * i))
                        for i in range(cells_needed(leg.occupied_minutes, 30))}
                cells |= {(bay_id, cell) for cell in mine}
                assert (technician_id is not None) == bool(leg.skills)
                if technician_id is not None:
                    tech_cells |= {(technician_id, cell) for cell in mine}
            for cell in cells:
                assert cell not in occupied, f"{cell} held by {occupied[cell]} and {booking_id}"
                occupied[cell] = booking_id
            assert claims[booking_id] == cells
            assert tech_claims[booking_id] == tech_cells

    @invariant()
    def one_event_per_accepted_change_and_gap_free_seqs(self):
        with self.station.store.read() as conn:
            versions = dict(conn.execute("SELECT id, version FROM booking").fetchall())
            expired = conn.execute("SELECT count(*) FROM booking WHERE state = 'expired'").fetchone()[0]
            events = conn.execute("SELECT stream, seq, entity_id, idem_key FROM outbox").fetchall()
        by_stream = defaultdict(list)
        for stream, seq, _entity, _key in events:
            by_stream[stream].append(seq)
        for stream, seqs in by_stream.items():
            assert sorted(seqs) == list(range(1, len(seqs) + 1)), stream
        keys = [key for _s, _q, entity, key in events if entity in versions]
        assert len(keys) == len(set(keys))
        assert sorted(keys) == sorted(f"booking:{b}:{v}" for b, n in versions.items() for v in range(1, n + 1))
        # each accepted call is one change; a booking also sweeps lapsed holds, one change each
        swept_on_the_way = expired - self.expired_by_job
        assert len(keys) == self.accepted + swept_on_the_way


BookingMachine.TestCase.settings = settings(
    max_examples=40, stateful_step_count=25, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_booking_operations_keep_the_invariants = BookingMachine.TestCase
