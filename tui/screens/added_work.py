"""Work found during service on one booking: add a service while the car is in, and record the
customer's answer (approve or refuse what awaits it). Opened from the booking's detail screen."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable

from edge.domain.found_work import IN_PROGRESS, WorkState
from edge.services import bookings, found_work
from edge.services.station import Station
from tui.formatting import service_name, when
from tui.i18n import N_, _
from tui.screens.base import StationScreen, refill
from tui.screens.dialogs import ConfirmDialog, PromptDialog
from tui.widgets.common.fitted_table import Column, FittedTable

_STATES = {WorkState.PENDING: N_("awaiting the customer"), WorkState.APPROVED: N_("approved"),
           WorkState.REFUSED: N_("refused"), WorkState.LAPSED: N_("lapsed")}
_WHERE = {"extended": N_("same leg"), "new_leg": N_("new leg"), "follow_up": N_("follow-up booking")}

WORK_COLUMNS = (Column(N_("Service")), Column(N_("State")), Column(N_("Where")), Column(N_("From")),
                Column(N_("Price")), Column(N_("Answer by"), drop=1))


class AddedWorkScreen(StationScreen):
    DEFAULT_CSS = "AddedWorkScreen #work { height: 1fr; }"
    TITLE = N_("Added work")
    AUTO_FOCUS = "#work"
    BINDINGS = [
        Binding("a", "add_work", N_("Add work")),
        Binding("y", "approve_work", N_("Approve")),
        Binding("x", "refuse_work", N_("Refuse")),
        Binding("escape", "back", N_("Back")),
    ]

    def __init__(self, ref: str) -> None:
        super().__init__()
        self.ref = ref

    def compose_body(self) -> ComposeResult:
        with Vertical(id="added-work"):
            work = FittedTable(WORK_COLUMNS, id="work")
            work.border_title = _("Work found during service")
            yield work

    def load(self, station: Station) -> tuple[Any, list[found_work.FoundWork]]:
        return bookings.booking(station, self.ref), found_work.work_on(station, self.ref)

    def title_note(self) -> str:
        return self.ref

    def show(self, data) -> None:
        _booking, work = data
        refill(self.query_one("#work", DataTable), [
            (each.id, (service_name(self.station, each.service_code), _(_STATES[each.state]),
                       _(_WHERE[each.placement]) + (f" {each.bay_id}" if each.bay_id else ""),
                       when(self.station, each.cells[0]) if each.cells else "—", self.station.money(each.price_minor),
                       when(self.station, each.hold_until) if each.hold_until else "—"))
            for each in work
        ], _("No work added yet: a adds a service"))
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.data is None:
            return action == "back"
        booking, work = self.data
        if action == "add_work":
            return booking.state in IN_PROGRESS
        if action in ("approve_work", "refuse_work"):
            return any(each.state == WorkState.PENDING for each in work)
        return True

    def action_add_work(self) -> None:
        def present(codes: str, yes: bool | None) -> None:
            if yes is not None:
                self.call("add", found_work.add_work, self.station, self.ref, codes.replace(",", " ").split(),
                          customer_present=yes)

        def asked(codes: str | None) -> None:
            if codes:
                self.app.push_screen(ConfirmDialog(_("Is the customer here and agreeing to it? (n: ask them)")),
                                     lambda yes: present(codes, yes))

        self.app.push_screen(PromptDialog(_("Service codes found (Enter adds, Esc adds nothing)")), asked)

    def action_approve_work(self) -> None:
        self.call("approve", found_work.approve, self.station, self.ref)

    def action_refuse_work(self) -> None:
        self.call("refuse", found_work.refuse, self.station, self.ref)

    def done(self, request: str, result: list[found_work.FoundWork]) -> None:
        messages = {"add": N_("{services}: added"), "approve": N_("{services}: approved"),
                    "refuse": N_("{services}: refused, its time given back")}
        services = "+".join(service_name(self.station, each.service_code) for each in result)
        self.app.notify(_(messages[request]).format(services=services))
        self.reload()
