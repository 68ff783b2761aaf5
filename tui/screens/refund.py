"""A refund of a receipt: the whole of it, or chosen lines and quantities, with a reason.

Space ticks a line (all of what is left of it), `+` / `-` change the quantity of the line under
the cursor, `a` ticks every line. A refund needs a manager: an operator who is one refunds on
their own authority, anyone else is asked for a manager's PIN first.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Static

from edge.domain.permissions import Actor, Permission
from edge.services import checkout
from edge.services.receipts import ReceiptLineView, ReceiptView
from tui.i18n import N_, _
from tui.screens.base import StationScreen, refill
from tui.screens.manager_pin import ManagerPinDialog
from tui.till import line_name
from tui.widgets.common.fitted_table import Column, FittedTable

LINE_COLUMNS = (Column(N_("Refund")), Column(N_("Item"), shrink_to=8), Column(N_("Sold")),
                Column(N_("Refunded")), Column(N_("Amount")))


def refundable(line: ReceiptLineView) -> int:
    return line.quantity - line.refunded_quantity


class RefundScreen(StationScreen):
    TITLE = N_("Refund")
    AUTO_FOCUS = "#refund-lines"
    BINDINGS = [
        Binding("space", "tick", N_("Tick")),
        Binding("plus,equals_sign", "quantity(1)", "+", show=False),
        Binding("minus", "quantity(-1)", "-", show=False),
        Binding("a", "tick_all", N_("All")),
        Binding("f5", "refund", N_("Refund")),
        Binding("escape", "back", N_("Back")),
    ]

    def __init__(self, view: ReceiptView) -> None:
        super().__init__()
        self.view = view
        self.chosen: dict[str, int] = {}  # line code -> quantity to refund
        self.reason = ""
        self._refunding = False

    def compose_body(self) -> ComposeResult:
        with Vertical(id="refund"):
            lines = FittedTable(LINE_COLUMNS, id="refund-lines")
            lines.border_title = _("Receipt {number}").format(number=self.view.number)
            lines.border_subtitle = _("Space ticks · + - quantity · a all")
            yield lines
            with Horizontal(classes="field"):
                yield Label(_("Reason"))
                yield Input(self.reason, placeholder=_("why the money goes back"), compact=True, id="reason")
            yield Static(id="refund-note")

    def title_note(self) -> str:
        return self.view.number

    def on_mount(self) -> None:
        super().on_mount()
        self._show_lines()

    async def retranslate(self) -> None:
        await super().retranslate()
        self._show_lines()

    def _show_lines(self) -> None:
        station = self.station
        rows = []
        for line in self.view.lines:
            left, chosen = refundable(line), self.chosen.get(line.line_code, 0)
            mark = f"[{chosen}]" if chosen else ("[ ]" if left else "—")
            style = "bold" if chosen else "dim" if not left else ""
            rows.append((line.line_code, [Text(cell, style=style) for cell in (
                mark, line_name(station, line.code), str(line.quantity), str(line.refunded_quantity),
                station.money(line.gross_minor))]))
        refill(self.query_one("#refund-lines", FittedTable), rows)
        self._show_note()

    def _show_note(self) -> None:
        note = self.query_one("#refund-note", Static)
        if not self.chosen:
            note.update(Text(_("Tick the lines to refund, or a for the whole receipt"), style="dim"))
        elif self._whole:
            note.update(Text(_("The whole receipt · F5 refunds it"), style="bold"))
        else:
            count = sum(self.chosen.values())
            note.update(Text(_("{count} item(s) on {lines} line(s) · F5 refunds them").format(
                count=count, lines=len(self.chosen)), style="bold"))

    @property
    def _whole(self) -> bool:
        """Everything not yet refunded is ticked."""
        return all(self.chosen.get(line.line_code, 0) == refundable(line) for line in self.view.lines)

    def _line_under_cursor(self) -> ReceiptLineView | None:
        table = self.query_one("#refund-lines", FittedTable)
        if not table.row_count or not self.view.lines:
            return None
        return self.view.lines[min(table.cursor_row, len(self.view.lines) - 1)]

    # -- choosing --------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("tick", "quantity", "tick_all"):  # typing the reason keeps its keys
            return self.focused is None or self.focused.id != "reason"
        return True

    def action_tick(self) -> None:
        line = self._line_under_cursor()
        if line is None or not refundable(line):
            return
        if self.chosen.pop(line.line_code, 0) == 0:
            self.chosen[line.line_code] = refundable(line)
        self._show_lines()

    def action_quantity(self, step: int) -> None:
        line = self._line_under_cursor()
        if line is None:
            return
        quantity = max(0, min(refundable(line), self.chosen.get(line.line_code, 0) + step))
        self.chosen.pop(line.line_code, None)
        if quantity:
            self.chosen[line.line_code] = quantity
        self._show_lines()

    def action_tick_all(self) -> None:
        self.chosen = {line.line_code: refundable(line) for line in self.view.lines if refundable(line)}
        self._show_lines()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.reason = event.value

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_refund()

    # -- refunding -------------------------------------------------------------------------

    def action_refund(self) -> None:
        if not self.chosen:
            self.app.notify(_("Tick the lines to refund, or a for the whole receipt"), severity="warning")
            return
        if not self.reason.strip():
            self.app.notify(_("A refund needs a reason"), severity="warning")
            self.query_one("#reason", Input).focus()
            return
        if self._refunding:
            return
        if self.station.actor.is_manager:
            self._refund(None)
            return

        def answered(manager: Actor | None) -> None:
            if manager is not None:
                self._refund(manager)

        self.app.push_screen(ManagerPinDialog(Permission.REFUND), answered)

    def _refund(self, manager: Actor | None) -> None:
        self._refunding = True
        lines = None if self._whole else [(code, quantity) for code, quantity in self.chosen.items()]
        self.call("refund", checkout.refund, self.station, self.view.number, reason=self.reason.strip(), lines=lines,
                  manager=manager)

    def done(self, request: str, result: Any) -> None:
        self._refunding = False
        self.app.notify(_("Refunded {amount} of receipt {number}").format(
            amount=self.station.money(result.refunded_minor), number=self.view.number))
        self.app.pop_screen()

    def failed(self, request: str, message: str, kind: str) -> None:
        self._refunding = False
        self.query_one("#refund-note", Static).update(Text(message, style="bold red"))
