"""Technicians: today's roster and who is on shift, and the bookings assigned to each today."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable

from edge.services.station import Station
from tui.formatting import booking_services, clock, span, stage_label, state_label
from tui.i18n import N_, _
from tui.lookups import technicians_today
from tui.screens.base import StationScreen, refill


class TechniciansScreen(StationScreen):
    TITLE = N_("Technicians")
    AUTO_FOCUS = "#roster"
    BINDINGS = [Binding("escape", "back", N_("Back"))]

    def compose_body(self) -> ComposeResult:
        with Vertical(id="technicians-screen"):
            roster = DataTable(id="roster", cursor_type="row", zebra_stripes=True)
            roster.border_title = _("Roster today")
            roster.add_columns(_("Id"), _("Name"), _("Skills"), _("Shift"), _("Now"), _("Booked"))
            yield roster
            assigned = DataTable(id="assigned", cursor_type="row", zebra_stripes=True, classes="bookings")
            assigned.border_title = _("Assigned today")
            assigned.add_columns(_("Technician"), _("Time"), _("Plate"), _("Services"), _("Bay"), _("State"))
            yield assigned

    def load(self, station: Station):
        return technicians_today(station)

    def show(self, data) -> None:
        now, rows = data
        station = self.station
        refill(self.query_one("#roster", DataTable), [
            (t.id, (t.id, t.name, ", ".join(t.skills),
                    " ".join(f"{clock(station, s)}–{clock(station, e)}" for s, e in t.shifts) or _("off today"),
                    Text(_("on shift"), style="bold") if t.on_shift else _("off"), str(len(t.bookings))))
            for t in rows
        ])
        refill(self.query_one("#assigned", DataTable), [
            (b.code, (t.name, span(station, b.start_at, b.end_at), b.plate, booking_services(station, b), b.bay_id,
                      stage_label(b.progress) or state_label(b.state)))
            for t in rows for b in t.bookings
        ], _("No bookings assigned today"))
