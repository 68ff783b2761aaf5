"""The slot picker: the day's start times down, the able bays across, free cells marked and selectable.

Cells HQ owns (slot escrow) are marked: a booking there is tentative until HQ answers. Cells
held by bookings HQ has yet to decide say so, rather than look simply taken. For work in legs
(the lift, then the wash) the columns are the first leg's bays, and a free cell says where the
car goes next and when: "free › W1 09:00". For a phone booking, cells on the walk-in reserve
before their cut-off are marked reserved.
"""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.widgets import DataTable

from edge.services.station import Station
from tui.formatting import clock, onwards
from tui.i18n import _
from tui.lookups import Slots
from tui.messages import SlotChosen


class SlotPicker(DataTable):
    """Enter (or a click) on a free cell posts SlotChosen; on any other cell it says why not."""

    COMPONENT_CLASSES = DataTable.COMPONENT_CLASSES | {"slot--free", "slot--kept", "slot--chosen", "slot--taken",
                                                       "slot--hq", "slot--tentative", "slot--reserved"}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="cell", zebra_stripes=True)
        self.fixed_columns = 1  # the time stays in view when routes make the bays wider than the panel
        self.slots: Slots | None = None
        self._starts: dict[str, datetime] = {}

    def show(self, station: Station, slots: Slots | None, chosen: tuple[str, datetime] | None) -> None:
        """Fill the grid with the day's cells of the able bays."""
        self.slots = slots
        self.clear(columns=True)
        if slots is None:
            return
        self.add_column(_("Time"), key="time")
        for bay in slots.bay_ids:
            self.add_column(bay, key=bay)
        self._starts = {start.isoformat(): start for start in slots.starts}
        # the cursor goes to the chosen cell, else the first free one, else the first kept back
        targets: dict[str, tuple[int, int]] = {}
        for row, start in enumerate(slots.starts):
            cells: list[Text | str] = [clock(station, start)]
            for column, bay in enumerate(slots.bay_ids, start=1):
                cells.append(self._cell(station, (bay, start), chosen))
                kind = "chosen" if chosen == (bay, start) else "free" if (bay, start) in slots.free else \
                    "kept" if (bay, start) in slots.kept else ""
                if kind:
                    targets.setdefault(kind, (row, column))
            self.add_row(*cells, key=start.isoformat())
        target = targets.get("chosen") or targets.get("free") or targets.get("kept")
        if target is not None:
            self.move_cursor(row=target[0], column=target[1], animate=False)

    def _cell(self, station: Station, key: tuple[str, datetime], chosen: tuple[str, datetime] | None) -> Text:
        assert self.slots is not None
        style = self.get_component_rich_style
        if key == chosen:
            return Text("● " + _("chosen"), style=style("slot--chosen"))  # its route is in the summary
        if key in self.slots.free:
            if key in self.slots.hq:
                return Text(_("free (HQ)") + self._onwards(station, key), style=style("slot--hq"))
            return Text(_("free") + self._onwards(station, key), style=style("slot--free"))
        if key in self.slots.kept:
            return Text(_("kept"), style=style("slot--kept"))
        if key in self.slots.reserved:
            return Text(_("reserved"), style=style("slot--reserved"))
        if key in self.slots.tentative:
            return Text(_("tentative"), style=style("slot--tentative"))
        return Text("·", style=style("slot--taken"))

    def _onwards(self, station: Station, key: tuple[str, datetime]) -> str:
        """' › W1 09:00' for each leg after the first of the free start `key`; '' for work on one bay."""
        assert self.slots is not None
        option = self.slots.free.get(key)
        later = option.legs[1:] if option is not None else ()
        return onwards(station, [(leg.bay_id, leg.starts[0]) for leg in later])

    @property
    def free_count(self) -> int:
        return 0 if self.slots is None else len(self.slots.free)

    def on_data_table_cell_selected(self, event: DataTable.CellSelected) -> None:
        event.stop()
        if self.slots is None:
            return
        bay = str(event.cell_key.column_key.value)
        start = self._starts.get(str(event.cell_key.row_key.value))
        if bay == "time" or start is None:
            return
        if (bay, start) in self.slots.free:
            self.post_message(SlotChosen(bay, start))
        elif (bay, start) in self.slots.kept:
            self.app.notify(self.slots.kept_reason or _("Not bookable for this customer's tier"),
                            title=_("Refused"), severity="warning")
        elif (bay, start) in self.slots.reserved:
            self.app.notify(_("Kept for walk-ins: a phone booking may take it only shortly before its start"),
                            severity="warning")
        else:
            self.app.notify(_("This cell is not free for the chosen services"), severity="warning")
