"""Complaints: those raised by low ratings and not closed yet; assign one to a staff member, resolve it, close it.

Each step asks for a note in a small form (to whom, and what to do; what was done; why it is
closed) and is told to HQ's customer service.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable

from edge.domain.complaints import FOLLOWED_UP, ComplaintState
from edge.services import complaints, delivery, staff
from edge.services.delivery import ComplaintRecord
from edge.services.station import Station
from tui.formatting import when
from tui.i18n import N_, _
from tui.screens.base import StationScreen, cursor_key, refill
from tui.screens.form_dialog import FormDialog, FormField
from tui.widgets.common.fitted_table import Column, FittedTable

COMPLAINT_COLUMNS = (Column(N_("Raised")), Column(N_("Booking"), drop=2), Column(N_("Plate")), Column(N_("Rating")),
                     Column(N_("State")), Column(N_("Assigned to"), shrink_to=4),
                     Column(N_("Comment"), shrink_to=6), Column(N_("Notes"), shrink_to=6, drop=1))
STATE_LABELS = {
    ComplaintState.OPEN: N_("open"),
    ComplaintState.ASSIGNED: N_("assigned"),
    ComplaintState.RESOLVED: N_("resolved"),
    ComplaintState.CLOSED: N_("closed"),
}


@dataclass(frozen=True, slots=True)
class ComplaintsNow:
    complaints: list[ComplaintRecord]
    staff_names: dict[str, str]  # staff id -> name


def complaints_now(station: Station) -> ComplaintsNow:
    return ComplaintsNow(delivery.complaints(station, state=FOLLOWED_UP),
                         {member.id: member.name for member in staff.list_staff(station)})


class ComplaintsScreen(StationScreen):
    TITLE = N_("Complaints")
    AUTO_FOCUS = "#complaints"
    BINDINGS = [
        Binding("e", "assign", N_("Assign")),
        Binding("v", "resolve", N_("Resolve")),
        Binding("x", "close", N_("Close")),
        Binding("escape", "back", N_("Back")),
    ]

    def compose_body(self) -> ComposeResult:
        with Vertical(id="complaints-screen"):
            table = FittedTable(COMPLAINT_COLUMNS, id="complaints")
            table.border_title = _("Complaints to follow up")
            yield table

    def load(self, station: Station) -> ComplaintsNow:
        return complaints_now(station)

    def show(self, data: ComplaintsNow) -> None:
        station = self.station
        refill(self.query_one("#complaints", DataTable), [
            (c.id, (when(station, c.created_at), c.booking_code, c.plate, f"{c.rating}/5",
                    _(STATE_LABELS[ComplaintState(c.state)]),
                    data.staff_names.get(c.assigned_to, c.assigned_to) if c.assigned_to else "—", c.comment, c.note))
            for c in data.complaints
        ], _("No complaints to follow up"))

    def _selected(self) -> ComplaintRecord | None:
        key = cursor_key(self.query_one("#complaints", DataTable))
        return next((c for c in (self.data.complaints if self.data else ()) if c.id == key), None)

    def _ask(self, title: str, fields: list[FormField], request: str, step, **fixed: Any) -> None:
        complaint = self._selected()
        if complaint is None:
            return

        def answered(form: dict[str, str] | None) -> None:
            if form is not None:
                self.call(request, step, self.station, complaint.id, **form, **fixed)

        self.app.push_screen(FormDialog(title.format(code=complaint.booking_code, plate=complaint.plate), fields),
                             answered)

    def action_assign(self) -> None:
        self._ask(_("Assign the complaint on {code} ({plate})"),
                  [FormField("to", _("To (staff)"), placeholder=_("staff id or name")), FormField("note", _("Notes"))],
                  "assign", complaints.assign)

    def action_resolve(self) -> None:
        self._ask(_("Resolve the complaint on {code} ({plate})"), [FormField("note", _("What was done"))],
                  "resolve", complaints.resolve)

    def action_close(self) -> None:
        self._ask(_("Close the complaint on {code} ({plate})"), [FormField("note", _("Why it is closed"))],
                  "close", complaints.close)

    def done(self, request: str, result: Any) -> None:
        complaint: ComplaintRecord = result
        self.app.notify(_("Complaint on {code}: {state}").format(
            code=complaint.booking_code, state=_(STATE_LABELS[ComplaintState(complaint.state)])))
        self.reload()
