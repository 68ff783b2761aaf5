"""Check-in: plates the gate camera could not place, to confirm; or type a plate (or a code) and pick the booking.

A plate read that only looks like an expected car (8 for B, a missing province) opens a
prompt in the daemon; it shows here at once, with the bookings it may be. Enter on one
checks that booking in; `d` dismisses the prompt (the car is not one of them).
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Input, Label, Static

from edge.services import bookings, live_state
from edge.services.booking_store import BookingRecord
from edge.services.live_state import PlatePrompt
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
        Binding("d", "dismiss_prompt", N_("Dismiss")),
        Binding("escape", "back", N_("Back")),
    ]

    def __init__(self, *, prompt_id: str | None = None) -> None:
        super().__init__()
        self.typed = ""
        self.last_done = ""
        self.prompt_id = prompt_id  # the prompt to put the cursor on (opened from the board's alert)

    def compose_body(self) -> ComposeResult:
        with Vertical(id="checkin"):
            prompts = DataTable(id="prompts", cursor_type="row", zebra_stripes=True)
            prompts.border_title = _("Plates to confirm")
            prompts.border_subtitle = _("Enter: this booking · d: none of them")
            prompts.add_columns(_("Read"), _("Seen"), _("Booking"), _("Time"), _("Services"), _("Bay"), _("Code"))
            yield prompts
            yield Label(_("Plate or booking code (province optional; look-alikes such as 8/B are found)"))
            yield Input(value=self.typed, placeholder="沪A12345", id="plate")
            yield Static(id="verdict")
            table = DataTable(id="candidates", cursor_type="row", zebra_stripes=True)
            table.border_title = _("Today's bookings that match")
            table.add_columns(_("Plate"), _("Time"), _("Services"), _("Bay"), _("State"), _("Match"), _("Code"))
            yield table
            yield Static(self.last_done, id="last")

    def load(self, station: Station) -> tuple[str, list[Candidate], list[tuple[PlatePrompt, list[BookingRecord]]]]:
        typed = self.typed
        prompts = [(p, [bookings.booking(station, c.booking_id) for c in p.candidates])
                   for p in live_state.open_prompts(station)]
        return typed, check_in_candidates(station, typed), prompts

    def show(self, data) -> None:
        typed, candidates, prompts = data
        station = self.station
        self._show_prompts(prompts)
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

    def _show_prompts(self, prompts: list[tuple[PlatePrompt, list[BookingRecord]]]) -> None:
        station = self.station
        table = self.query_one("#prompts", DataTable)
        rows = []
        for prompt, candidates in prompts:
            for i, booking in enumerate(candidates):
                read = Text(prompt.plate_read, style="bold") if i == 0 else Text("")
                seen = f"{clock(station, prompt.created_at)} {prompt.device} {prompt.confidence:.0%}" if i == 0 else ""
                rows.append((f"{prompt.id}|{booking.id}", (
                    read, seen, Text(booking.plate, style="bold"), clock(station, booking.start_at),
                    booking_services(station, booking), booking.bay_id, booking.code)))
        refill(table, rows, _("No plate waiting"))
        if not rows and table.has_focus:
            self.query_one("#plate", Input).focus()
        table.display = bool(rows)
        self.refresh_bindings()
        if self.prompt_id:
            wanted = next((key for key, _cells in rows if key.startswith(f"{self.prompt_id}|")), None)
            self.prompt_id = None
            if wanted is not None:
                table.move_cursor(row=table.get_row_index(wanted), animate=False)
                table.focus()

    def _prompt_row(self) -> tuple[str, str] | None:
        """(prompt id, booking id) under the prompts table's cursor."""
        table = self.query_one("#prompts", DataTable)
        if not table.row_count:
            return None
        key = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value or "")
        prompt_id, _sep, booking_id = key.partition("|")
        return (prompt_id, booking_id) if booking_id else None

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        key = str(event.row_key.value or "")
        if event.data_table.id == "prompts":
            prompt_id, _sep, booking_id = key.partition("|")
            if booking_id:
                self.call("confirm_prompt", live_state.resolve_prompt, self.station, prompt_id, booking_id,
                          now=self.station.clock())
        elif key:
            self.call("check_in", bookings.check_in, self.station, key)

    def action_dismiss_prompt(self) -> None:
        row = self._prompt_row()
        if row is None:
            self.app.notify(_("No plate waiting"), severity="warning")
            return
        self.call("dismiss_prompt", live_state.resolve_prompt, self.station, row[0], None, now=self.station.clock())

    def action_check_in(self) -> None:
        table = self.query_one("#candidates", DataTable)
        if not table.row_count:
            self.app.notify(_("Type a plate first"), severity="warning")
            return
        code = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        if code:
            self.call("check_in", bookings.check_in, self.station, code)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "dismiss_prompt":
            return self._prompt_row() is not None if self.is_mounted else False
        return True

    def done(self, request: str, result: Any) -> None:
        if request == "dismiss_prompt":
            self.app.notify(_("Dismissed: the car is none of those bookings"))
            self.reload()
            return
        station = self.station
        self.last_done = _("Checked in: {plate} ({code}) → bay {bay} at {time}").format(
            plate=result.plate, code=result.code, bay=result.bay_id, time=clock(station, result.start_at))
        self.query_one("#last", Static).update(Text(self.last_done, style="bold"))
        self.app.notify(self.last_done)
        self.reload()
        if request == "check_in":
            plate = self.query_one("#plate", Input)
            plate.value = ""
            plate.focus()


def _match_text(candidate: Candidate) -> str:
    if candidate.distance == 0:
        return _("exact")
    label = _("close") if candidate.distance <= 0.5 else _("similar")
    return f"{label} ({candidate.distance:g})" + (" ★" if candidate.best else "")
