"""A table whose columns fit the panel it is in: long texts end in "…", columns the width cannot hold go.

Widths are counted in terminal cells (rich's `cell_len`), so a Chinese character counts two.
Each column says how narrow it may get (`shrink_to`) and whether it may be left out when even
that does not fit (`drop`: the higher, the sooner). A column is never cut to a stub: it keeps
at least its `shrink_to` cells and its heading's width, or it goes altogether.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist

from tui.i18n import _

Row = tuple[str, Sequence[str | Text]]


@dataclass(frozen=True, slots=True)
class Column:
    label: str  # a message id
    shrink_to: int | None = None  # may narrow to this many cells (its texts then end in "…"); None: never narrower
    drop: int = 0  # 0: always shown; otherwise left out when the width is short, highest first


def fit_widths(natural: Sequence[int], columns: Sequence[Column], available: int, padding: int) -> list[int | None]:
    """Each column's width in cells (None: left out) so that they and their padding fit `available`.

    Texts are cut by at most a third before a droppable column goes; once none is left to
    drop, the narrowable columns narrow down to their `shrink_to`.
    """
    widths: list[int | None] = list(natural)
    droppable = sorted((i for i, c in enumerate(columns) if c.drop), key=lambda i: -columns[i].drop)

    def narrowest(i: int, w: int, gently: bool) -> int:
        floor = columns[i].shrink_to
        if floor is None:
            return w
        return min(w, max(floor, w * 2 // 3) if gently else floor)

    def floor_need(gently: bool) -> int:
        return sum(narrowest(i, w, gently) + padding for i, w in enumerate(widths) if w is not None)

    while droppable and floor_need(gently=True) > available:
        widths[droppable.pop(0)] = None
    need = sum(w + padding for w in widths if w is not None)
    while need > available:
        room = [(w - narrowest(i, w, gently=False), i) for i, w in enumerate(widths) if w is not None]
        spare, widest = max(room, default=(0, -1))
        if spare <= 0:
            break
        widths[widest] -= 1  # type: ignore[operator]
        need -= 1
    return widths


class FittedTable(DataTable):
    """A row-cursor DataTable filled with `show_rows`, refitted to its width whenever that changes."""

    def __init__(self, columns: Sequence[Column], *, id: str | None = None, classes: str = "") -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=True)
        self.specs = tuple(columns)
        self._rows: list[Row] = []
        self._empty = ""
        self._fitted_width = -1

    def on_mount(self) -> None:
        self._rebuild()

    def on_resize(self, event: events.Resize) -> None:
        if self._available() != self._fitted_width:
            self._rebuild()

    def show_rows(self, rows: Sequence[Row], empty: str = "") -> None:
        """Replace the rows, keeping the cursor on the same key if it is still there."""
        self._rows, self._empty = list(rows), empty
        self._rebuild()

    def _available(self) -> int:
        # the vertical scrollbar takes its cell whenever the rows overflow: keep it free always
        return max(0, self.size.width - self.styles.scrollbar_size_vertical)

    def _rebuild(self) -> None:
        current = self._cursor_key()
        available = self._available()
        self.clear(columns=True)
        if not self._rows:  # "nothing here" on its own, across the panel, without headings over nothing
            self.show_header = False
            if self._empty:
                self.add_column("", width=max(1, available - 2 * self.cell_padding) if available else None, key="")
                self.add_row(Text(self._empty, style="dim", no_wrap=True, overflow="ellipsis"), key="")
            self._fitted_width = available
            return
        self.show_header = True
        natural = [max([cell_len(_(c.label))] + [_len(cells[i]) for _key, cells in self._rows])
                   for i, c in enumerate(self.specs)]
        # a column never narrows past its heading: a cut heading reads as a different word
        specs = [replace(c, shrink_to=max(c.shrink_to, cell_len(_(c.label)))) if c.shrink_to else c for c in self.specs]
        widths = fit_widths(natural, specs, available, 2 * self.cell_padding) if available else list(natural)
        self._fitted_width = available
        shown = [i for i, w in enumerate(widths) if w is not None]
        for i in shown:
            self.add_column(_(self.specs[i].label), width=widths[i], key=str(i))
        for key, cells in self._rows:
            texts = [_ellipsis(cells[i]) for i in shown]
            # a cell of several lines (a bay with a car in it and another waiting) makes its row as tall
            self.add_row(*texts, key=key, height=max(len(t.plain.split("\n")) for t in texts))
        if current is not None and any(key == current for key, _cells in self._rows):
            self.move_cursor(row=self.get_row_index(current), animate=False)

    def _cursor_key(self) -> str | None:
        if not self.row_count or self.cursor_row < 0:
            return None
        try:
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except CellDoesNotExist:
            return None


def _len(cell: str | Text) -> int:
    """The cells the widest line of `cell` takes."""
    text = cell.plain if isinstance(cell, Text) else str(cell)
    return max(cell_len(line) for line in text.split("\n"))


def _ellipsis(cell: str | Text) -> Text:
    text = cell.copy() if isinstance(cell, Text) else Text(str(cell))
    text.no_wrap, text.overflow = True, "ellipsis"
    return text
