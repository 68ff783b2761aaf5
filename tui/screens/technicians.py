"""Technicians: today's roster, who is rostered now and who has clocked in, and the legs of bookings assigned to each
today (a booking's oil change on a lift is its technician's; its wash after, on another bay, may be no one's).

A technician without their card clocks in or out here (k): the same toggle as the card reader.
The desk records a roster exception for the selected technician (e: leave, sick, an extra shift,
holiday hours) or removes one (d); today's shifts show with the exception applied and marked,
and the exceptions from today on are listed. Bookings an exception leaves uncovered are named
in a warning, for the desk to reassign.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable

from edge.domain.booking_state import Progress
from edge.domain.permissions import Permission
from edge.domain.roster import RosterException
from edge.services import live_state, roster
from edge.services.booking_store import BookingRecord
from edge.services.station import Station
from tui.formatting import clock, day_label, services_label, span, stage_label, state_label
from tui.i18n import N_, _
from tui.lookups import TechnicianDay, TechniciansToday, technicians_today
from tui.screens.base import StationScreen, refill
from tui.screens.dialogs import ConfirmDialog
from tui.screens.manager_pin import with_manager
from tui.screens.roster_exception import ExceptionForm, RosterExceptionDialog, kind_label, save_exception
from tui.widgets.common.fitted_table import Column, FittedTable


ROSTER_COLUMNS = (Column(N_("Id"), drop=1), Column(N_("Name")), Column(N_("Skills"), shrink_to=6, drop=2),
                  Column(N_("Shift"), shrink_to=11), Column(N_("Now")), Column(N_("Clocked in")), Column(N_("Booked")))
ASSIGNED_COLUMNS = (Column(N_("Technician"), shrink_to=4), Column(N_("Time")), Column(N_("Plate")),
                    Column(N_("Services"), shrink_to=6, drop=1), Column(N_("Bay")), Column(N_("State"), shrink_to=6))
EXCEPTION_COLUMNS = (Column(N_("Day")), Column(N_("Technician"), shrink_to=4), Column(N_("Kind")),
                     Column(N_("Hours")), Column(N_("Notes"), shrink_to=4, drop=1))


class TechniciansScreen(StationScreen):
    TITLE = N_("Technicians")
    AUTO_FOCUS = "#roster"
    BINDINGS = [
        Binding("k", "clock", N_("Clock in/out")),
        Binding("e", "set_exception", N_("Roster exception")),
        Binding("d", "remove_exception", N_("Remove exception")),
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
            exceptions = FittedTable(EXCEPTION_COLUMNS, id="exceptions")
            exceptions.border_title = _("Roster exceptions")
            yield exceptions

    def load(self, station: Station):
        return technicians_today(station)

    def show(self, data: TechniciansToday) -> None:
        station, rows = self.station, data.technicians
        refill(self.query_one("#roster", DataTable), [
            (t.id, (t.id, t.name, ", ".join(t.skills), self._shift_text(t),
                    Text(_("on shift"), style="bold") if t.on_shift else _("off"),
                    Text(clock(station, t.clocked_in_at), style="bold") if t.clocked_in_at else "—",
                    str(len(t.legs))))
            for t in rows
        ])
        refill(self.query_one("#assigned", DataTable), [
            (f"{b.code}|{leg.seq}", (t.name, span(station, leg.start_at, leg.end_at), b.plate,
                                     services_label(station, leg.services), leg.bay_id, _leg_state(b, leg.seq)))
            for t in rows for b, leg in t.legs
        ], _("No bookings assigned today"))
        names = {t.id: t.name for t in rows}
        refill(self.query_one("#exceptions", DataTable), [
            (f"{e.technician_id}|{e.day.isoformat()}",
             (day_label(e.day), names.get(e.technician_id, e.technician_id), kind_label(e.kind),
              e.hours_text().replace("-", "–"), e.note))
            for e in data.exceptions
        ], _("No roster exceptions from today on"))

    def code_for_row(self, table: DataTable, key: str) -> str | None:
        """The assigned legs are keyed 'CODE|leg': Enter opens the booking."""
        return (key.split("|", 1)[0] or None) if table.has_class("bookings") else None

    def _shift_text(self, t: TechnicianDay) -> str | Text:
        shifts = " ".join(f"{clock(self.station, s)}–{clock(self.station, e)}" for s, e in t.shifts) or _("off today")
        if t.exception is None:
            return shifts
        return Text.assemble(shifts, " · ", (kind_label(t.exception.kind), "bold yellow"))

    def _selected_technician(self) -> TechnicianDay | None:
        """The technician of the selected row: in the roster, or of the selected exception."""
        if self.data is None:
            return None
        key = self._selected_key("#exceptions" if self.focused_on_exceptions() else "#roster")
        technician_id = key.split("|", 1)[0] if key else None
        return next((t for t in self.data.technicians if t.id == technician_id), None)

    def _selected_key(self, selector: str) -> str | None:
        table = self.query_one(selector, DataTable)
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value or None

    def focused_on_exceptions(self) -> bool:
        return self.app.focused is self.query_one("#exceptions", DataTable)

    def action_clock(self) -> None:
        technician = self._selected_technician()
        if technician is None:
            return
        if not technician.card_id:
            self.app.notify(_("{name} has no staff card in the roster").format(name=technician.name),
                            severity="warning")
            return
        self.call("clock", live_state.clock_card, self.station, technician.card_id, now=self.station.clock())

    def action_set_exception(self) -> None:
        technician = self._selected_technician()
        if technician is None:
            return

        def answered(form: ExceptionForm | None) -> None:
            if form is not None:
                with_manager(self.app, Permission.ROSTER_CHANGE,
                             lambda manager: self.call("roster_set", save_exception, self.station, form, manager))

        today = self.station.local(self.station.clock()).date()
        self.app.push_screen(RosterExceptionDialog(technician.id, technician.name, today), answered)

    def action_remove_exception(self) -> None:
        """Remove the selected exception, or the selected technician's next one."""
        technician = self._selected_technician()
        if technician is None:
            return
        key = self._selected_key("#exceptions") if self.focused_on_exceptions() else None
        exception = next((e for e in self.data.exceptions
                          if e.technician_id == technician.id and (key is None or key.endswith(e.day.isoformat()))),
                         None)
        if exception is None:
            self.app.notify(_("{name} has no roster exception from today on").format(name=technician.name),
                            severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                with_manager(self.app, Permission.ROSTER_CHANGE, lambda manager: self.call(
                    "roster_remove", roster.remove_exception, self.station, technician.id, day=exception.day,
                    manager=manager))

        self.app.push_screen(ConfirmDialog(_("Remove {name}'s {kind} on {day}?").format(
            name=technician.name, kind=kind_label(exception.kind), day=day_label(exception.day))), answered)

    def done(self, request: str, result: Any) -> None:
        if request == "clock" and result is not None:
            text = _("{name} clocked out") if result.clocked_out_at else _("{name} clocked in")
            self.app.notify(text.format(name=result.name))
        elif request in ("roster_set", "roster_remove"):
            self._changed(result, removed=request == "roster_remove")
        self.reload()

    def _changed(self, change: roster.RosterChange, *, removed: bool) -> None:
        e: RosterException = change.exception
        name = next((t.name for t in self.data.technicians if t.id == e.technician_id), e.technician_id)
        text = _("{name}: {kind} on {day} removed") if removed else _("{name}: {kind} on {day}")
        self.app.notify(text.format(name=name, kind=kind_label(e.kind), day=day_label(e.day)))
        if change.affected:
            self.app.notify(_("Reassign {count} booking(s) of {name}: {codes}").format(
                count=len(change.affected), name=name, codes=", ".join(b.code for b in change.affected)),
                severity="warning", timeout=15)


def _leg_state(booking: BookingRecord, seq: int) -> str:
    """Where a leg stands: done once the car has moved past it, else its booking's progress or state."""
    if seq < booking.leg:
        return stage_label(Progress.DONE)
    return stage_label(booking.progress) if seq == booking.leg and booking.progress else state_label(booking.state)
