"""A small form: a few labelled lines of text, answered together.

Enter in a field goes to the next one; Enter in the last answers the form with every field's
text (by field id); Escape answers None. The screen that asked checks the answers through the
service, whose refusal names the field.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from edge.errors import InvalidInput
from tui.i18n import N_, _


@dataclass(frozen=True, slots=True)
class FormField:
    id: str
    label: str  # already translated
    value: str = ""
    placeholder: str = ""


class FormDialog(ModalScreen[dict[str, str] | None]):
    """A title and labelled fields; the answer is {field id: text typed}."""

    BINDINGS = [Binding("escape", "cancel", N_("Back"))]

    def __init__(self, title: str, fields: list[FormField]) -> None:
        super().__init__()
        self.title_text = title
        self.fields = fields

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog form-dialog"):
            yield Label(self.title_text, classes="form-title")
            for field in self.fields:
                with Horizontal(classes="field"):
                    yield Label(field.label)
                    yield Input(field.value, placeholder=field.placeholder, compact=True, id=f"field-{field.id}")
            yield Label(_("Enter: next field, then done · Esc: back"), classes="hint")

    def on_mount(self) -> None:
        first_empty = next((f for f in self.fields if not f.value), self.fields[0])
        self.query_one(f"#field-{first_empty.id}", Input).focus()

    def answers(self) -> dict[str, str]:
        return {field.id: self.query_one(f"#field-{field.id}", Input).value.strip() for field in self.fields}

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        ids = [f"field-{field.id}" for field in self.fields]
        position = ids.index(event.input.id or "")
        if position + 1 < len(ids):
            self.query_one(f"#{ids[position + 1]}", Input).focus()
        else:
            self.dismiss(self.answers())

    def action_cancel(self) -> None:
        self.dismiss(None)


def whole_number(text: str, field: str) -> int:
    """A count typed in a form; InvalidInput names the field when it is not one."""
    if not text.strip().isdigit():
        raise InvalidInput(field, _("{text} is not a whole number").format(text=text or "—"))
    return int(text.strip())
