"""Fleet approvals: bookings waiting for a fleet's approver, approved or rejected as the approver said by phone.

The fleet's manager calls the desk; the attendant records the decision in the manager's name
(their phone, which the fleet's rules check: the approver's role, and that they did not
ask for the booking themselves). A rejection needs a reason; the booking is then rejected
and its cells freed.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable

from edge.domain.enterprise import ApprovalState
from edge.services import enterprise_bookings
from edge.services.enterprise_bookings import ApprovalView
from edge.services.station import Station
from tui.formatting import when
from tui.i18n import N_, _
from tui.screens.base import StationScreen, cursor_key, refill
from tui.screens.form_dialog import FormDialog, FormField
from tui.widgets.common.fitted_table import Column, FittedTable

APPROVAL_COLUMNS = (Column(N_("Booking")), Column(N_("Fleet"), shrink_to=6), Column(N_("Amount")),
                    Column(N_("Waiting for"), shrink_to=8), Column(N_("Expires")),
                    Column(N_("Asked by"), drop=1), Column(N_("Categories"), shrink_to=6, drop=2))
STATE_LABELS = {
    ApprovalState.PENDING: N_("still waiting for {roles}"),
    ApprovalState.APPROVED: N_("approved: booking confirmed"),
    ApprovalState.REJECTED: N_("rejected: booking cancelled"),
    ApprovalState.EXPIRED: N_("too late: the approval had expired"),
    ApprovalState.WITHDRAWN: N_("withdrawn"),
}


class ApprovalsScreen(StationScreen):
    TITLE = N_("Fleet approvals")
    AUTO_FOCUS = "#approvals"
    BINDINGS = [
        Binding("y", "approve", N_("Approve")),
        Binding("x", "reject", N_("Reject")),
        Binding("escape", "back", N_("Back")),
    ]

    def compose_body(self) -> ComposeResult:
        with Vertical(id="approvals-screen"):
            table = FittedTable(APPROVAL_COLUMNS, id="approvals")
            table.border_title = _("Waiting for a fleet approver")
            yield table

    def load(self, station: Station) -> list[ApprovalView]:
        return enterprise_bookings.pending_approvals(station)

    def show(self, approvals: list[ApprovalView]) -> None:
        station = self.station
        refill(self.query_one("#approvals", DataTable), [
            (a.booking_code, (a.booking_code, a.enterprise_id, station.money(a.amount_minor), ", ".join(a.awaiting),
                              when(station, a.expires_at), a.requester_phone, ", ".join(a.categories)))
            for a in approvals
        ], _("No bookings wait for approval"))

    def code_for_row(self, table: DataTable, key: str) -> str | None:
        return key or None  # Enter opens the booking

    def _selected(self) -> ApprovalView | None:
        key = cursor_key(self.query_one("#approvals", DataTable))
        return next((a for a in self.data or () if a.booking_code == key), None)

    def action_approve(self) -> None:
        approval = self._selected()
        if approval is None:
            return

        def answered(form: dict[str, str] | None) -> None:
            if form is not None:
                self.call("decided", enterprise_bookings.approve, self.station, approval.booking_code,
                          by_phone=form["phone"])

        self.app.push_screen(FormDialog(
            _("Approve {code} for {fleet}: the approver's phone").format(code=approval.booking_code,
                                                                          fleet=approval.enterprise_id),
            [FormField("phone", _("Approver phone"), placeholder="139…")]), answered)

    def action_reject(self) -> None:
        approval = self._selected()
        if approval is None:
            return

        def answered(form: dict[str, str] | None) -> None:
            if form is not None:
                self.call("decided", enterprise_bookings.reject, self.station, approval.booking_code,
                          by_phone=form["phone"], reason=form["reason"])

        self.app.push_screen(FormDialog(
            _("Reject {code} for {fleet}").format(code=approval.booking_code, fleet=approval.enterprise_id),
            [FormField("phone", _("Approver phone"), placeholder="139…"), FormField("reason", _("Reason"))]),
            answered)

    def done(self, request: str, result: Any) -> None:
        view: ApprovalView = result
        outcome = _(STATE_LABELS[view.state]).format(roles=", ".join(view.awaiting))
        self.app.notify(f"{view.booking_code}: {outcome}")
        self.reload()
