"""A manager authorises one privileged action at this terminal: their name (or card) and PIN.

The dialog answers with the manager (an edge Actor) to pass to the service, which checks the
permission again; Escape answers None. A wrong PIN stays in the dialog with the reason.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from edge.domain.permissions import Actor, Permission, may
from edge.services import staff
from tui.i18n import N_, _
from tui.messages import ServiceDone, ServiceFailed
from tui.workers import call_in_thread

# what the dialog says each permission is for
PERMISSION_LABELS: dict[Permission, str] = {
    Permission.REFUND: N_("A refund"),
    Permission.PRICE_OVERRIDE: N_("A price override"),
    Permission.BALANCE_ADJUST: N_("A points or prepaid adjustment"),
    Permission.CREDIT_OVERRIDE: N_("A credit score override"),
    Permission.ROSTER_CHANGE: N_("A roster change"),
    Permission.STOCK_ADJUST: N_("A stock adjustment"),
    Permission.WAIVE_PARTS: N_("Waiving parts"),
}


class ManagerPinDialog(ModalScreen[Actor | None]):
    """Who authorises (name, staff id or card) and their PIN; Enter in the PIN field checks it."""

    BINDINGS = [Binding("escape", "back", N_("Back"))]
    AUTO_FOCUS = "#manager"

    def __init__(self, permission: Permission) -> None:
        super().__init__()
        self.permission = permission

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(_("{action} needs a manager.").format(action=_(PERMISSION_LABELS[self.permission])))
            yield Input(placeholder=_("manager (name, staff id or card)"), id="manager")
            yield Input(placeholder=_("PIN"), password=True, id="pin")
            yield Label("", id="pin-error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "manager":
            self.query_one("#pin", Input).focus()
            return
        who, pin = self.query_one("#manager", Input).value, event.value
        call_in_thread(self, "manager", staff.manager_for, self.app.station, self.permission, who, pin)  # type: ignore[attr-defined]

    def on_service_done(self, message: ServiceDone) -> None:
        message.stop()
        self.dismiss(message.result)

    def on_service_failed(self, message: ServiceFailed) -> None:
        message.stop()
        self.query_one("#pin", Input).value = ""
        self.query_one("#pin-error", Label).update(message.message)
        self.query_one("#pin", Input).focus()

    def action_back(self) -> None:
        self.dismiss(None)


def with_manager(app: App, permission: Permission, then: Callable[[Actor | None], None]) -> None:
    """Go on with `then(None)` when the operator may do `permission` themselves; else ask for a
    manager's PIN and go on with the manager who answered (not at all on Escape)."""
    if may(app.station.actor, permission):  # type: ignore[attr-defined]
        then(None)
        return

    def answered(manager: Actor | None) -> None:
        if manager is not None:
            then(manager)

    app.push_screen(ManagerPinDialog(permission), answered)
