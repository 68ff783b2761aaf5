"""Stock: every material's level, goods received and issued by hand, a stocktake's count, the latest movements.

A count that changes what the books say needs a manager: the manager's PIN answers for the
adjustment, and the service checks the permission again.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable

from edge.domain.permissions import Actor, Permission
from edge.services import inventory
from edge.services.station import Station
from edge.store.inventory import MaterialRecord, MovementRecord, StockChange
from tui import i18n
from tui.formatting import when
from tui.i18n import N_, _
from tui.screens.base import StationScreen, cursor_key, refill
from tui.screens.form_dialog import FormDialog, FormField, whole_number
from tui.screens.manager_pin import ManagerPinDialog
from tui.widgets.common.fitted_table import Column, FittedTable

LEVEL_COLUMNS = (Column(N_("SKU"), shrink_to=8), Column(N_("Material"), shrink_to=6), Column(N_("On hand")),
                 Column(N_("Reorder at"), drop=1), Column(N_("Low")))
MOVEMENT_COLUMNS = (Column(N_("When")), Column(N_("Movement")), Column(N_("Quantity")), Column(N_("After")),
                    Column(N_("Reason"), shrink_to=6))
MOVEMENT_LABELS = {"in": N_("in"), "out": N_("out"), "adjust": N_("count")}
MOVEMENTS_SHOWN = 20


def material_name(material: MaterialRecord) -> str:
    """The material's name in the UI's language."""
    return (material.name_zh if i18n.language().startswith("zh") else material.name_en) or material.sku


class StockScreen(StationScreen):
    TITLE = N_("Stock")
    AUTO_FOCUS = "#levels"
    BINDINGS = [
        Binding("i", "receive", N_("Goods in")),
        Binding("u", "issue", N_("Issue")),
        Binding("e", "count", N_("Count")),
        Binding("escape", "back", N_("Back")),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.sku: str | None = None  # the highlighted material
        self.history: list[MovementRecord] = []

    def compose_body(self) -> ComposeResult:
        with Vertical(id="stock-screen"):
            levels = FittedTable(LEVEL_COLUMNS, id="levels")
            levels.border_title = _("Materials")
            yield levels
            movements = FittedTable(MOVEMENT_COLUMNS, id="movements")
            movements.border_title = _("Latest movements")
            yield movements

    def load(self, station: Station) -> list[MaterialRecord]:
        return inventory.stock(station)

    def show(self, materials: list[MaterialRecord]) -> None:
        refill(self.query_one("#levels", DataTable), [
            (m.sku, (m.sku, material_name(m), f"{m.on_hand} {m.unit}", str(m.reorder_level),
                     Text(_("low"), style="bold red") if m.is_low else ""))
            for m in materials
        ], _("No materials configured"))
        if self.sku is None and materials:
            self.sku = materials[0].sku
        self._load_movements()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id != "levels":
            return
        # where the cursor is now: a refill moves it to the first row and back, and both moves arrive later
        sku = cursor_key(event.data_table)
        if sku != self.sku:
            self.sku = sku
            self._load_movements()

    def _load_movements(self) -> None:
        if self.sku:
            self.call("movements", inventory.movements, self.station, sku=self.sku, limit=MOVEMENTS_SHOWN)
        else:
            self._show_movements([])

    def _show_movements(self, history: list[MovementRecord]) -> None:
        self.history = history
        table = self.query_one("#movements", DataTable)
        table.border_title = _("Latest movements") + (f" · {self.sku}" if self.sku else "")
        refill(table, [
            (m.id, (when(self.station, m.created_at), _(MOVEMENT_LABELS.get(m.kind, m.kind)), f"{m.quantity:+d}"
                    if m.kind == "adjust" else str(m.quantity), str(m.on_hand_after), m.reason))
            for m in history
        ], _("No movements"))

    def _material(self) -> MaterialRecord | None:
        return next((m for m in self.data or () if m.sku == self.sku), None)

    # -- actions ---------------------------------------------------------------------

    def action_receive(self) -> None:
        material = self._material()
        fields = [FormField("sku", _("SKU"), material.sku if material else ""),
                  FormField("quantity", _("Quantity")), FormField("note", _("Supplier / note"))]

        def answered(form: dict[str, str] | None) -> None:
            if form is not None:
                self.call("receive", _receive, self.station, form)

        self.app.push_screen(FormDialog(_("Goods received"), fields), answered)

    def action_issue(self) -> None:
        material = self._material()
        if material is None:
            return

        def answered(form: dict[str, str] | None) -> None:
            if form is not None:
                self.call("issue", _issue, self.station, material.sku, form)

        self.app.push_screen(FormDialog(_("Issue {name}").format(name=material_name(material)),
                                        [FormField("quantity", _("Quantity")), FormField("reason", _("Reason"))]),
                             answered)

    def action_count(self) -> None:
        """A stocktake: the quantity counted on the shelf, then a manager's PIN."""
        material = self._material()
        if material is None:
            return

        def authorised(form: dict[str, str], manager: Actor | None) -> None:
            if manager is not None:
                self.call("count", _count, self.station, material.sku, form, manager)

        def answered(form: dict[str, str] | None) -> None:
            if form is not None:
                self.app.push_screen(ManagerPinDialog(Permission.STOCK_ADJUST),
                                     lambda manager: authorised(form, manager))

        title = _("Count {name} (on hand {on_hand})").format(name=material_name(material), on_hand=material.on_hand)
        self.app.push_screen(FormDialog(title, [FormField("counted", _("Counted")), FormField("reason", _("Reason"))]),
                             answered)

    def done(self, request: str, result: Any) -> None:
        if request == "movements":
            self._show_movements(result)
            return
        change: StockChange = result
        self.app.notify(_("{name}: {on_hand} {unit} on hand").format(
            name=material_name(change.material), on_hand=change.material.on_hand, unit=change.material.unit))
        self.sku = change.material.sku
        self.reload()


def _receive(station: Station, form: dict[str, str]) -> StockChange:
    return inventory.receive(station, sku=form["sku"], quantity=whole_number(form["quantity"], "quantity"),
                             reason=form["note"])


def _issue(station: Station, sku: str, form: dict[str, str]) -> StockChange:
    return inventory.issue(station, sku=sku, quantity=whole_number(form["quantity"], "quantity"),
                           reason=form["reason"])


def _count(station: Station, sku: str, form: dict[str, str], manager: Actor) -> StockChange:
    return inventory.adjust(station, sku=sku, counted=whole_number(form["counted"], "counted"),
                            reason=form["reason"], manager=manager)

