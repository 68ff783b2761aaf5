"""Today's timeline: one row per bay, the whole opening day across, scaled to the width it is given.

When the day has more slot cells than there are columns, a column stands for several cells
and shows the busiest of them (on site over booked over held over done over free), so a
long day or a short slot still fits: nothing of the day is cut off.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.console import Group
from rich.text import Text
from textual.app import RenderResult
from textual.widget import Widget

from edge.services.station import Station
from tui.board_data import Board
from tui.i18n import N_, _

GLYPHS = {"free": "·", "held": "░", "booked": "▒", "busy": "█", "done": "▁"}
# what a mark standing for several cells shows: the first of these among them
BUSIEST_FIRST = ("busy", "booked", "held", "done", "free")
LEGEND = (("busy", N_("on site")), ("booked", N_("booked")), ("held", N_("held")), ("done", N_("done")),
          ("free", N_("free")))


class Timeline(Widget):
    """Bays down, the day's cells across; the cell holding now is marked."""

    COMPONENT_CLASSES = {
        "timeline--free", "timeline--held", "timeline--booked", "timeline--busy", "timeline--done",
        "timeline--now", "timeline--hours", "timeline--bay",
    }

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._board: Board | None = None
        self._station: Station | None = None

    def show(self, station: Station, board: Board) -> None:
        self._station, self._board = station, board
        self.refresh(layout=True)

    def render(self) -> RenderResult:
        board, station = self._board, self._station
        if board is None or station is None:
            return ""
        if not board.grid:
            return Text(_("Closed today"))
        bay_ids = list(board.timeline)
        label_width = max((cell_len(bay) for bay in bay_ids), default=2) + 1
        room = max(1, self.content_size.width - label_width)
        cells = len(board.grid)
        # every column stands for whole cells when they fit, else for a share of the day's cells
        columns = room if cells > room else cells * (room // cells)
        spans = [(c * cells // columns, max(c * cells // columns + 1, (c + 1) * cells // columns))
                 for c in range(columns)]
        now_index = next((i for i, cell in enumerate(board.grid) if cell.start <= board.now < cell.end), None)
        style = self.get_component_rich_style
        hours = Text(" " * label_width, style=style("timeline--hours"), no_wrap=True)
        starts = [station.local(board.grid[first].start) for first, _last in spans]
        for c, local in enumerate(starts):
            # an hour label goes where a new hour begins, if the last label left room for it and a space
            new_hour = local.minute == 0 if c == 0 else local.hour != starts[c - 1].hour
            if new_hour and (c == 0 or cell_len(hours.plain) < label_width + c):
                hours.append(" " * (label_width + c - cell_len(hours.plain)))
                hours.append(f"{local:%H}", style=style("timeline--hours"))
        lines: list[Text] = [hours]
        for bay in bay_ids:
            line = Text(bay + " " * (label_width - cell_len(bay)), style=style("timeline--bay"), no_wrap=True)
            kinds = board.timeline[bay]
            for first, last in spans:
                kind = next(k for k in BUSIEST_FIRST if k in kinds[first:last])
                mark = style(f"timeline--{kind}")
                if now_index is not None and first <= now_index < last:
                    mark += style("timeline--now")
                line.append(GLYPHS[kind], style=mark)
            lines.append(line)
        legend = Text(no_wrap=True, overflow="ellipsis")
        items = [(kind, f" {_(name)}") for kind, name in LEGEND]
        # two spaces between the items where they fit, else one
        gap = "  " if sum(1 + cell_len(text) + 2 for _k, text in items) - 2 <= self.content_size.width else " "
        for i, (kind, text) in enumerate(items):
            legend.append(gap if i else "")
            legend.append(GLYPHS[kind], style=style(f"timeline--{kind}"))
            legend.append(text)
        lines.append(legend)
        return Group(*lines)

    def get_content_height(self, container, viewport, width: int) -> int:
        return len(self._board.timeline) + 2 if self._board and self._board.grid else 1
