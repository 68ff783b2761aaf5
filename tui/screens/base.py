"""What every station screen shares: loading in a worker, coalesced reloads, errors shown, language switch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist

from edge.services.station import Station
from tui.i18n import _
from tui.messages import BookingChosen, ServiceDone, ServiceFailed, StoreChanged
from tui.widgets.common.fitted_table import FittedTable
from tui.widgets.common.footer import TranslatedFooter
from tui.widgets.common.title_bar import TitleBar
from tui.workers import call_in_thread

RETRY_SECONDS = 1.0


class StationScreen(Screen):
    """A screen whose content is read from the station off the UI thread.

    `load` runs in a worker thread and returns the data; `show` puts it on screen. A reload
    asked for while one is running only marks the data stale, so a burst of store changes
    costs at most one more read. Calls other than the load come back through `done` / `failed`.
    """

    TITLE: ClassVar[str] = ""  # a message id

    def __init__(self) -> None:
        super().__init__()
        self.data: Any = None
        self.loads = 0  # completed loads (tests wait on it)
        self._loading = False
        self._stale = False
        self._note = ""

    @property
    def station(self) -> Station:
        return self.app.station  # type: ignore[attr-defined]

    # -- composition ---------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield TitleBar(id="title")
        yield from self.compose_body()
        yield TranslatedFooter(compact=True)

    def compose_body(self) -> ComposeResult:
        """The screen's own widgets between the title and the footer; every screen names them."""
        raise TypeError(f"{type(self).__name__} must define compose_body() (its widgets)")

    def on_mount(self) -> None:
        self.update_title()
        self.reload()

    def on_screen_resume(self) -> None:
        if self.loads:
            self.reload()

    async def retranslate(self) -> None:
        """Draw the screen again in the current language, keeping its data and state."""
        await self.recompose()
        self.update_title()
        if self.loads:
            self.show(self.data)
        self.refresh_bindings()
        self.focus_default()

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    def focus_default(self) -> None:
        if self.AUTO_FOCUS:
            found = self.query(self.AUTO_FOCUS)
            if found:
                found.first().focus()

    def update_title(self) -> None:
        for bar in self.query(TitleBar):
            bar.show(_(self.TITLE), self.station, self.title_note())

    def title_note(self) -> str:
        return self._note

    # -- loading -------------------------------------------------------------------------

    def load(self, station: Station) -> Any:
        """Read what the screen shows (in a worker thread)."""
        return None

    def show(self, data: Any) -> None:
        """Put loaded data on screen (on the UI thread)."""

    def reload(self) -> None:
        if self._loading:
            self._stale = True
            return
        self._loading = True
        call_in_thread(self, "load", self.load, self.station)

    def call(self, request: str, fn, /, *args: Any, **kwargs: Any) -> None:
        """Run a station call off the UI thread; the answer comes to `done` or `failed`."""
        call_in_thread(self, request, fn, *args, **kwargs)

    def done(self, request: str, result: Any) -> None:
        """A call other than the load returned."""

    def failed(self, request: str, message: str, kind: str) -> None:
        """A call other than the load was refused; it has been shown already."""

    def on_service_done(self, message: ServiceDone) -> None:
        message.stop()
        if message.request != "load":
            self.done(message.request, message.result)
            return
        self._loading = False
        self.data = message.result
        self.loads += 1
        if self._note:
            self._note = ""
        self.update_title()
        self.show(message.result)
        if self._stale:
            self._stale = False
            self.reload()

    def on_service_failed(self, message: ServiceFailed) -> None:
        message.stop()
        if message.request != "load":
            self.app.notify(message.message, title=_("Not done"), severity="error", timeout=8)
            self.failed(message.request, message.message, message.kind)
            return
        self._loading = False
        self._stale = False
        if message.kind == "busy":  # the file locked for a moment: say so and try again shortly
            self._note = _("Retrying: {problem}").format(problem=message.message)
            self.set_timer(RETRY_SECONDS, self.reload)
        else:  # shown until the next change in the store brings a reload
            self._note = message.message
        self.update_title()

    def on_store_changed(self, message: StoreChanged) -> None:
        message.stop()
        self.reload()

    # -- tables --------------------------------------------------------------------------

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a row whose key is a booking code opens that booking."""
        code = self.code_for_row(event.data_table, str(event.row_key.value or ""))
        if code:
            event.stop()
            self.post_message(BookingChosen(code))

    def code_for_row(self, table: DataTable, key: str) -> str | None:
        """The booking a row stands for: tables with the class `bookings` are keyed by booking code."""
        return (key or None) if table.has_class("bookings") else None

    def on_booking_chosen(self, message: BookingChosen) -> None:
        message.stop()
        self.app.open_booking(message.code)  # type: ignore[attr-defined]


def refill(table: DataTable, rows: Sequence[tuple[str, Sequence[str | Text]]], empty: str = "") -> None:
    """Replace a table's rows, keeping the cursor on the same key if it is still there."""
    if isinstance(table, FittedTable):  # it refits its columns to the new rows
        table.show_rows(rows, empty)
        return
    current = None
    if table.row_count and table.cursor_row >= 0:
        try:
            current = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except CellDoesNotExist:
            current = None
    table.clear()
    keys = set()
    for key, cells in rows:
        keys.add(key)
        table.add_row(*cells, key=key)
    if not rows and empty:
        table.add_row(*([Text(empty, style="dim")] + [""] * (len(table.columns) - 1)), key="")
    if current in keys:
        table.move_cursor(row=table.get_row_index(current), animate=False)


def cursor_key(table: DataTable) -> str | None:
    """The key of the row under the table's cursor (None: no rows, or the "nothing here" row)."""
    if not table.row_count:
        return None
    return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value or "") or None
