"""The one-line bar on top of every screen: what the screen is, the station, its local time, the language."""

from __future__ import annotations

from rich.cells import cell_len
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from edge.services.station import Station
from tui.formatting import weekday
from tui.i18n import language

LANGUAGE_MARKS = {"zh_CN": "中", "en": "EN"}


class TitleBar(Static):
    """Screen title on the left; a note (sync, a problem), then station, local date and time, language on the right.

    The clock never gives way: a note too long for the line ends in "…" instead.
    """

    def show(self, title: str, station: Station, note: str = "") -> None:
        now = station.local(station.clock())
        right = f"{station.settings.station.id}  {now:%m-%d} {weekday(now.date())} {now:%H:%M}  "
        right += LANGUAGE_MARKS[language()]
        grid = Table.grid(expand=True, padding=(0, 1))
        grid.add_column(justify="left", no_wrap=True, min_width=cell_len(title))
        grid.add_column(justify="right", no_wrap=True, overflow="ellipsis", ratio=1)
        grid.add_column(justify="right", no_wrap=True, min_width=cell_len(right))
        grid.add_row(Text(title, style="bold"), Text(note, no_wrap=True, overflow="ellipsis"), Text(right))
        self.update(grid)
