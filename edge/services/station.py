"""The station context every service works in: settings, store, clock, catalogue, slot grid."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property, lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from edge.config import Settings, leg_rules, walk_in_reserve
from edge.domain.catalog import Catalog, Technician
from edge.domain.legs import LegRules
from edge.domain.money import format_money
from edge.domain.permissions import CLI, Actor
from edge.domain.roster import day_ranges
from edge.domain.slots import Cell, local_intervals, slot_grid
from edge.domain.tiers import WEEKDAYS, CreditRule, HotSlotRule, HotWindow, TierRule
from edge.domain.walk_in_reserve import WalkInReserve
from edge.store.catalog import load_catalog
from edge.errors import StoreError
from edge.store.db import Store
from edge.store.roster import exception_on

# how stale a process's catalogue may be after another process (sync) applied a new one
CATALOG_CHECK_SECONDS = 2.0
DB_FILENAME = "station.db"
CONFIG_FILENAME = "station.toml"


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Station:
    """One station: what every service function takes first."""

    settings: Settings
    store: Store
    clock: Callable[[], datetime] = utc_now
    # who is working and at which terminal: set by the process's composition root (the CLI from
    # --operator/--terminal, the terminal UI at sign-in, the daemon to DAEMON); services record
    # and authorise against them
    actor: Actor = CLI
    terminal: str = "desk"
    _catalog: Catalog | None = field(default=None, repr=False)
    _catalog_checked: float = field(default=0.0, repr=False)

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.settings.station.timezone)

    @property
    def slot_minutes(self) -> int:
        return self.settings.station.slot_minutes

    @property
    def epoch(self) -> str:
        return self.store.identity.epoch

    def catalog(self) -> Catalog:
        """The stored catalogue, loaded once and checked against the node row's version every
        CATALOG_CHECK_SECONDS: a catalogue HQ sent, applied by another process, is picked up."""
        if self._catalog is None:
            self.reload_catalog()
        elif time.monotonic() - self._catalog_checked > CATALOG_CHECK_SECONDS:
            with self.store.read() as conn:
                version = conn.execute("SELECT catalog_version FROM node WHERE id = 1").fetchone()[0]
            if version != self._catalog.version:
                self.reload_catalog()
            self._catalog_checked = time.monotonic()
        return self._catalog  # type: ignore[return-value]

    def reload_catalog(self) -> None:
        """Read the catalogue again and swap it in whole: a thread reading meanwhile sees the
        old one or the new one, never none."""
        with self.store.read() as conn:
            catalog = load_catalog(conn)
        self._catalog = catalog
        self._catalog_checked = time.monotonic()

    def grid(self, day: date) -> tuple[Cell, ...]:
        return _grid(self._hours_key, day, self.tz, self.slot_minutes)

    @cached_property
    def _hours_key(self) -> tuple:
        hours = self.settings.station.hours
        weekly = tuple(sorted((d, tuple(r)) for d, r in hours.weekly().items()))
        return weekly, frozenset(hours.closed_dates)

    def shifts(self, technician: Technician, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The technician's shifts on the local `day` as UTC intervals, with that day's roster
        exception (leave, sick, an extra shift, holiday hours) applied.

        Every reader of shifts comes here. The exception is read on each call (one primary-key
        lookup, on the caller's transaction when there is one), so an exception another process
        has just set counts at once; only turning the day's ranges into instants is cached.
        """
        with self.store.read() as conn:
            exception = exception_on(conn, technician.id, day)
        return _intervals(day, day_ranges(technician.shifts.get(day.weekday(), ()), exception), self.tz)

    def money(self, minor: int) -> str:
        """An amount in this station's currency, e.g. '299.00 CNY'."""
        s = self.settings.station
        return format_money(minor, s.currency, s.currency_minor_digits)

    def local(self, instant: datetime) -> datetime:
        return instant.astimezone(self.tz)

    @cached_property
    def tiers(self) -> dict[str, TierRule]:
        return {
            t.name: TierRule(name=t.name, rank=rank, horizon_days=t.horizon_days, hold_minutes=t.hold_minutes)
            for rank, t in enumerate(self.settings.tiers)
        }

    def tier(self, name: str | None) -> TierRule:
        """The rule of a tier by name; guests (None) get the configured guest tier."""
        return self.tiers[name or self.settings.booking.guest_tier]

    @cached_property
    def leg_rules(self) -> LegRules:
        """How a booking's legs follow each other: transfer gaps and the longest wait between legs."""
        return leg_rules(self.settings.booking)

    @cached_property
    def walk_in_reserve(self) -> WalkInReserve:
        """The share of each day's cells per bay kind kept from phone and app bookings until the cut-off."""
        return walk_in_reserve(self.settings.booking)

    @cached_property
    def credit_rule(self) -> CreditRule:
        c = self.settings.credit
        return CreditRule(no_hold_below=c.no_hold_below, deposit_below=c.deposit_below,
                          same_day_only_below=c.same_day_only_below, deposit_minor=c.deposit_minor)

    @cached_property
    def hot_slots(self) -> HotSlotRule | None:
        hot = self.settings.booking.hot_slots
        if hot is None or not hot.windows:
            return None
        windows = tuple(
            HotWindow(
                weekdays=frozenset(WEEKDAYS.index(d) for d in w.days),
                start_minute=_minute(w.start),
                end_minute=_minute(w.end),
            )
            for w in hot.windows
        )
        return HotSlotRule(
            min_tier=self.tiers[hot.min_tier],
            release_hours_before=hot.release_hours_before,
            windows=windows,
        )


def _minute(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


@lru_cache(maxsize=4096)
def _intervals(day: date, ranges: tuple[tuple[int, int], ...], tz: ZoneInfo) -> tuple[tuple[datetime, datetime], ...]:
    return tuple(local_intervals(day, ranges, tz))


@lru_cache(maxsize=64)
def _grid(hours_key: tuple, day: date, tz: ZoneInfo, slot_minutes: int) -> tuple[Cell, ...]:
    weekly, closed = hours_key
    return slot_grid(day, dict(weekly), closed, tz, slot_minutes)


# the terminal the stations this process opens work at: the CLI's --terminal sets it for its command
_process_terminal = "desk"


def work_at_terminal(name: str) -> None:
    """Make every station this process opens from now on work at terminal `name`."""
    global _process_terminal
    _process_terminal = name


def open_station(data_dir: str | Path, *, clock: Callable[[], datetime] = utc_now) -> Station:
    """The station kept in `data_dir` (its config copy and database), migrated if needed, at the
    process's terminal (`work_at_terminal`)."""
    from edge.config import load_settings

    data_dir = Path(data_dir)
    if not (data_dir / CONFIG_FILENAME).is_file() or not (data_dir / DB_FILENAME).is_file():
        raise StoreError(f"no station in {data_dir}: run `station-edge init --config FILE` first")
    settings = load_settings(data_dir / CONFIG_FILENAME)
    return Station(settings=settings, store=Store(data_dir / DB_FILENAME), clock=clock, terminal=_process_terminal)
