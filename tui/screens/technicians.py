"""Technicians: today's roster, who is rostered now and who has clocked in, and the bookings assigned to each today.

A technician without their card clocks in or out here (k): the same toggle as the card reader.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable

from edge.services import live_state
from edge.services.station import Station
from tui.formatting import booking_services, clock, span, stage_label, state_label
from tui.i18n import N_, _
from tui.lookups import technicians_today
from tui.screens.base import StationScreen, refill
from tui.widgets.common.fitted_table import Column, FittedTable


ROSTER_COLUMNS = (Column(N_("Id"), drop=1), Column(N_("Name")), Column(N_("Skills"), shrink_to=6, drop=2),
                  Column(N_("Shift"), shrink_to=11), Column(N_("Now")), Column(N_("Clocked in")), Column(N_("Booked")))
ASSIGNED_COLUMNS = (Column(N_("Technician"), shrink_to=4), Column(N_("Time")), Column(N_("Plate")),
                    Column(N_("Services"), shrink_to=6, drop=1), Column(N_("Bay")), Column(N_("State"), shrink_to=6))


class TechniciansScreen(StationScreen):
    TITLE = N_("Technicians")
    AUTO_FOCUS = "#roster"
    BINDINGS = [
        Binding("k", "clock", N_("Clock in/out")),
        Binding("escape", "back", N_("Back")),
    ]

    def compose_body(self) -> ComposeResult:
        with Vertical(id="technicians-screen"):
            roster = FittedTable(ROSTER_COLUMNS, id="roster")
            roster.border_title = _("Roster today")
            yield roster
            assigned = FittedTable(ASSIGNED_COLUMNS, id="assigned", classes="bookings")
            assigned.border_title = _("Assigned today")
            yield assigned

    def load(self, station: Station):
        return technicians_today(station)

    def show(self, data) -> None:
        now, rows = data
        station = self.station
        refill(self.query_one("#roster", DataTable), [
            (t.id, (t.id, t.name, ", ".join(t.skills),
                    " ".join(f"{clock(station, s)}–{clock(station, e)}" for s, e in t.shifts) or _("off today"),
                    Text(_("on shift"), style="bold") if t.on_shift else _("off"),
                    Text(clock(station, t.clocked_in_at), style="bold") if t.clocked_in_at else "—",
                    str(len(t.bookings))))
            for t in rows
        ])
        refill(self.query_one("#assigned", DataTable), [
            (b.code, (t.name, span(station, b.start_at, b.end_at), b.plate, booking_services(station, b), b.bay_id,
                      stage_label(b.progress) or state_label(b.state)))
            for t in rows for b in t.bookings
        ], _("No bookings assigned today"))

    def action_clock(self) -> None:
        roster = self.query_one("#roster", DataTable)
        if not roster.row_count or self.data is None:
            return
        key = roster.coordinate_to_cell_key(roster.cursor_coordinate).row_key.value
        technician = next((t for t in self.data[1] if t.id == key), None)
        if technician is None:
            return
        if not technician.card_id:
            self.app.notify(_("{name} has no staff card in the roster").format(name=technician.name),
                            severity="warning")
            return
        self.call("clock", live_state.clock_card, self.station, technician.card_id, now=self.station.clock())

    def done(self, request: str, result: Any) -> None:
        if result is not None:
            text = _("{name} clocked out") if result.clocked_out_at else _("{name} clocked in")
            self.app.notify(text.format(name=result.name))
        self.reload()
