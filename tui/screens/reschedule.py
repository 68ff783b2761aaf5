"""Moving a booking: pick a day and a free cell for the same services; the old cells stay if the move fails.

A booking in legs moves whole: the cell chosen is its first leg's, the picker says where the
later legs go, and the notice after the move lists every leg's bay and time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Select, Static

from edge.services import bookings
from edge.services.booking_store import BookingRecord, LegRecord
from edge.services.station import Station
from tui.formatting import booking_services, clock, day_label, onwards, span
from tui.i18n import N_, _
from tui.lookups import BookingView, Slots, free_slots
from tui.messages import SlotChosen
from tui.screens.base import StationScreen
from tui.screens.dialogs import ConfirmDialog
from tui.widgets.booking.slot_picker import SlotPicker


def move(station: Station, code: str, *, start: datetime, bay_id: str) -> tuple[BookingRecord, tuple[LegRecord, ...]]:
    """Reschedule the booking and read where its legs went (in the worker thread)."""
    moved = bookings.reschedule(station, code, start=start, bay_id=bay_id)
    return moved, bookings.legs(station, moved.id)


class RescheduleScreen(StationScreen):
    TITLE = N_("Reschedule")
    AUTO_FOCUS = "#slots"
    BINDINGS = [Binding("escape", "back", N_("Back"))]

    def __init__(self, view: BookingView) -> None:
        super().__init__()
        self.view = view
        self.day = None

    def compose_body(self) -> ComposeResult:
        station, b = self.station, self.view.booking
        today = station.local(station.clock()).date()
        self.day = self.day or max(today, station.local(b.start_at).date())
        horizon = max(tier.horizon_days for tier in station.tiers.values())
        with Vertical(id="reschedule"):
            yield Static(Text(_("Move {code}: {plate}, {services}, now {day} {span} bay {bay}").format(
                code=b.code, plate=b.plate, services=booking_services(station, b),
                day=day_label(station.local(b.start_at).date()), span=span(station, b.start_at, b.end_at),
                bay=self._bays())), id="moving")
            days = [(day_label(today + timedelta(days=n)), today + timedelta(days=n)) for n in range(horizon + 1)]
            yield Select(days, value=self.day, allow_blank=False, id="day")
            picker = SlotPicker(id="slots")
            picker.border_title = _("Free starts")
            yield picker
            yield Static(id="summary")

    def _bays(self) -> str:
        """The bay, or the bays one after the other of a booking in legs: 'L1 › W1'."""
        return " › ".join(leg.bay_id for leg in self.view.legs) or self.view.booking.bay_id

    def load(self, station: Station) -> Slots:
        b = self.view.booking
        codes = [b.package_code] if b.package_code else list(b.services)
        tier = self.view.member.tier if self.view.member else None
        return free_slots(station, day=self.day, services=codes, tier=tier, channel=b.channel)

    def show(self, slots: Slots) -> None:
        self.query_one(SlotPicker).show(self.station, slots, None)
        note = _("Enter on a free cell moves the booking there") if slots.free else _("No free start this day")
        if slots.kept:
            note += "\n" + _("{count} start(s) kept back: {reason}").format(count=len(slots.kept),
                                                                           reason=slots.kept_reason)
        self.query_one("#summary", Static).update(Text(note, style="dim"))

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        if event.value != self.day and event.value is not Select.BLANK:
            self.day = event.value
            self.reload()

    def on_slot_chosen(self, message: SlotChosen) -> None:
        message.stop()
        code = self.view.booking.code

        def answered(yes: bool | None) -> None:
            if yes:
                self.call("reschedule", move, self.station, code, start=message.start, bay_id=message.bay_id)

        option = self.data.free.get((message.bay_id, message.start)) if self.data is not None else None
        later = option.legs[1:] if option is not None else ()
        bay = message.bay_id + onwards(self.station, [(leg.bay_id, leg.starts[0]) for leg in later])
        self.app.push_screen(ConfirmDialog(_("Move {code} to {day} {time}, bay {bay}?").format(
            code=code, day=day_label(self.station.local(message.start).date()),
            time=clock(self.station, message.start), bay=bay)), answered)

    def done(self, request: str, result: tuple[BookingRecord, tuple[LegRecord, ...]]) -> None:
        result, legs = result
        bay = result.bay_id + onwards(self.station, [(leg.bay_id, leg.start_at) for leg in legs[1:]])
        self.app.notify(_("{code} moved to {time}, bay {bay}").format(
            code=result.code, time=clock(self.station, result.start_at), bay=bay))
        self.action_back()
