"""Check-in: type a plate (or a booking code), pick the right one of today's bookings, check the car in."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Input, Label, Static

from edge.services import bookings
from edge.services.station import Station
from tui.formatting import booking_services, clock, state_label
from tui.i18n import N_, _
from tui.lookups import Candidate, check_in_candidates
from tui.screens.base import StationScreen, refill


class CheckInScreen(StationScreen):
    TITLE = N_("Check in")
    AUTO_FOCUS = "#plate"
    BINDINGS = [
        Binding("f5", "check_in", N_("Check in")),
        Binding("escape", "back", N_("Back")),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.typed = ""
        self.last_done = ""

    def compose_body(self) -> ComposeResult:
        with Vertical(id="checkin"):
            yield Label(_("Plate or booking code (province optional; look-alikes such as 8/B are found)"))
            yield Input(value=self.typed, placeholder="沪A12345", id="plate")
            yield Static(id="verdict")
            table = DataTable(id="candidates", cursor_type="row", zebra_stripes=True)
            table.border_title = _("Today's bookings that match")
            table.add_columns(_("Plate"), _("Time"), _("Services"), _("Bay"), _("State"), _("Match"), _("Code"))
            yield table
            yield Static(self.last_done, id="last")

    def load(self, station: Station) -> tuple[str, list[Candidate]]:
        typed = self.typed
        return typed, check_in_candidates(station, typed)

    def show(self, data: tuple[str, list[Candidate]]) -> None:
        typed, candidates = data
        station = self.station
        refill(self.query_one("#candidates", DataTable), [
            (c.booking.code, (
                Text(c.booking.plate, style="bold"), clock(station, c.booking.start_at),
                booking_services(station, c.booking), c.booking.bay_id, state_label(c.booking.state),
                _match_text(c), c.booking.code))
            for c in candidates
        ])
        verdict = self.query_one("#verdict", Static)
        if not typed:
            verdict.update("")
        elif not candidates:
            verdict.update(Text(_("No booking today matches {typed}").format(typed=typed), style="bold"))
        else:
            best = candidates[0]
            verdict.update(_("{count} candidate(s); Enter on the right one checks it in").format(count=len(candidates))
                           if not best.best else
                           _("Best match: {plate} at {time}; Enter checks it in").format(
                               plate=best.booking.plate, time=clock(station, best.booking.start_at)))

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.typed = event.value
        self.reload()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        table = self.query_one("#candidates", DataTable)
        if table.row_count:
            table.focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        code = str(event.row_key.value or "")
        if code:
            self.call("check_in", bookings.check_in, self.station, code)

    def action_check_in(self) -> None:
        table = self.query_one("#candidates", DataTable)
        if not table.row_count:
            self.app.notify(_("Type a plate first"), severity="warning")
            return
        code = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        if code:
            self.call("check_in", bookings.check_in, self.station, code)

    def done(self, request: str, result: Any) -> None:
        station = self.station
        self.last_done = _("Checked in: {plate} ({code}) → bay {bay} at {time}").format(
            plate=result.plate, code=result.code, bay=result.bay_id, time=clock(station, result.start_at))
        self.query_one("#last", Static).update(Text(self.last_done, style="bold"))
        self.app.notify(self.last_done)
        plate = self.query_one("#plate", Input)
        plate.value = ""
        plate.focus()


def _match_text(candidate: Candidate) -> str:
    if candidate.distance == 0:
        return _("exact")
    label = _("close") if candidate.distance <= 0.5 else _("similar")
    return f"{label} ({candidate.distance:g})" + (" ★" if candidate.best else "")
