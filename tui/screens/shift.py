"""The shift and its cash drawer at this terminal.

With no shift open, the screen offers to open one: the float is prefilled with what the last
close counted, Enter opens it. With one open it shows the float, the money taken by method and
the cash the drawer should hold now; i puts cash in, o takes cash out (each with a reason), x
shows the X report, z counts the drawer note by note and closes the shift, then shows the Z report.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Static

from edge.domain.money import format_money
from edge.domain.shifts import ShiftReport
from edge.services import shifts
from edge.services.shifts import ShiftView
from edge.services.station import Station
from tui.formatting import clock
from tui.i18n import N_, _
from tui.screens.base import StationScreen
from tui.screens.shift_dialogs import (
    CashDialog, CashForm, CloseForm, CloseShiftDialog, ShiftReportDialog, amount_minor, method_label,
)


@dataclass(frozen=True, slots=True)
class ShiftNow:
    """What the screen shows: the open shift (or None) and the float a new one would start with."""

    shift: ShiftView | None
    default_float_minor: int


def shift_now(station: Station) -> ShiftNow:
    return ShiftNow(shifts.current_shift(station), shifts.default_float(station))


def open_with_float(station: Station, text: str) -> ShiftView:
    return shifts.open_shift(station, float_minor=amount_minor(station, text, "float"))


def move_cash(station: Station, form: CashForm) -> ShiftView:
    return shifts.cash_movement(station, direction=form.direction,  # type: ignore[arg-type]
                                amount_minor=amount_minor(station, form.amount, "amount"), reason=form.reason)


def close_counted(station: Station, form: CloseForm) -> ShiftReport:
    return shifts.close_shift(station, denominations=form.denominations, note=form.note)


# the keys that need an open shift
_SHIFT_ACTIONS = frozenset({"cash_in", "cash_out", "x_report", "close_shift"})


class ShiftScreen(StationScreen):
    TITLE = N_("Shift")
    AUTO_FOCUS = "#float"
    BINDINGS = [
        Binding("i", "cash_in", N_("Cash in")),
        Binding("o", "cash_out", N_("Cash out")),
        Binding("x", "x_report", N_("X report")),
        Binding("z", "close_shift", N_("Close shift")),
        Binding("escape", "back", N_("Back")),
    ]
    DEFAULT_CSS = """
    #shift-screen { padding: 0 1; }
    #drawer { height: auto; border: round $primary 40%; border-title-color: $text-primary;
              border-title-style: bold; padding: 0 1; }
    #open-form { height: auto; margin-top: 1; }
    #open-form .field { height: 1; margin: 1 0 0 0; }
    #open-form .field Label { width: 14; padding: 0 1; }
    #open-form .field Input { width: 16; }
    #open-form .hint { margin: 1 0 0 1; color: $text-muted; }
    """

    def compose_body(self) -> ComposeResult:
        with Vertical(id="shift-screen"):
            drawer = Static("", id="drawer")
            drawer.border_title = _("Cash drawer · terminal {terminal}").format(terminal=self.station.terminal)
            yield drawer
            with Vertical(id="open-form"):
                yield Label(_("No shift is open at this terminal."), id="no-shift")
                with Horizontal(classes="field"):
                    yield Label(_("Float"))
                    yield Input(compact=True, id="float", placeholder="200.00")
                yield Label(_("Count the cash in the drawer, then Enter opens the shift"), classes="hint")

    def load(self, station: Station) -> ShiftNow:
        return shift_now(station)

    def show(self, data: ShiftNow) -> None:
        is_open = data.shift is not None
        self.query_one("#open-form").display = not is_open
        drawer = self.query_one("#drawer", Static)
        drawer.display = is_open
        if data.shift is not None:
            drawer.update(self._drawer(data.shift))
            if self.focused is not None and self.focused.id == "float":
                self.set_focus(None)
        else:
            field = self.query_one("#float", Input)
            if not field.value:
                field.value = self._major(data.default_float_minor)
            field.focus()
        self.refresh_bindings()

    def _major(self, minor: int) -> str:
        """An amount as the attendant types it: '200.00'."""
        station = self.station.settings.station
        return format_money(minor, station.currency, station.currency_minor_digits).split(" ")[0].replace(",", "")

    def _drawer(self, shift: ShiftView) -> Table:
        money = self.station.money
        table = Table(show_header=False, box=None, padding=(0, 1), expand=True)
        table.add_column(ratio=2)
        table.add_column(ratio=1, justify="right")
        table.add_row(_("Opened"), clock(self.station, shift.opened_at))
        table.add_row(_("Float"), money(shift.float_minor))
        for method, amount in shift.taken_by_method.items():
            table.add_row(_("Taken by {method}").format(method=method_label(method)), money(amount))
        if not shift.taken_by_method:
            table.add_row(Text(_("No money taken yet"), style="dim"), "")
        if shift.cash_in_minor:
            table.add_row(_("Cash in"), money(shift.cash_in_minor))
        if shift.cash_out_minor:
            table.add_row(_("Cash out"), money(-shift.cash_out_minor))
        table.add_row(Text(_("Expected cash in the drawer"), style="bold"),
                      Text(money(shift.expected_minor), style="bold"))
        return table

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in _SHIFT_ACTIONS:
            return self.data is not None and self.data.shift is not None
        return True

    # -- opening -------------------------------------------------------------------------

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "float":
            event.stop()
            self.call("open", open_with_float, self.station, event.value)

    # -- cash, reports, the close ----------------------------------------------------------

    def action_cash_in(self) -> None:
        self.app.push_screen(CashDialog("in"), self._cash)

    def action_cash_out(self) -> None:
        self.app.push_screen(CashDialog("out"), self._cash)

    def _cash(self, form: CashForm | None) -> None:
        if form is not None:
            self.call("cash", move_cash, self.station, form)

    def action_x_report(self) -> None:
        self.call("x", shifts.x_report, self.station)

    def action_close_shift(self) -> None:
        if self.data is None or self.data.shift is None:
            return
        self.app.push_screen(CloseShiftDialog(self.station, self.data.shift.expected_minor), self._close)

    def _close(self, form: CloseForm | None) -> None:
        if form is not None:
            self.call("close", close_counted, self.station, form)

    def done(self, request: str, result) -> None:
        money = self.station.money
        if request == "open":
            self.app.notify(_("Shift open with a float of {amount}").format(amount=money(result.float_minor)))
        elif request == "cash":
            self.app.notify(_("Expected cash now {amount}").format(amount=money(result.expected_minor)))
        elif request in ("x", "close"):
            self.app.push_screen(ShiftReportDialog(self.station, result))
        self.reload()
