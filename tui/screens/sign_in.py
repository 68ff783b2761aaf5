"""Who is working at this terminal: a name or staff id and PIN, or a card; shown at start and when locked.

A keyboard-wedge card reader types the card id and Enter into the first field, so a card
signs in at once; anything else there is a name or staff id and the PIN comes next. The
screen covers the whole terminal and cannot be dismissed: while it shows, nothing else
can be done. Whoever signs in becomes the operator (another person may unlock).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from edge.services import staff
from edge.services.staff import StaffMember
from tui.i18n import _
from tui.messages import ServiceDone, ServiceFailed
from tui.workers import call_in_thread

class SignInScreen(ModalScreen[StaffMember]):
    """Name, staff id or card, then PIN; answers the staff member who signed in."""

    DEFAULT_CSS = """
    SignInScreen {
        align: center middle;
        background: $background;
    }
    SignInScreen #sign-in {
        width: 56;
        max-width: 100%;
        height: auto;
        padding: 1 2;
        border: thick $accent;
        background: $surface;
    }
    SignInScreen Input {
        margin-top: 1;
    }
    SignInScreen #sign-in-error {
        color: $error;
    }
    SignInScreen .hint {
        color: $text-muted;
    }
    """
    AUTO_FOCUS = "#who"

    def __init__(self, *, locked: bool = False, hint: str = "") -> None:
        super().__init__()
        self.locked = locked
        self.hint = hint

    def compose(self) -> ComposeResult:
        station = self.app.station  # type: ignore[attr-defined]
        with Vertical(id="sign-in"):
            yield Label(f"station-edge  {station.settings.station.name}", id="sign-in-title")
            yield Label(_("Terminal locked: sign in to go on") if self.locked else _("Sign in to start work"),
                        id="sign-in-state")
            yield Input(placeholder=_("name, staff id or card"), id="who")
            yield Input(placeholder=_("PIN"), password=True, id="pin")
            yield Label("", id="sign-in-error")
            if self.hint:
                yield Label(self.hint, classes="hint", id="sign-in-hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        station = self.app.station  # type: ignore[attr-defined]
        who = self.query_one("#who", Input).value.strip()
        if not who:
            self.query_one("#who", Input).focus()
        elif event.input.id == "who":  # a card read (or typed) signs in at once; a name asks for the PIN
            call_in_thread(self, "card", staff.try_card, station, who)
        else:
            call_in_thread(self, "pin", staff.sign_in, station, who, event.value)

    def on_service_done(self, message: ServiceDone) -> None:
        message.stop()
        if message.result is not None:
            self.dismiss(message.result)
        else:
            self.query_one("#pin", Input).focus()

    def on_service_failed(self, message: ServiceFailed) -> None:
        message.stop()
        self.query_one("#pin", Input).value = ""
        refused = _("Unknown card") if message.request == "card" else _("Unknown staff or wrong PIN")
        self.query_one("#sign-in-error", Label).update(refused if message.kind == "denied" else message.message)
        self.query_one("#who" if message.request == "card" else "#pin", Input).focus()
