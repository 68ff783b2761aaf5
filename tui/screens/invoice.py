"""An e-invoice request for a receipt: the buyer's name, tax id (none: a personal invoice) and email.

HQ issues the invoice; the station records the request. A refusal (a refunded receipt, one
already invoiced, a tax id that is not one) stays in the dialog with the reason.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from edge.services import checkout
from tui.i18n import N_, _
from tui.messages import ServiceDone, ServiceFailed
from tui.workers import call_in_thread


class InvoiceDialog(ModalScreen[bool]):
    """Enter moves down the fields and asks from the last one; Escape asks nothing."""

    BINDINGS = [Binding("escape", "back", N_("Back"))]
    AUTO_FOCUS = "#buyer"

    def __init__(self, number: str) -> None:
        super().__init__()
        self.number = number

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(_("E-invoice for receipt {number}").format(number=self.number))
            yield Input(placeholder=_("buyer (company or person)"), id="buyer")
            yield Input(placeholder=_("tax id (empty: a personal invoice)"), id="tax-id")
            yield Input(placeholder=_("email for the invoice"), id="email")
            yield Static("", id="invoice-error")  # wraps: a refusal can be long
            yield Label(_("Enter moves on; in the email it asks · Esc back"), classes="hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id != "email":
            self.focus_next()
            return
        call_in_thread(self, "invoice", checkout.request_invoice, self.app.station, self.number,  # type: ignore[attr-defined]
                       buyer_name=self.query_one("#buyer", Input).value,
                       tax_id=self.query_one("#tax-id", Input).value, email=event.value.strip())

    def on_service_done(self, message: ServiceDone) -> None:
        message.stop()
        self.dismiss(True)

    def on_service_failed(self, message: ServiceFailed) -> None:
        message.stop()
        self.query_one("#invoice-error", Static).update(message.message)

    def action_back(self) -> None:
        self.dismiss(False)
