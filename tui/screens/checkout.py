"""Checkout: a booking or a walk-in sale, priced live as the attendant types, paid by one or more methods.

The receipt on the right is `checkout.quote` of what the form says, read again in a worker on every
change. The payments are split by method; Enter in an empty payment field fills it with what is
left to pay, and cash tendered above the cash payment is the change due. F5 takes the payment.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, SelectionList, Static

from edge.domain.checkout import Receipt
from edge.errors import EdgeError
from edge.services import checkout
from edge.services.members import MemberRecord
from edge.services.station import Station
from tui.formatting import service_name
from tui.i18n import N_, _
from tui.messages import ReceiptPrintAsked
from tui.lookups import booking_view, member_for
from tui.screens.base import StationScreen
from tui.till import PAYMENT_METHODS, line_name, method_label, typed_amount, typed_count, typed_goods
from tui.workers import describe_error

# the form's text fields, in the order Tab visits them (the services list sits after the booking)
SALE_FIELDS = (("booking", N_("Booking"), N_("code; empty = walk-in")), ("goods", N_("Goods"), N_("SKU=qty, ...")),
               ("customer", N_("Member"), N_("phone or plate")), ("coupon", N_("Coupon"), ""),
               ("points", N_("Points"), N_("to redeem")), ("prepaid", N_("Prepaid"), N_("amount to use")))
TENDERED = "tendered"


@dataclass(frozen=True, slots=True)
class Sale:
    """What the form says, as typed: the quote and the payment are made from it."""

    booking: str = ""
    services: tuple[str, ...] = ()
    goods: str = ""
    customer: str = ""
    coupon: str = ""
    points: str = ""
    prepaid: str = ""


@dataclass(frozen=True, slots=True)
class Quote:
    sale: Sale
    receipt: Receipt | None  # None: nothing to price yet, or refused (`problem`)
    member: MemberRecord | None
    phone: str | None  # the member's phone the checkout is made with (a walk-in sale)
    heading: str  # the booking (code, plate) or "walk-in sale"
    problem: str = ""


def quote_sale(station: Station, sale: Sale) -> Quote:
    """The priced receipt of a sale (in a worker thread); a refusal is the quote's problem."""
    heading = _("Walk-in sale")
    member, phone = None, None
    try:
        if sale.booking.strip():
            view = booking_view(station, sale.booking.strip())
            heading = _("Booking {code} · {plate}").format(code=view.booking.code, plate=view.booking.plate)
            member = view.member
        elif sale.customer.strip():
            profile = member_for(station, phone=sale.customer, plate=sale.customer)
            if profile is None:
                return Quote(sale, None, None, None, heading,
                             _("No member with phone or plate {key}: a guest").format(key=sale.customer.strip()))
            member, phone = profile.member, profile.member.phone
        if not sale.booking.strip() and not sale.services and not sale.goods.strip():
            return Quote(sale, None, member, phone, heading)
        receipt = checkout.quote(station, **sale_arguments(station, sale, phone))
    except EdgeError as err:
        return Quote(sale, None, member, phone, heading, describe_error(err)[1])
    return Quote(sale, receipt, member, phone, heading)


def sale_arguments(station: Station, sale: Sale, phone: str | None) -> dict[str, Any]:
    """The keyword arguments of `checkout.quote` / `checkout.checkout` for what the form says."""
    booking = sale.booking.strip()
    return {
        "booking_ref": booking or None,
        "services": () if booking else sale.services,
        "goods": typed_goods(sale.goods),
        "phone": None if booking else phone,
        "coupon_code": sale.coupon.strip() or None,
        "points": typed_count(sale.points, "points"),
        "prepaid_minor": typed_amount(station, sale.prepaid, "prepaid"),
    }


