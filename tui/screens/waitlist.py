"""The waitlist: who waits for a slot on a full day, and the hold offered to them when one freed."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable

from edge.services.station import Station
from tui.formatting import clock, services_label, state_label
from tui.i18n import N_, _
from tui.lookups import waitlist_from_today
from tui.screens.base import StationScreen, refill
from tui.widgets.common.fitted_table import Column, FittedTable

_ENTRY_STATES = {"waiting": N_("waiting"), "offered": N_("offered"), "cancelled": N_("cancelled")}


ENTRY_COLUMNS = (Column(N_("Day")), Column(N_("Window")), Column(N_("Plate")), Column(N_("Phone"), drop=2),
                 Column(N_("Services"), shrink_to=6, drop=1), Column(N_("State")), Column(N_("Offered"), shrink_to=12))


class WaitlistScreen(StationScreen):
    TITLE = N_("Waitlist")
    AUTO_FOCUS = "#entries"
    BINDINGS = [Binding("escape", "back", N_("Back"))]

    def compose_body(self) -> ComposeResult:
        with Vertical(id="waitlist"):
            entries = FittedTable(ENTRY_COLUMNS, id="entries", classes="bookings")
            entries.border_title = _("Waiting from today on (Enter opens an offered booking)")
            yield entries

    def load(self, station: Station):
        return waitlist_from_today(station)

    def show(self, rows) -> None:
        station = self.station
        refill(self.query_one("#entries", DataTable), [
            # the row opens the offered booking; an entry without one has nothing to open
            (offered.code if offered else f"entry:{entry.id}", (
                entry.day, f"{clock(station, entry.window_start)}–{clock(station, entry.window_end)}", entry.plate,
                entry.phone or "—", services_label(station, entry.services), _(_ENTRY_STATES.get(entry.state,
                                                                                                   entry.state)),
                f"{offered.code} {clock(station, offered.start_at)} {state_label(offered.state)}" if offered else "—"))
            for entry, offered in rows
        ], _("No one is waiting"))

    def code_for_row(self, table: DataTable, key: str) -> str | None:
        return None if key.startswith("entry:") or not key else key
