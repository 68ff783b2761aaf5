"""The booking's QR on the whole screen, for the customer's phone or the bay scanner to read off it."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.i18n import N_, _
from tui.widgets.booking.qr import qr_text


class BookingQrScreen(ModalScreen[None]):
    """One caption line and the QR; any of Escape, Enter or p closes it."""

    BINDINGS = [Binding("escape,enter,p", "close", N_("Back"))]

    def __init__(self, token: str, caption: str) -> None:
        super().__init__()
        self.token = token
        self.caption = caption

    def compose(self) -> ComposeResult:
        yield Static(Text(f"{self.caption}  ({_('Esc closes')})", style="bold"), id="qr-caption")
        with VerticalScroll(id="qr-frame"), Center():
            yield Static(qr_text(self.token), id="qr")

    def action_close(self) -> None:
        self.dismiss(None)