class CheckoutScreen(StationScreen):
    TITLE = N_("Checkout")
    AUTO_FOCUS = "#booking"
    BINDINGS = [
        Binding("f5", "take_payment", N_("Take payment")),
        Binding("escape", "back", N_("Back")),
    ]

    def __init__(self, booking_ref: str | None = None) -> None:
        super().__init__()
        self.sale = Sale(booking=booking_ref or "")
        self.payments: dict[str, str] = {}  # method (and "tendered") -> the amount as typed
        self._paying = False

    # -- composition ---------------------------------------------------------------------

    def compose_body(self) -> ComposeResult:
        station, sale = self.station, self.sale
        catalog = station.catalog()
        with Horizontal(id="till"):
            with Vertical(id="sale"):
                yield from self._field(*SALE_FIELDS[0], sale.booking)
                items = [*catalog.services.items(), *catalog.packages.items()]
                services = SelectionList[str](*[(f"{service_name(station, code)} · {station.money(item.price_minor)}",
                                                 code, code in sale.services) for code, item in items],
                                              id="services")
                services.border_title = _("Services (walk-in)")
                yield services
                for field in SALE_FIELDS[1:]:
                    yield from self._field(*field, getattr(sale, field[0]))
                yield Label(_("Payment"), id="payment-heading")
                for method in PAYMENT_METHODS:
                    yield from self._field(method, PAYMENT_METHODS[method], "", self.payments.get(method, ""),
                                           classes="field payment")
                yield from self._field(TENDERED, N_("Cash given"), N_("for change"), self.payments.get(TENDERED, ""),
                                       classes="field payment")
            with Vertical(id="bill"):
                receipt = Static(id="receipt")
                receipt.border_title = _("Receipt")
                yield receipt
                yield Static(id="paying")

    def _field(self, field_id: str, label: str, placeholder: str, value: str, *,
               classes: str = "field") -> ComposeResult:
        with Horizontal(classes=classes):
            yield Label(_(label))
            yield Input(value, placeholder=_(placeholder) if placeholder else "", compact=True, id=field_id)

    def on_mount(self) -> None:
        super().on_mount()
        self._show_paying()

    # -- the live quote ------------------------------------------------------------------

    def load(self, station: Station) -> Quote:
        return quote_sale(station, self.sale)

    def show(self, quote: Quote) -> None:
        if quote.sale != self.sale:
            return  # priced for an earlier form; the reload for this one is on its way
        self.query_one("#receipt", Static).update(self._receipt(quote))
        self._show_paying()

    def title_note(self) -> str:
        return self.sale.booking.strip().upper()

    def _receipt(self, quote: Quote) -> Table | Text:
        station = self.station
        grid = Table.grid(padding=(0, 1), expand=True)
        grid.add_column(ratio=1, overflow="ellipsis", no_wrap=True)
        grid.add_column(justify="right", no_wrap=True)
        who = _("guest")
        if quote.member is not None:
            who = f"{quote.member.name or quote.member.phone} · " + _("tier {tier}").format(tier=quote.member.tier)
        grid.add_row(Text(quote.heading, style="bold"), who)
        if quote.problem:
            grid.add_row(Text(quote.problem, style="bold red", overflow="fold"), "")
            return grid
        r = quote.receipt
        if r is None:
            grid.add_row(Text(_("Give a booking code, or tick services or type goods"), style="dim"), "")
            return grid
        for line in r.lines:
            name = line_name(station, line.code) + (f" ×{line.quantity}" if line.quantity != 1 else "")
            grid.add_row(name, station.money(line.gross_minor))
        deductions = ((_("Tier discount"), r.tier_discount_minor), (_("Coupon"), r.coupon_discount_minor),
                      (_("Points ({points})").format(points=r.points_redeemed), r.points_minor),
                      (_("Prepaid"), r.prepaid_minor))
        for label, minor in deductions:
            if minor:
                grid.add_row(Text(label, style="dim"), station.money(-minor))
        grid.add_row(Text(_("Amount due"), style="bold"), Text(station.money(r.remainder_minor), style="bold"))
        return grid

    # -- payments ------------------------------------------------------------------------

    @property
    def due_minor(self) -> int | None:
        quote: Quote | None = self.data
        if quote is None or quote.sale != self.sale or quote.receipt is None:
            return None
        return quote.receipt.remainder_minor

    def _typed_payments(self) -> tuple[list[tuple[str, int]], int | None]:
        """(method, amount) of each payment typed, and the cash tendered (None if not typed)."""
        payments = [(method, typed_amount(self.station, self.payments.get(method, ""), method))
                    for method in PAYMENT_METHODS]
        tendered = self.payments.get(TENDERED, "").strip()
        return ([(m, a) for m, a in payments if a],
                typed_amount(self.station, tendered, TENDERED) if tendered else None)

    def _show_paying(self) -> None:
        paying = self.query_one("#paying", Static)
        due = self.due_minor
        if due is None:
            paying.update("")
            return
        money = self.station.money
        try:
            payments, tendered = self._typed_payments()
        except EdgeError as err:
            paying.update(Text(str(err), style="bold red"))
            return
        paid = sum(amount for _method, amount in payments)
        grid = Table.grid(padding=(0, 1), expand=True)
        grid.add_column(ratio=1)
        grid.add_column(justify="right", no_wrap=True)
        for method, amount in payments:
            grid.add_row(method_label(method), money(amount))
        left = due - paid
        if left:
            grid.add_row(Text(_("Still to pay") if left > 0 else _("Paid too much"), style="bold yellow"),
                         Text(money(abs(left)), style="bold yellow"))
        cash = dict(payments).get("cash", 0)
        if tendered is not None:
            grid.add_row(_("Cash given"), money(tendered))
            if tendered >= cash:
                grid.add_row(Text(_("Change due"), style="bold reverse"), Text(money(tendered - cash),
                                                                              style="bold reverse"))
            else:
                grid.add_row(Text(_("Less than the cash payment"), style="bold red"), "")
        grid.add_row(Text(_("Enter in an empty payment: what is left"), style="dim"), "")
        paying.update(grid)

    # -- the form ------------------------------------------------------------------------

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        field = event.input.id or ""
        if field in PAYMENT_METHODS or field == TENDERED:
            self.payments[field] = event.value
            self._show_paying()
            return
        self._change_sale(**{field: event.value})

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        field = event.input.id or ""
        due = self.due_minor
        if field in PAYMENT_METHODS and not event.value.strip() and due is not None:
            try:
                payments, _tendered = self._typed_payments()
            except EdgeError:
                return
            left = due - sum(amount for _method, amount in payments)
            if left > 0:
                digits = self.station.settings.station.currency_minor_digits
                whole, fraction = divmod(left, 10**digits)
                event.input.value = f"{whole}.{fraction:0{digits}d}" if digits else str(whole)
        self.focus_next()

    def on_selection_list_selected_changed(self, event: SelectionList.SelectedChanged) -> None:
        event.stop()
        self._change_sale(services=tuple(event.selection_list.selected))

    def _change_sale(self, **changes: Any) -> None:
        self.sale = replace(self.sale, **changes)
        self.update_title()
        self.reload()

    # -- taking the payment --------------------------------------------------------------

    def action_take_payment(self) -> None:
        quote: Quote | None = self.data
        due = self.due_minor
        if due is None or self._paying:
            self.app.notify(quote.problem if quote and quote.problem else _("Nothing to take payment for yet"),
                            severity="warning")
            return
        try:
            payments, tendered = self._typed_payments()
            arguments = sale_arguments(self.station, self.sale, quote.phone)
        except EdgeError as err:
            self.app.notify(str(err), severity="warning")
            return
        paid = sum(amount for _method, amount in payments)
        if paid != due:
            self.app.notify(_("The payments add up to {paid}; {due} is due").format(
                paid=self.station.money(paid), due=self.station.money(due)), severity="warning")
            return
        cash = dict(payments).get("cash", 0)
        if tendered is not None and tendered < cash:
            self.app.notify(_("Less than the cash payment"), severity="warning")
            return
        self._paying = True
        self.call("checkout", checkout.checkout, self.station, payments=payments, cash_tendered_minor=tendered,
                  **arguments)

    def done(self, request: str, result: checkout.CheckoutResult) -> None:
        self._paying = False

        def closed(print_it: bool | None) -> None:
            if print_it:
                self.app.post_message(ReceiptPrintAsked(result.number))
            self.app.pop_screen()

        self.app.push_screen(ReceiptTakenDialog(result.number, self.station.money(result.receipt.total_minor),
                                                self.station.money(result.change_minor)), closed)

    def failed(self, request: str, message: str, kind: str) -> None:
        self._paying = False


class ReceiptTakenDialog(ModalScreen[bool]):
    """The payment is taken: the receipt number and the change to hand back; `p` asks for it printed."""

    BINDINGS = [
        Binding("p", "close(True)", N_("Print")),
        Binding("enter,escape", "close(False)", N_("Close")),
    ]

    def __init__(self, number: str, total: str, change: str) -> None:
        super().__init__()
        self.number, self.total, self.change = number, total, change

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="taken"):
            yield Label(_("Paid {total}: receipt {number}").format(total=self.total, number=self.number))
            yield Label(_("Change due: {change}").format(change=self.change), id="change")
            yield Label(_("p prints the receipt · Enter closes"), classes="hint")

    def action_close(self, print_it: bool) -> None:
        self.dismiss(print_it)
