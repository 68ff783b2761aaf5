"""The one-line bar on top of every screen: what the screen is, the station, its local time, the language."""

from __future__ import annotations

from rich.cells import cell_len
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from edge.domain.permissions import ActorKind
from edge.services.station import Station
from tui.formatting import weekday
from tui.i18n import N_, _, language

LANGUAGE_MARKS = {"zh_CN": "中", "en": "EN"}
ROLE_LABELS = {"manager": N_("manager"), "attendant": N_("attendant"), "technician": N_("technician")}


def operator_text(station: Station) -> str:
    """Who is working at this terminal, e.g. '周敏 (manager)'; empty when no one has signed in."""
    actor = station.actor
    if actor.kind is not ActorKind.STAFF:
        return ""
    role = str(actor.role) if actor.role else ""
    return f"{actor.name} ({_(ROLE_LABELS.get(role, role))})" if role else actor.name


class TitleBar(Static):
    """Screen title on the left; a note (sync, a problem), then station, local date and time, language on the right.

    The clock never gives way: a note too long for the line ends in "…" instead.
    """

    def show(self, title: str, station: Station, note: str = "") -> None:
        now = station.local(station.clock())
        operator = operator_text(station)
        right = f"{operator}  " if operator else ""
        right += f"{station.settings.station.id}  {now:%m-%d} {weekday(now.date())} {now:%H:%M}  "
        right += LANGUAGE_MARKS[language()]
        grid = Table.grid(expand=True, padding=(0, 1))
        grid.add_column(justify="left", no_wrap=True, min_width=cell_len(title))
        grid.add_column(justify="right", no_wrap=True, overflow="ellipsis", ratio=1)
        grid.add_column(justify="right", no_wrap=True, min_width=cell_len(right))
        grid.add_row(Text(title, style="bold"), Text(note, no_wrap=True, overflow="ellipsis"), Text(right))
        self.update(grid)
