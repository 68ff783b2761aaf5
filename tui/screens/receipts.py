"""Receipts: a day's list with a search box, and one receipt with its lines, deductions, payments,
change, refunds and e-invoice state; from a receipt, `f` refunds it and `i` asks for an e-invoice."""

from __future__ import annotations

from datetime import date, timedelta

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Input, Label, Select, Static

from edge.services import receipts
from edge.services.receipts import ReceiptSummary, ReceiptView
from edge.services.station import Station
from tui.formatting import clock, day_label, when
from tui.i18n import N_, _
from tui.screens.base import StationScreen, refill
from tui.screens.invoice import InvoiceDialog
from tui.screens.refund import RefundScreen
from tui.till import line_name, method_label, receipt_state_label
from tui.widgets.common.fitted_table import Column, FittedTable

DAYS_BACK = 31  # the day picker offers today and this many days before
RECEIPT_COLUMNS = (Column(N_("Number"), shrink_to=8), Column(N_("Time")), Column(N_("Customer"), shrink_to=6, drop=1),
                   Column(N_("Total")), Column(N_("State"), shrink_to=4))
INVOICE_STATES = {"none": N_("not asked"), "requested": N_("requested")}


def customer_label(item: ReceiptSummary | ReceiptView) -> str:
    """The plate and the member (name, else phone) of a receipt; '—' for an anonymous sale."""
    parts = [part for part in (item.plate, item.member_name or item.member_phone) if part]
    return " · ".join(parts) or "—"


class ReceiptsScreen(StationScreen):
    TITLE = N_("Receipts")
    AUTO_FOCUS = "#search"
    BINDINGS = [Binding("escape", "back", N_("Back"))]

    def __init__(self) -> None:
        super().__init__()
        self.search = ""
        self.day: date | None = None

    def compose_body(self) -> ComposeResult:
        today = self.station.local(self.station.clock()).date()
        self.day = self.day or today
        with VerticalScroll(id="receipts"):
            with Horizontal(classes="field"):
                yield Label(_("Search"))
                yield Input(self.search, placeholder=_("number, plate, phone, name or booking code"), compact=True,
                            id="search")
            with Horizontal(classes="field"):
                yield Label(_("Day"))
                days = [(day_label(today - timedelta(days=n)), today - timedelta(days=n)) for n in range(DAYS_BACK + 1)]
                yield Select(days, value=self.day, allow_blank=False, compact=True, id="day")
            table = FittedTable(RECEIPT_COLUMNS, id="receipt-list")
            table.border_title = _("Receipts")
            table.border_subtitle = _("Enter shows one")
            yield table

    def load(self, station: Station) -> list[ReceiptSummary]:
        return receipts.list_receipts(station, day=self.day, search=self.search)

    def show(self, found: list[ReceiptSummary]) -> None:
        station = self.station
        refill(self.query_one("#receipt-list", FittedTable), [
            (r.number, (r.number, clock(station, r.created_at), customer_label(r), station.money(r.total_minor),
                        receipt_state_label(r.state)))
            for r in found
        ], _("No receipts"))

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.search = event.value
        self.reload()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one("#receipt-list", FittedTable).focus()

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        if isinstance(event.value, date) and event.value != self.day:
            self.day = event.value
            self.reload()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        number = str(event.row_key.value or "")
        if number:
            self.app.push_screen(ReceiptScreen(number))


class ReceiptScreen(StationScreen):
    TITLE = N_("Receipt")
    AUTO_FOCUS = "#receipt-view"
    BINDINGS = [
        Binding("f", "refund", N_("Refund")),
        Binding("i", "invoice", N_("E-invoice")),
        Binding("escape", "back", N_("Back")),
    ]

    def __init__(self, number: str) -> None:
        super().__init__()
        self.number = number

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="receipt-view"):
            facts = Static(id="receipt-facts")
            facts.border_title = _("Receipt")
            yield facts

    def load(self, station: Station) -> ReceiptView:
        return receipts.get_receipt(station, self.number)

    def title_note(self) -> str:
        return self.number

    def show(self, view: ReceiptView) -> None:
        self.query_one("#receipt-facts", Static).update(self._facts(view))
        self.refresh_bindings()

    def _facts(self, view: ReceiptView) -> Table:
        station = self.station
        money = station.money
        grid = Table.grid(padding=(0, 1), expand=True)
        grid.add_column(ratio=1, overflow="ellipsis", no_wrap=True)
        grid.add_column(justify="right", no_wrap=True)
        grid.add_row(Text(f"{when(station, view.created_at)} · {customer_label(view)}"
                          + (f" · {view.booking_code}" if view.booking_code else ""), style="bold"),
                     Text(receipt_state_label(view.state), style="bold reverse"))
        for line in view.lines:
            name = line_name(station, line.code) + (f" ×{line.quantity}" if line.quantity != 1 else "")
            if line.refunded_quantity:
                name += " " + _("({count} refunded)").format(count=line.refunded_quantity)
            grid.add_row(name, money(line.gross_minor))
        deductions = ((_("Tier discount"), view.tier_discount_minor), (_("Coupon"), view.coupon_discount_minor),
                      (_("Price override"), view.override_discount_minor),
                      (_("Points ({points})").format(points=view.points_redeemed), view.points_minor),
                      (_("Prepaid"), view.prepaid_minor), (_("Deposit"), view.deposit_minor))
        for label, minor in deductions:
            if minor:
                grid.add_row(Text(label, style="dim"), money(-minor))
        grid.add_row(Text(_("Paid"), style="bold"), Text(money(view.total_minor), style="bold"))
        for method, amount, _reference in view.payments:
            grid.add_row("  " + method_label(method), money(amount))
        if view.cash_tendered_minor is not None:
            grid.add_row("  " + _("Cash given"), money(view.cash_tendered_minor))
            grid.add_row("  " + _("Change"), money(view.change_minor))
        for refund in view.refunds:
            back = sum(amount for _method, amount in refund.money) + refund.prepaid_minor
            grid.add_row(Text(_("Refunded {when}: {reason}").format(when=clock(station, refund.at),
                                                                    reason=refund.reason), style="yellow"),
                         Text(money(-back), style="yellow"))
        grid.add_row(Text(_("E-invoice: {state}").format(state=_(INVOICE_STATES.get(view.invoice, view.invoice))),
                          style="dim"), Text(_("by {operator} at {terminal}").format(
                              operator=view.operator_id or "—", terminal=view.terminal or "—"), style="dim"))
        return grid

    @property
    def receipt(self) -> ReceiptView | None:
        return self.data if isinstance(self.data, ReceiptView) else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        view = self.receipt
        if action == "refund":
            return view is not None and view.state != receipts.REFUNDED
        if action == "invoice":  # the service says why it refuses one (refunded, already asked for)
            return view is not None
        return True

    def action_refund(self) -> None:
        self.app.push_screen(RefundScreen(self.receipt))

    def action_invoice(self) -> None:
        def answered(asked: bool | None) -> None:
            if asked:
                self.app.notify(_("E-invoice asked for {number}").format(number=self.number))
                self.reload()

        self.app.push_screen(InvoiceDialog(self.number), answered)
