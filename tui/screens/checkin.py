"""Check-in: plates the gate camera could not place, to confirm; or type a plate (or a code, or scan a QR) and check in.

What is typed goes to the arrival service (edge.services.arrivals), the same rule as the
gate camera, the QR readers and `station-edge checkin`: the hint under the field says what
Enter will do (check one booking in, list the bookings it may be, or why it is refused),
because it is the service's own answer. A plate read that only looks like an expected car
opens a prompt in the daemon; it shows here at once, with the bookings it may be. Enter on
one checks that booking in; `d` dismisses the prompt (the car is not one of them).
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Input, Static

from edge.domain.arrivals import Refusal
from edge.services import arrivals, bookings, live_state
from edge.services.booking_store import BookingRecord
from edge.services.live_state import PlatePrompt
from edge.services.station import Station
from tui.formatting import booking_services, clock, state_label
from tui.i18n import N_, _
from tui.screens.base import StationScreen, refill

REFUSALS = {
    Refusal.NO_TOKEN_KEY: N_("QR code not checked: the station has no token key configured"),
    Refusal.TOKEN_MALFORMED: N_("Not a booking QR code"),
    Refusal.TOKEN_ALTERED: N_("Forged or altered QR code"),
    Refusal.TOKEN_WRONG_STATION: N_("QR code of another station"),
    Refusal.TOKEN_STALE: N_("Outdated QR code of {code}: the booking was moved to {booked_for}; "
                            "the customer has been sent a new one"),
    Refusal.UNKNOWN_BOOKING: N_("No such booking at this station"),
    Refusal.CANCELLED: N_("Booking {code} was cancelled"),
    Refusal.NO_SHOW: N_("Booking {code} was released as a no-show (booked for {booked_for})"),
    Refusal.COMPLETED: N_("Booking {code} is already completed"),
    Refusal.EXPIRED: N_("Booking {code} expired: its hold lapsed"),
    Refusal.REJECTED: N_("Booking {code} was rejected"),
    Refusal.AWAITING_DECISION: N_("Booking {code} is not firm yet ({state})"),
    Refusal.ALREADY_CHECKED_IN: N_("Booking {code} is already checked in ({state})"),
    Refusal.TOO_EARLY: N_("Booking {code} is booked for {booked_for}: too early, check-in opens at {opens}"),
    Refusal.TOO_LATE: N_("Booking {code} was booked for {booked_for}: too late to check in"),
    Refusal.WRONG_BAY: N_("Booking {code} is booked on bay {booked_bay}, not bay {bay}"),
    Refusal.ALREADY_IN_BAY: N_("Booking {code} is already past check-in ({state})"),
    Refusal.BAY_TAKEN: N_("Booking {code} cannot go in bay {bay}: another car is in bay"),
}


def refusal_text(station: Station, refused: arrivals.Refused) -> str:
    """The refusal in the attendant's language, with the booking's facts."""
    booking = refused.booking
    facts = {"bay": refused.bay or ""}
    if booking is not None:
        window = arrivals.arrival_window(station)
        facts.update(code=booking.code, state=state_label(booking.state), booked_bay=booking.bay_id,
                     booked_for=f"{station.local(booking.start_at):%Y-%m-%d %H:%M}",
                     opens=f"{station.local(window.opens(booking.start_at)):%Y-%m-%d %H:%M}")
    return _(REFUSALS[refused.reason]).format_map(_Blank(facts))


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


Waiting = tuple[PlatePrompt, list[BookingRecord]]  # a plate prompt and its candidate bookings


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
            # a Static wraps at 80 columns where a Label would be cut off
            yield Static(_("Plate, booking code or QR (province optional; look-alikes such as 8/B are found)"))
            yield Input(value=self.typed, placeholder="沪A12345", id="plate")
            yield Static(id="verdict")
            table = DataTable(id="candidates", cursor_type="row", zebra_stripes=True)
            table.border_title = _("Bookings expected now that match")
            table.border_subtitle = _("Enter checks in the highlighted booking")
            table.add_columns(_("Plate"), _("Time"), _("Services"), _("Bay"), _("State"), _("Match"), _("Code"))
            yield table
            yield Static(self.last_done, id="last")

    def load(self, station: Station) -> tuple[str, arrivals.Outcome | None, list[Waiting]]:
        typed = self.typed
        prompts = [(p, [bookings.booking(station, c.booking_id) for c in p.candidates])
                   for p in live_state.open_prompts(station)]
        return typed, arrivals.preview(station, typed) if typed.strip() else None, prompts

    def show(self, data) -> None:
        typed, outcome, prompts = data
        station = self.station
        self._show_prompts(prompts)
        refill(self.query_one("#candidates", DataTable), [
            (c.booking.code, (
                Text(c.booking.plate, style="bold"), clock(station, c.booking.start_at),
                booking_services(station, c.booking), c.booking.bay_id, state_label(c.booking.state),
                _match_text(c), c.booking.code))
            for c in _listed(outcome)
        ])
        self.query_one("#verdict", Static).update(self._hint(typed, outcome))

    def _hint(self, typed: str, outcome: arrivals.Outcome | None) -> Text | str:
        """What Enter in the field does now: the arrival service's own answer to what is typed."""
        station = self.station
        match outcome:
            case None:
                return ""
            case arrivals.CheckedIn(booking=booking):
                return Text(_("Enter checks in {plate} ({code}), booked for {time}").format(
                    plate=booking.plate, code=booking.code, time=clock(station, booking.start_at)), style="bold")
            case arrivals.Prompt(candidates=candidates):
                return _("{count} bookings may be this car: Enter goes to the list, Enter there checks one in").format(
                    count=len(candidates))
            case arrivals.Refused() as refused:
                return Text(refusal_text(station, refused), style="bold red")
        return Text(_("No booking expected now matches {typed}").format(typed=typed.strip()), style="bold")

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.typed = event.value
        self.reload()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip():
            self.call("arrive", arrivals.arrive, self.station, event.value, by=arrivals.By.TYPED)

    def _show_prompts(self, prompts: list[Waiting]) -> None:
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
            self.call("arrive", arrivals.arrive, self.station, key, by=arrivals.By.BOOKING)

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
            self.call("arrive", arrivals.arrive, self.station, code, by=arrivals.By.BOOKING)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "dismiss_prompt":
            return self._prompt_row() is not None if self.is_mounted else False
        return True

    def done(self, request: str, result: Any) -> None:
        if request == "dismiss_prompt":
            self.app.notify(_("Dismissed: the car is none of those bookings"))
            self.reload()
            return
        if request == "arrive" and not isinstance(result, arrivals.CheckedIn):
            self._not_checked_in(result)
            return
        booking = result.booking if request == "arrive" else result
        station = self.station
        self.last_done = _("Checked in: {plate} ({code}) → bay {bay} at {time}").format(
            plate=booking.plate, code=booking.code, bay=booking.bay_id, time=clock(station, booking.start_at))
        self.query_one("#last", Static).update(Text(self.last_done, style="bold"))
        self.app.notify(self.last_done)
        plate = self.query_one("#plate", Input)
        if request == "arrive":
            plate.value = ""  # the change reloads
            plate.focus()
        else:
            self.reload()

    def _not_checked_in(self, outcome: arrivals.Outcome) -> None:
        """An arrival that checked nobody in: show why, or let the attendant pick from the list."""
        if isinstance(outcome, arrivals.Prompt):
            table = self.query_one("#candidates", DataTable)
            self.data = (self.typed, outcome, self.data[2] if self.data else [])
            self.show(self.data)
            table.move_cursor(row=0, animate=False)
            table.focus()
            return
        if isinstance(outcome, arrivals.Refused):
            text = refusal_text(self.station, outcome)
        else:
            text = _("No booking expected now matches {typed}").format(typed=self.typed.strip())
        self.query_one("#verdict", Static).update(Text(text, style="bold red"))
        self.app.notify(text, title=_("Not checked in"), severity="error", timeout=8)
        self.reload()


def _listed(outcome: arrivals.Outcome | None) -> tuple[arrivals.Candidate, ...]:
    """The bookings Enter on the list can check in: the candidates, or the one booking found
    (a refused booking is not listed: the hint says why)."""
    match outcome:
        case arrivals.Prompt(candidates=candidates):
            return candidates
        case arrivals.CheckedIn(booking=booking):
            return (arrivals.Candidate(booking, 0.0, True),)
    return ()


def _match_text(candidate: arrivals.Candidate) -> str:
    if candidate.distance == 0:
        return _("exact")
    label = _("close") if candidate.distance <= 0.5 else _("similar")
    return f"{label} ({candidate.distance:g})" + (" ★" if candidate.best else "")
