"""The roster exception form: a technician's leave, sick day, extra shift or holiday hours on a date.

The form only gathers what was typed; `save_exception` (run in a worker) reads it and calls
edge's roster service, whose refusals name the field (`date`, `from`, `to`, `note`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select

from edge.domain.permissions import Actor
from edge.domain.roster import ExceptionKind, parse_clock
from edge.errors import InvalidInput
from edge.services import roster
from edge.services.station import Station
from tui.i18n import N_, _

# how the terminal names each kind of exception
KIND_LABELS = {
    ExceptionKind.LEAVE: N_("leave"),
    ExceptionKind.SICK: N_("sick"),
    ExceptionKind.EXTRA: N_("extra shift"),
    ExceptionKind.HOURS: N_("holiday hours"),
}


def kind_label(kind: str) -> str:
    return _(KIND_LABELS[ExceptionKind(kind)])


@dataclass(frozen=True, slots=True)
class ExceptionForm:
    """What the desk typed, as typed."""

    technician_id: str
    day: str
    kind: str
    start: str
    end: str
    note: str


def save_exception(station: Station, form: ExceptionForm, manager: Actor | None = None) -> roster.RosterChange:
    """Set the exception the form describes (in a worker thread); InvalidInput names a bad field."""
    try:
        day = date.fromisoformat(form.day.strip())
    except ValueError:
        raise InvalidInput("date", _("{text} is not a date (YYYY-MM-DD)").format(text=form.day)) from None
    return roster.set_exception(
        station, form.technician_id, day=day, kind=form.kind,
        start_minute=parse_clock(form.start, "from") if form.start.strip() else None,
        end_minute=parse_clock(form.end, "to") if form.end.strip() else None, note=form.note, manager=manager,
    )


class RosterExceptionDialog(ModalScreen[ExceptionForm | None]):
    """Date, kind, hours (for an extra shift or holiday hours) and a note; Enter or Save sets it, Escape does not."""

    BINDINGS = [Binding("escape", "cancel", N_("Back"))]
    AUTO_FOCUS = "#exception-day"

    def __init__(self, technician_id: str, name: str, day: date) -> None:
        super().__init__()
        self.technician_id = technician_id
        self.technician_name = name
        self.day = day

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="exception-form"):
            yield Label(_("Roster exception for {name}").format(name=self.technician_name))
            with Horizontal(classes="field"):
                yield Label(_("Day"))
                yield Input(self.day.isoformat(), placeholder="YYYY-MM-DD", compact=True, id="exception-day")
            with Horizontal(classes="field"):
                yield Label(_("Kind"))
                yield Select([(_(label), str(kind)) for kind, label in KIND_LABELS.items()],
                             value=str(ExceptionKind.LEAVE), allow_blank=False, compact=True, id="exception-kind")
            with Horizontal(classes="field"):
                yield Label(_("Hours"))
                yield Input(placeholder="HH:MM", compact=True, id="exception-from")
                yield Label("–", classes="dash")
                yield Input(placeholder="HH:MM", compact=True, id="exception-to")
            with Horizontal(classes="field"):
                yield Label(_("Notes"))
                yield Input(compact=True, id="exception-note")
            yield Label(_("Hours only for an extra shift or holiday hours"), classes="hint")
            with Horizontal(classes="buttons"):
                yield Button(_("Save"), id="save", variant="primary")
                yield Button(_("Cancel"), id="cancel")

    def _form(self) -> ExceptionForm:
        text = lambda widget_id: self.query_one(f"#{widget_id}", Input).value  # noqa: E731
        return ExceptionForm(self.technician_id, text("exception-day"),
                             str(self.query_one("#exception-kind", Select).value), text("exception-from"),
                             text("exception-to"), text("exception-note"))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(self._form())

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(self._form() if event.button.id == "save" else None)

    def action_cancel(self) -> None:
        self.dismiss(None)
