"""Station reports read from the store: the queries behind each section, in one read snapshot.

The arithmetic lives in edge.domain.reports; this module only asks SQLite. Bookings belong
to a period by their start (station-local days); money by the time it moved, read from the
money ledger. The `feedback` table is looked up in sqlite_master first, so a database without
it (not yet migrated) reports "not recorded yet" instead of failing.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from edge.domain import reports as domain
from edge.domain.booking_state import BookingState
from edge.domain.money_ledger import money_totals
from edge.domain.reports import Period, Report, Section
from edge.services.station import Station
from edge.store.types import from_db_time, to_db_time

SECTIONS = ("bookings", "no_show", "wait", "utilisation", "technicians", "revenue", "top_services", "members")

# the outbox events a booking's timeline is read from
_TIMELINE_EVENTS = ("booking.checked_in", "booking.progress", "booking.completed")

# A booking's technician in the reports: the first of its legs that needed one (a booking in
# legs ends on its last leg, often the wash, which needs none; the job was the mechanic's).
_LEAD_TECHNICIAN = ("(SELECT l.technician_id FROM booking_leg l WHERE l.booking_id = b.id"
                    " AND l.technician_id IS NOT NULL ORDER BY l.seq LIMIT 1)")
# Ratings per technician, from `feedback(booking_id, rating)` (`station-edge feedback`).
RATINGS_QUERY = (
    f"SELECT {_LEAD_TECHNICIAN} AS lead, count(f.rating), avg(f.rating) FROM feedback f JOIN booking b"
    " ON b.id = f.booking_id WHERE b.start_at >= ? AND b.start_at < ? AND f.rating IS NOT NULL"
    " GROUP BY lead HAVING lead IS NOT NULL"
)
# The period's money: every posting of the money ledger summed by kind, account and detail.
LEDGER_QUERY = (
    "SELECT kind, account, detail, sum(amount_minor) FROM ledger_entry WHERE created_at >= ? AND created_at < ?"
    " GROUP BY kind, account, detail"
)
# receipts taken and refunds given in the period
COUNTS_QUERY = (
    "SELECT count(DISTINCT CASE WHEN kind = 'sale' THEN txn_id END),"
    " count(DISTINCT CASE WHEN kind = 'refund' THEN txn_id END)"
    " FROM ledger_entry WHERE created_at >= ? AND created_at < ?"
)


def station_report(
    station: Station,
    period: Period,
    sections: Sequence[str] = SECTIONS,
    *,
    top: int = 10,
    now: datetime | None = None,
) -> Report:
    """The report of `period` with the named sections, in the order given, from one read snapshot."""
    unknown = [name for name in sections if name not in SECTIONS]
    if unknown:
        raise ValueError(f"unknown report section {unknown[0]!r} (one of {', '.join(SECTIONS)})")
    settings = station.settings.station
    with station.store.read() as conn:
        facts = _Facts(conn, station, period, now or station.clock(), top)
        built = tuple(getattr(facts, name)() for name in dict.fromkeys(sections))
    return Report(settings.id, period, settings.currency, settings.currency_minor_digits, built)


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone() is not None


@dataclass
class _Facts:
    """The rows a report is built from, each read once and shared by the sections that need it."""

    conn: sqlite3.Connection
    station: Station
    period: Period
    now: datetime
    top: int

    @cached_property
    def _range(self) -> tuple[str, str]:
        start, end = self.period.bounds(self.station.tz)
        return to_db_time(start), to_db_time(end)

    @cached_property
    def _state_counts(self) -> list[tuple[str, str, int]]:
        rows = self.conn.execute(
            "SELECT channel, state, count(*) FROM booking WHERE start_at >= ? AND start_at < ?"
            " GROUP BY channel, state",
            self._range,
        )
        return [tuple(row) for row in rows]

    @cached_property
    def _bays(self) -> list[sqlite3.Row]:
        return self.conn.execute("SELECT id, kind FROM bay WHERE active = 1 ORDER BY position, id").fetchall()

    @cached_property
    def _timelines(self) -> dict[str, domain.Timeline]:
        # Each booking's events are found through the outbox primary key: its idempotency key
        # is 'booking:<id>:<version>' (edge.services.booking_store.record_event), so a range on
        # it reads just that booking's rows. CROSS JOIN keeps bookings the outer loop; left to
        # itself the planner scans the whole outbox, which only grows.
        marks = ", ".join("?" * len(_TIMELINE_EVENTS))
        rows = self.conn.execute(
            "SELECT b.id, b.bay_id, o.type, o.created_at,"
            " json_extract(o.body, '$.booking.progress') AS progress"
            " FROM booking b CROSS JOIN outbox o"
            " ON o.idem_key >= 'booking:' || b.id || ':' AND o.idem_key < 'booking:' || b.id || ';'"
            f" WHERE b.start_at >= ? AND b.start_at < ? AND o.entity_id = b.id AND o.type IN ({marks})",
            (*self._range, *_TIMELINE_EVENTS),
        )
        events: dict[tuple[str, str], list] = defaultdict(list)
        for row in rows:
            events[(row["id"], row["bay_id"])].append(
                (row["type"], from_db_time(row["created_at"]), row["progress"])
            )
        return {key[0]: domain.timeline(*key, found) for key, found in events.items()}

    @cached_property
    def _sales(self) -> list[domain.Sale]:
        # every item ever sold, retired ones too: old bookings still name them
        services = self.conn.execute("SELECT code, category, price_minor FROM service_item").fetchall()
        packages = self.conn.execute("SELECT code, services, price_minor FROM package").fetchall()
        catalogue = {
            "package_items": {r["code"]: json.loads(r["services"]) for r in packages},
            "package_prices": {r["code"]: r["price_minor"] for r in packages},
            "categories": {r["code"]: r["category"] for r in services},
            "prices": {r["code"]: r["price_minor"] for r in services},
        }
        rows = self.conn.execute(
            f"SELECT id, channel, {_LEAD_TECHNICIAN} AS technician_id, services, package_code, price_minor"
            " FROM booking b WHERE start_at >= ? AND start_at < ? AND state = ? ORDER BY start_at, id",
            (*self._range, BookingState.COMPLETED),
        )
        sales = []
        for r in rows:
            codes = json.loads(r["services"])
            lines = domain.sale_lines(codes, r["package_code"], **catalogue)
            sales.append(domain.Sale(r["id"], r["channel"], r["technician_id"], r["price_minor"], len(codes), lines))
        return sales

    # -- sections ------------------------------------------------------------

    def bookings(self) -> Section:
        return domain.bookings_section(self._state_counts)

    def no_show(self) -> Section:
        return domain.no_show_section(self._state_counts)

    def wait(self) -> Section:
        return domain.wait_section(self._timelines.values(), [bay["id"] for bay in self._bays])

    def utilisation(self) -> Section:
        open_starts = {to_db_time(cell.start) for day in self.period.days() for cell in self.station.grid(day)}
        loads = []
        for bay in self._bays:
            # per bay, so the (bay_id, slot_start) primary key bounds the read; a lapsed hold
            # the sweeper has not expired yet is not load
            rows = self.conn.execute(
                "SELECT slot_start FROM slot_claim WHERE bay_id = ? AND slot_start >= ? AND slot_start < ?"
                " AND (hold_until IS NULL OR hold_until > ?)",
                (bay["id"], *self._range, to_db_time(self.now)),
            )
            claimed = sum(1 for row in rows if row[0] in open_starts)
            loads.append(domain.BayLoad(bay["id"], bay["kind"], len(open_starts), claimed))
        return domain.utilisation_section(loads, self.station.slot_minutes)

    def technicians(self) -> Section:
        technicians = [(r["id"], r["name"]) for r in self.conn.execute(
            "SELECT id, name FROM technician WHERE active = 1 ORDER BY id")]
        ratings = None
        if _has_table(self.conn, "feedback"):
            ratings = {tid: (count, mean) for tid, count, mean in self.conn.execute(RATINGS_QUERY, self._range)}
        return domain.technicians_section(technicians, self._sales, self._timelines, ratings)

    def revenue(self) -> Section:
        totals = money_totals(tuple(row) for row in self.conn.execute(LEDGER_QUERY, self._range))
        receipts, refunds = self.conn.execute(COUNTS_QUERY, self._range).fetchone()
        return domain.revenue_section(totals, receipts=receipts, refunds=refunds)

    def top_services(self) -> Section:
        column = "name_zh" if self.station.settings.station.locale.startswith("zh") else "name_en"
        names = {
            row[0]: row[1]
            for table in ("service_item", "package")
            for row in self.conn.execute(f"SELECT code, {column} FROM {table}")
        }
        return domain.top_services_section(self._sales, names, limit=self.top)

    def members(self) -> Section:
        start, end = self._range
        rows = self.conn.execute(
            "SELECT m.tier, count(*), coalesce(sum(m.created_at >= ? AND m.created_at < ?), 0),"
            " count(served.member_id) FROM member m LEFT JOIN ("
            "  SELECT DISTINCT member_id FROM booking"
            "  WHERE start_at >= ? AND start_at < ? AND state = ? AND member_id IS NOT NULL"
            " ) served ON served.member_id = m.id GROUP BY m.tier",
            (start, end, start, end, BookingState.COMPLETED),
        )
        return domain.members_section([t.name for t in self.station.settings.tiers], [tuple(r) for r in rows])
