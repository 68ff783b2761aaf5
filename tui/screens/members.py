"""Members and vehicles: look a customer up by phone or plate, with the booking history of their cars."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Input, Label, Static

from edge.errors import InvalidInput
from edge.services.station import Station
from tui.formatting import booking_services, state_label, when
from tui.i18n import N_, _
from tui.lookups import MemberView, member_view
from tui.screens.base import StationScreen, refill
from tui.widgets.common.fitted_table import Column, FittedTable


HISTORY_COLUMNS = (Column(N_("When")), Column(N_("Plate")), Column(N_("Services"), shrink_to=6, drop=1),
                   Column(N_("Bay")), Column(N_("State"), shrink_to=6), Column(N_("Price")), Column(N_("Code"), drop=2))


class MembersScreen(StationScreen):
    TITLE = N_("Members and vehicles")
    AUTO_FOCUS = "#key"
    BINDINGS = [Binding("escape", "back", N_("Back"))]

    def __init__(self) -> None:
        super().__init__()
        self.key = ""

    def compose_body(self) -> ComposeResult:
        with Vertical(id="members"):
            yield Label(_("Phone number or plate, then Enter"))
            yield Input(self.key, placeholder="13800138000 / 沪A12345", id="key")
            profile = Static(id="profile")
            profile.border_title = _("Member")
            yield profile
            history = FittedTable(HISTORY_COLUMNS, id="history", classes="bookings")
            history.border_title = _("Bookings of these vehicles")
            yield history

    def load(self, station: Station) -> MemberView | None:
        key = self.key
        if not key:
            return None
        try:
            return member_view(station, key)
        except InvalidInput:  # neither a phone number nor a plate: nothing to show
            return MemberView(key, None, ())

    def show(self, view: MemberView | None) -> None:
        profile = self.query_one("#profile", Static)
        station = self.station
        if view is None:
            profile.update(Text(_("Type a phone number or a plate"), style="dim"))
            refill(self.query_one("#history", DataTable), [])
            return
        if view.profile is None:
            profile.update(Text(_("No member with phone or plate {key}: a guest").format(key=view.key)))
        else:
            m = view.profile.member
            grid = Table.grid(padding=(0, 2))
            grid.add_column(style="dim")
            grid.add_column()
            grid.add_row(_("Name"), m.name or "—")
            grid.add_row(_("Phone"), m.phone)
            grid.add_row(_("Tier"), m.tier)
            grid.add_row(_("Credit score"), str(m.credit_score))
            grid.add_row(_("Vehicles"), "  ".join(view.profile.plates) or "—")
            profile.update(grid)
        refill(self.query_one("#history", DataTable), [
            (b.code, (when(station, b.start_at), b.plate, booking_services(station, b), b.bay_id,
                      state_label(b.state), station.money(b.price_minor), b.code))
            for b in view.history
        ], _("No bookings"))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.key = event.value.strip()
        self.reload()
        if self.key:
            self.query_one("#history", DataTable).focus()
