"""One booking: its facts and code, its legs, progress stages to move through, notes, its QR, check-in, cancel,
reschedule, no-show, and handing a leg to another technician.

The legs table lists where the car goes (one leg for work one bay does): bay, time, services and
technician, the car's current leg marked once it is checked in. `a` gives the leg under the
table's cursor (the current leg unless another is chosen) to another technician, by id or name.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from edge.domain.booking_state import RESCHEDULABLE_STATES, TRANSITIONS, BookingState, Progress
from edge.services import assignments, bookings
from edge.services.station import Station
from tui.formatting import (
    booking_services, channel_label, day_label, services_label, span, stage_label, state_label, when,
)
from tui.i18n import N_, _
from tui.lookups import BookingView, booking_view
from tui.screens.base import StationScreen, refill
from tui.screens.booking_qr import BookingQrScreen
from tui.screens.checkout import CheckoutScreen
from tui.screens.dialogs import ConfirmDialog, PromptDialog
from tui.widgets.common.fitted_table import Column, FittedTable

S = BookingState
_ACTION_NEEDS = {
    "check_in": S.CHECKED_IN,
    "confirm_hold": S.CONFIRMED,
    "cancel_booking": S.CANCELLED,
    "no_show": S.NO_SHOW,
}
# the car is on its current leg from check-in until it leaves
_CAR_ON_SITE = frozenset({S.CHECKED_IN, S.IN_SERVICE})
LEG_COLUMNS = (Column(N_("Leg")), Column(N_("Bay")), Column(N_("Time")), Column(N_("Services"), shrink_to=6),
               Column(N_("Technician"), shrink_to=4))


class BookingDetailScreen(StationScreen):
    TITLE = N_("Booking")
    AUTO_FOCUS = "#stages"
    BINDINGS = [
        Binding("i", "check_in", N_("Check in")),
        Binding("k", "confirm_hold", N_("Confirm")),
        Binding("r", "reschedule", N_("Reschedule")),
        Binding("x", "cancel_booking", N_("Cancel")),
        Binding("o", "no_show", N_("No-show")),
        Binding("e", "edit_notes", N_("Notes")),
        Binding("p", "show_qr", N_("QR")),
        Binding("a", "reassign", N_("Technician")),
        Binding("w", "added_work", N_("Added work")),
        Binding("dollar_sign", "checkout", N_("Pay")),
        Binding("escape", "back", N_("Back")),
    ]

    def __init__(self, ref: str) -> None:
        super().__init__()
        self.ref = ref
        self._cursor_on_leg: int | None = None  # the car's leg the legs table's cursor was put on
        self._handing: tuple[int, str] = (0, "")  # the leg number and technician of the last reassign asked

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="detail"):
            with Vertical(id="detail-left"):
                facts = Static(id="facts")
                facts.border_title = _("Booking")
                yield facts
                legs = FittedTable(LEG_COLUMNS, id="legs")
                legs.border_title = _("Legs")
                yield legs
            with Vertical(id="detail-right"):
                path = Static(id="path")
                path.border_title = _("Progress")
                yield path
                stages = OptionList(id="stages")
                stages.border_title = _("Move to")
                stages.border_subtitle = _("Enter moves it")
                yield stages

    def load(self, station: Station) -> BookingView:
        return booking_view(station, self.ref)

    def title_note(self) -> str:
        view: BookingView | None = self.data
        return view.booking.code if view else self.ref

    def show(self, view: BookingView) -> None:
        self.ref = view.booking.code
        self.query_one("#facts", Static).update(self._facts(view))
        self.query_one("#path", Static).update(self._path(view))
        self._show_legs(view)
        stages = self.query_one("#stages", OptionList)
        highlighted = stages.highlighted
        stages.clear_options()
        stages.add_options([Option(stage_label(stage), id=str(stage)) for stage in view.next_stages])
        if not view.next_stages:
            stages.add_option(Option(Text(_("No progress to move now"), style="dim"), disabled=True))
        else:  # the caption says "Enter moves it": Enter works at once, on the first stage if none was chosen
            stages.highlighted = highlighted if highlighted is not None and highlighted < len(view.next_stages) else 0
        self.refresh_bindings()

    def _facts(self, view: BookingView) -> Table:
        station, b, member = self.station, view.booking, view.member
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column()
        customer = _("guest")
        if member is not None:
            customer = f"{member.name or member.phone} · {member.phone} · {member.tier} · " + \
                _("credit {score}").format(score=member.credit_score)
        rows = [
            (_("Code"), Text(b.code, style="bold reverse")),
            (_("Plate"), Text(b.plate, style="bold")),
            (_("Customer"), customer),
            (_("Services"), booking_services(station, b)),
            (_("Time"), f"{day_label(station.local(b.start_at).date())} {span(station, b.start_at, b.end_at)}"),
            (_("Bay"), b.bay_id),
            (_("Technician"), self._technician(b.technician_id)),
            (_("State"), Text(state_label(b.state), style="bold")),
            (_("Progress"), stage_label(b.progress) or "—"),
            (_("Price"), station.money(b.price_minor)),
            (_("Channel"), channel_label(b.channel)),
        ]
        if b.hold_until is not None:
            rows.append((_("Hold until"), when(station, b.hold_until)))
        if b.reason:
            rows.append((_("Reason"), b.reason))
        rows.append((_("Notes"), b.notes or "—"))
        for label, value in rows:
            grid.add_row(label, value)
        return grid

    def _show_legs(self, view: BookingView) -> None:
        b = view.booking
        car_on = b.leg if b.state in _CAR_ON_SITE else None
        rows = []
        for leg in view.legs:
            style = "bold" if leg.seq == car_on else "dim" if leg.seq < b.leg else ""
            number = ("▶ " if leg.seq == car_on else "  ") + str(leg.seq + 1)
            rows.append((str(leg.seq), [Text(cell, style=style) for cell in (
                number, leg.bay_id, span(self.station, leg.start_at, leg.end_at),
                services_label(self.station, leg.services), self._technician(leg.technician_id))]))
        table = self.query_one("#legs", FittedTable)
        refill(table, rows)
        if self._cursor_on_leg != b.leg and table.row_count > b.leg:  # follow the car to its next leg
            self._cursor_on_leg = b.leg
            table.move_cursor(row=b.leg, animate=False)

    def _chosen_leg(self) -> int:
        """The leg number (1 = the first) under the legs table's cursor."""
        table = self.query_one("#legs", FittedTable)
        return table.cursor_row + 1 if table.row_count else self.booking.leg + 1

    def _technician(self, technician_id: str | None) -> str:
        if not technician_id:
            return "—"
        technician = self.station.catalog().technicians.get(technician_id)
        return f"{technician_id} {technician.name}" if technician else technician_id

    def _path(self, view: BookingView) -> Text:
        current = view.booking.progress
        text = Text()
        for i, stage in enumerate(Progress):
            if i:
                text.append(" › ", style="dim")
            if stage == current:
                text.append(stage_label(stage), style="bold reverse")
            elif stage in view.next_stages:
                text.append(stage_label(stage), style="bold")
            else:
                text.append(stage_label(stage), style="dim")
        return text

    # -- actions -------------------------------------------------------------------------

    @property
    def booking(self):
        return self.data.booking if isinstance(self.data, BookingView) else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        booking = self.booking
        if action in _ACTION_NEEDS:
            return booking is not None and _ACTION_NEEDS[action] in TRANSITIONS[booking.state]
        if action == "reschedule":
            return booking is not None and booking.state in RESCHEDULABLE_STATES
        if action in ("edit_notes", "show_qr", "added_work", "checkout"):
            return booking is not None
        if action == "reassign":  # until the booking is over; the service says which legs may change
            return booking is not None and bool(TRANSITIONS[booking.state])
        return True

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if self.booking is not None and event.option.id:
            self.call("progress", bookings.set_progress, self.station, self.booking.code, event.option.id)

    def action_check_in(self) -> None:
        self.call("check_in", bookings.check_in, self.station, self.booking.code)

    def action_confirm_hold(self) -> None:
        self.call("confirm", bookings.confirm, self.station, self.booking.code)

    def action_cancel_booking(self) -> None:
        code = self.booking.code

        def answered(reason: str | None) -> None:
            if reason is not None:
                self.call("cancel", bookings.cancel, self.station, code, reason=reason)

        self.app.push_screen(PromptDialog(_("Cancel booking {code}? Reason (Enter cancels it, Esc keeps it)")
                                          .format(code=code)), answered)

    def action_no_show(self) -> None:
        code = self.booking.code

        def answered(yes: bool | None) -> None:
            if yes:
                self.call("no_show", bookings.mark_no_show, self.station, code)

        self.app.push_screen(ConfirmDialog(_("Mark {code} as a no-show and free its slot?").format(code=code)),
                             answered)

    def action_edit_notes(self) -> None:
        code = self.booking.code

        def answered(notes: str | None) -> None:
            if notes is not None:
                self.call("notes", bookings.set_notes, self.station, code, notes)

        self.app.push_screen(PromptDialog(_("Notes for {code} (Enter saves, Esc keeps them)").format(code=code),
                                          value=self.booking.notes), answered)

    def action_reassign(self) -> None:
        code, leg = self.booking.code, self._chosen_leg()
        current = self.data.legs[leg - 1].technician_id if leg <= len(self.data.legs) else None

        def answered(technician: str | None) -> None:
            if technician:
                self._handing = (leg, technician)
                self.call("reassign", assignments.reassign, self.station, code, technician, leg=leg)

        self.app.push_screen(PromptDialog(
            _("Technician for leg {leg} of {code}: id or name (Enter hands it over, Esc keeps it)").format(
                leg=leg, code=code), value=current or ""), answered)

    def action_show_qr(self) -> None:
        self.call("qr", bookings.booking_token, self.station, self.booking.code)

    def action_added_work(self) -> None:
        from tui.screens.added_work import AddedWorkScreen  # work found during service

        self.app.push_screen(AddedWorkScreen(self.booking.code))

    def action_checkout(self) -> None:
        self.app.push_screen(CheckoutScreen(self.booking.code))

    def action_reschedule(self) -> None:
        from tui.screens.reschedule import RescheduleScreen

        self.app.push_screen(RescheduleScreen(self.data))

    def done(self, request: str, result: Any) -> None:
        if request == "qr":
            b = self.booking
            caption = f"{b.code}  {b.plate}  {when(self.station, b.start_at)} {b.bay_id}"
            self.app.push_screen(BookingQrScreen(result, caption))
            return
        messages = {
            "notes": N_("{code}: notes saved"),
            "progress": N_("{code}: {stage}"),
            "check_in": N_("{code} checked in"),
            "confirm": N_("{code} confirmed"),
            "cancel": N_("{code} cancelled"),
            "no_show": N_("{code} marked no-show"),
        }
        if request == "reassign":
            leg, technician = self._handing
            self.app.notify(_("{code}: leg {leg} handed to {technician}").format(
                code=result.code, leg=leg, technician=technician))
            self.reload()
            return
        self.app.notify(_(messages[request]).format(code=result.code, stage=stage_label(result.progress)))
        self.reload()
        if request == "progress" and result.state == BookingState.COMPLETED:
            self._offer_checkout(result.code)

    def _offer_checkout(self, code: str) -> None:
        """The work is done: the customer pays next."""

        def answered(yes: bool | None) -> None:
            if yes:
                self.app.push_screen(CheckoutScreen(code))

        self.app.push_screen(ConfirmDialog(_("{code} is done. Take payment now?").format(code=code)), answered)
