"""The shift screen's dialogs: cash in or out of the drawer, the drawer count at the close, an X or Z report.

The dialogs only gather what was typed; the shift screen calls edge's shift service with it in a
worker, and the service's refusals (an amount that is not one, a missing reason) come back as
notifications naming what was wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from edge.domain.money import parse_money
from edge.domain.shifts import DENOMINATIONS, ShiftReport, counted_from_denominations, variance
from edge.errors import InvalidInput
from edge.services.station import Station
from tui.formatting import clock
from tui.i18n import N_, _

# how the terminal names each way of paying
METHOD_LABELS = {
    "cash": N_("cash"),
    "bank_card": N_("bank card"),
    "wechat_pay": N_("WeChat Pay"),
    "alipay": N_("Alipay"),
    "enterprise": N_("company account"),
    "prepaid": N_("prepaid"),
}


def method_label(method: str) -> str:
    return _(METHOD_LABELS[method]) if method in METHOD_LABELS else method


def amount_minor(station: Station, text: str, field: str) -> int:
    """An amount typed in major units ('200.00') as minor units; InvalidInput naming `field`."""
    if not text.strip():
        raise InvalidInput(field, _("type an amount, e.g. 200.00"))
    return parse_money(text, station.settings.station.currency_minor_digits, field=field)


@dataclass(frozen=True, slots=True)
class CashForm:
    """Cash put into the drawer or taken out, as typed."""

    direction: str  # "in" or "out"
    amount: str
    reason: str


class CashDialog(ModalScreen[CashForm | None]):
    """Amount and reason: Enter moves from the amount to the reason, Enter there records it; Escape does not."""

    BINDINGS = [Binding("escape", "cancel", N_("Back"))]
    AUTO_FOCUS = "#cash-amount"
    DEFAULT_CSS = """
    CashDialog { align: center middle; }
    CashDialog .field { height: 1; margin: 1 0 0 0; }
    CashDialog .field Label { width: 10; padding: 0 1; }
    CashDialog .field Input { width: 1fr; }
    """

    def __init__(self, direction: str) -> None:
        super().__init__()
        self.direction = direction

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="cash-form"):
            yield Label(_("Put cash into the drawer") if self.direction == "in" else _("Take cash out of the drawer"))
            with Horizontal(classes="field"):
                yield Label(_("Amount"))
                yield Input(placeholder="100.00", compact=True, id="cash-amount")
            with Horizontal(classes="field"):
                yield Label(_("Reason"))
                yield Input(placeholder=_("e.g. change from the safe") if self.direction == "in" else _("e.g. banked"),
                            compact=True, id="cash-reason")
            with Horizontal(classes="buttons"):
                yield Button(_("Save"), id="save", variant="primary")
                yield Button(_("Cancel"), id="cancel")

    def _form(self) -> CashForm:
        return CashForm(self.direction, self.query_one("#cash-amount", Input).value,
                        self.query_one("#cash-reason", Input).value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "cash-amount":
            self.query_one("#cash-reason", Input).focus()
        else:
            self.dismiss(self._form())

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(self._form() if event.button.id == "save" else None)

    def action_cancel(self) -> None:
        self.dismiss(None)


@dataclass(frozen=True, slots=True)
class CloseForm:
    """The drawer as counted: how many of each note and coin, and a note."""

    denominations: dict[str, int]
    note: str


def _count(text: str) -> int | None:
    """A count as typed: blank is none; anything but a whole number is None (not counted yet)."""
    text = text.strip()
    if not text:
        return 0
    return int(text) if text.isdigit() else None


class CloseShiftDialog(ModalScreen[CloseForm | None]):
    """A row per note and coin to count into (Tab or Enter to the next); the total and the variance
    against the expected cash follow the typing; a note; Confirm closes the shift, Escape does not."""

    BINDINGS = [Binding("escape", "cancel", N_("Back"))]
    AUTO_FOCUS = "#count-100"
    DEFAULT_CSS = """
    CloseShiftDialog { align: center middle; }
    CloseShiftDialog .dialog { padding: 0 2; }
    CloseShiftDialog .count { height: 1; }
    CloseShiftDialog .count Label { width: 12; padding: 0 1; }
    CloseShiftDialog .count Input { width: 8; }
    CloseShiftDialog .count .subtotal { width: 1fr; text-align: right; }
    CloseShiftDialog #count-total, CloseShiftDialog #count-variance { height: 1; text-align: right; }
    CloseShiftDialog .field { height: 1; margin: 1 0 0 0; }
    CloseShiftDialog .field Label { width: 12; padding: 0 1; }
    CloseShiftDialog .field Input { width: 1fr; }
    CloseShiftDialog .buttons { margin-top: 0; }
    """

    def __init__(self, station: Station, expected_minor: int) -> None:
        super().__init__()
        self.station = station
        self.expected_minor = expected_minor

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="close-form"):
            yield Label(_("Count the drawer: how many of each note and coin"))
            for key in DENOMINATIONS:
                with Horizontal(classes="count"):
                    yield Label(f"{key} ×")
                    yield Input(placeholder="0", compact=True, id=f"count-{key.replace('.', '_')}",
                                restrict=r"[0-9]*")
                    yield Label("", classes="subtotal", id=f"sub-{key.replace('.', '_')}")
            yield Label("", id="count-total")
            yield Label("", id="count-variance")
            with Horizontal(classes="field"):
                yield Label(_("Notes"))
                yield Input(compact=True, id="close-note")
            with Horizontal(classes="buttons"):
                yield Button(_("Close shift"), id="confirm", variant="error")
                yield Button(_("Cancel"), id="cancel")

    def on_mount(self) -> None:
        self._update()

    def counts(self) -> dict[str, int] | None:
        """What has been counted so far; None while a field holds something that is not a count."""
        counts: dict[str, int] = {}
        for key in DENOMINATIONS:
            number = _count(self.query_one(f"#count-{key.replace('.', '_')}", Input).value)
            if number is None:
                return None
            if number:
                counts[key] = number
        return counts

    def _update(self) -> None:
        digits = self.station.settings.station.currency_minor_digits
        for key in DENOMINATIONS:
            number = _count(self.query_one(f"#count-{key.replace('.', '_')}", Input).value) or 0
            subtotal = counted_from_denominations({key: number}, digits) if number else 0
            self.query_one(f"#sub-{key.replace('.', '_')}", Label).update(
                self.station.money(subtotal) if number else "")
        counts = self.counts() or {}
        counted = counted_from_denominations(counts, digits)
        difference = variance(counted, self.expected_minor)
        self.query_one("#count-total", Label).update(
            _("Counted {counted} · expected {expected}").format(counted=self.station.money(counted),
                                                                  expected=self.station.money(self.expected_minor)))
        style = "bold red" if difference < 0 else "bold yellow" if difference > 0 else "bold green"
        self.query_one("#count-variance", Label).update(
            Text(_("Variance {amount}").format(amount=self.station.money(difference)), style=style))

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id and event.input.id.startswith("count-"):
            self._update()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "close-note":
            self.query_one("#confirm", Button).focus()
        else:
            self.focus_next()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id != "confirm":
            self.dismiss(None)
            return
        counts = self.counts()
        if counts is None:
            self.app.notify(_("Every count is a whole number"), severity="error")
            return
        self.dismiss(CloseForm(counts, self.query_one("#close-note", Input).value))

    def action_cancel(self) -> None:
        self.dismiss(None)


def report_table(station: Station, report: ShiftReport) -> Table:
    """The X or Z report's figures: money by kind (and by method beside it), then the drawer."""
    table = Table(show_header=False, box=None, padding=(0, 1), expand=True)
    table.add_column(no_wrap=True)
    table.add_column(ratio=1, style="dim")
    table.add_column(justify="right", no_wrap=True)
    table.add_row(_("Opened"), "", clock(station, report.opened_at))
    for label, by_method in ((N_("Sales"), report.sales_by_method), (N_("Refunds"), report.refunds_by_method),
                             (N_("Top-ups"), report.top_ups_by_method), (N_("Deposits"), report.deposits_by_method)):
        methods = " · ".join(f"{method_label(m)} {station.money(a)}" for m, a in sorted(by_method.items()))
        table.add_row(_(label), methods, station.money(sum(by_method.values())))
    table.add_row(_("Cash in"), "", station.money(report.cash_in_minor))
    table.add_row(_("Cash out"), "", station.money(-report.cash_out_minor))
    table.add_row(_("Float"), "", station.money(report.float_minor))
    table.add_row(Text(_("Expected cash"), style="bold"), "", Text(station.money(report.expected_minor), style="bold"))
    if report.final:
        table.add_row(_("Counted cash"), "", station.money(report.counted_minor or 0))
        difference = report.variance_minor or 0
        style = "bold red" if difference < 0 else "bold yellow" if difference > 0 else "bold green"
        table.add_row(Text(_("Variance"), style=style), report.note, Text(station.money(difference), style=style))
    return table


class ShiftReportDialog(ModalScreen[None]):
    """An X report (the shift still open) or the Z report after the close; Escape or Enter closes it."""

    BINDINGS = [Binding("escape,enter", "close", N_("Back"))]
    DEFAULT_CSS = """
    ShiftReportDialog { align: center middle; }
    ShiftReportDialog #report-body { height: auto; max-height: 18; }
    """

    def __init__(self, station: Station, report: ShiftReport) -> None:
        super().__init__()
        self.station = station
        self.report = report

    def compose(self) -> ComposeResult:
        title = _("Z report: shift closed") if self.report.final else _("X report: shift so far")
        with Vertical(classes="dialog", id="report"):
            yield Label(Text(f"{title} · {self.report.terminal} · {clock(self.station, self.report.at)}",
                             style="bold"))
            with VerticalScroll(id="report-body"):
                yield Static(report_table(self.station, self.report), id="report-figures")
            yield Label(_("{count} ledger transactions").format(count=self.report.transactions), classes="hint")

    def on_mount(self) -> None:
        # wider than the other dialogs: the money by method sits beside each total
        self.query_one("#report").styles.width = 78

    def action_close(self) -> None:
        self.dismiss(None)
