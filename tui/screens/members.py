"""Members and vehicles: find a customer by phone (or its last digits), plate or name; their details, cars,
purchases and the booking history of their cars.

The desk corrects a member's name, phone or birthday (e), a car's make, model, colour and size
(v, the car highlighted in the vehicles table, else the first), and, with a manager's PIN,
sets the credit score by hand with a reason (o).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Input, Label, Static

from edge.domain.permissions import Actor, Permission
from edge.domain.plates import normalize_plate
from edge.errors import InvalidInput
from edge.services import members, vehicles
from edge.services.booking_store import BookingRecord
from edge.services.members import MemberProfile, Purchase
from edge.services.station import Station
from edge.services.vehicles import VehicleRecord
from tui.formatting import booking_services, state_label, when
from tui.i18n import N_, _
from tui.lookups import plate_history
from tui.screens.base import StationScreen, cursor_key, refill
from tui.screens.form_dialog import FormDialog, FormField, whole_number
from tui.screens.manager_pin import ManagerPinDialog
from tui.widgets.common.fitted_table import Column, FittedTable

HISTORY_COLUMNS = (Column(N_("When")), Column(N_("Plate")), Column(N_("Services"), shrink_to=6, drop=1),
                   Column(N_("Bay"), drop=3), Column(N_("State"), shrink_to=6), Column(N_("Price")),
                   Column(N_("Code"), drop=2))
MATCH_COLUMNS = (Column(N_("Name"), shrink_to=6), Column(N_("Phone")), Column(N_("Tier")),
                 Column(N_("Vehicles"), shrink_to=8))
VEHICLE_COLUMNS = (Column(N_("Plate")), Column(N_("Make"), shrink_to=4), Column(N_("Model"), shrink_to=4),
                   Column(N_("Colour"), shrink_to=4), Column(N_("Size"), drop=1))
PURCHASE_COLUMNS = (Column(N_("When")), Column(N_("Total")), Column(N_("Receipt"), drop=1))


@dataclass(frozen=True, slots=True)
class MemberDesk:
    """What the screen shows for what was typed: several members to choose from, one member, or a plate's history."""

    key: str
    matches: tuple[MemberProfile, ...] = ()
    profile: MemberProfile | None = None
    birthday: str | None = None
    vehicles: tuple[VehicleRecord, ...] = ()
    purchases: tuple[Purchase, ...] = ()
    history: tuple[BookingRecord, ...] = ()


def member_desk(station: Station, key: str, member_id: str | None) -> MemberDesk:
    """The member chosen (by id), else those `key` finds; a plate no member has still shows its bookings."""
    if member_id is None:
        found = members.search(station, key)
        if len(found) != 1:
            return MemberDesk(key, tuple(found), history=tuple(_plate_history(station, key)) if not found else ())
        member_id = found[0].member.id
    profile = members.profile(station, member_id)
    return MemberDesk(key, (profile,), profile, members.birthday_of(station, member_id),
                      tuple(vehicles.of_member(station, member_id)), tuple(members.purchases(station, member_id)),
                      tuple(plate_history(station, list(profile.plates))))


def _plate_history(station: Station, key: str) -> list[BookingRecord]:
    try:
        return plate_history(station, [normalize_plate(key)])
    except InvalidInput:  # a name no member has: no plate to look for either
        return []


class MembersScreen(StationScreen):
    TITLE = N_("Members and vehicles")
    AUTO_FOCUS = "#key"
    BINDINGS = [
        Binding("e", "edit_member", N_("Edit")),
        Binding("v", "edit_vehicle", N_("Vehicle")),
        Binding("o", "override_credit", N_("Credit")),
        Binding("escape", "back", N_("Back")),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.key = ""
        self.member_id: str | None = None  # the member on screen, once one is chosen

    def compose_body(self) -> ComposeResult:
        with Vertical(id="members"):
            yield Label(_("Phone (or its last digits), plate or name, then Enter"))
            yield Input(self.key, placeholder="13800138000 / 沪A12345 / 张伟", id="key")
            matches = FittedTable(MATCH_COLUMNS, id="matches")
            matches.border_title = _("Members found")
            yield matches
            with Horizontal(id="member-top"):
                profile = Static(id="profile")
                profile.border_title = _("Member")
                yield profile
                cars = FittedTable(VEHICLE_COLUMNS, id="vehicles")
                cars.border_title = _("Vehicles")
                yield cars
            with Horizontal(id="member-bottom"):
                bought = FittedTable(PURCHASE_COLUMNS, id="purchases")
                bought.border_title = _("Purchases")
                yield bought
                history = FittedTable(HISTORY_COLUMNS, id="history", classes="bookings")
                history.border_title = _("Bookings of these vehicles")
                yield history

    def load(self, station: Station) -> MemberDesk | None:
        if not self.key and self.member_id is None:
            return None
        return member_desk(station, self.key, self.member_id)

    def show(self, view: MemberDesk | None) -> None:
        several = view is not None and view.profile is None and len(view.matches) > 1
        self.query_one("#matches").display = several
        self.query_one("#member-top").display = not several
        self.query_one("#member-bottom").display = not several
        if several:
            refill(self.query_one("#matches", DataTable), [
                (p.member.id, (p.member.name or "—", p.member.phone, p.member.tier, "  ".join(p.plates) or "—"))
                for p in view.matches])
            return
        self._show_member(view)

    def _show_member(self, view: MemberDesk | None) -> None:
        station = self.station
        profile = self.query_one("#profile", Static)
        if view is None:
            profile.update(Text(_("Type a phone number, a plate or a name"), style="dim"))
        elif view.profile is None:
            profile.update(Text(_("No member with phone, plate or name {key}: a guest").format(key=view.key)))
        else:
            m = view.profile.member
            grid = Table.grid(padding=(0, 2))
            grid.add_column(style="dim")
            grid.add_column()
            grid.add_row(_("Name"), m.name or "—")
            grid.add_row(_("Phone"), m.phone)
            grid.add_row(_("Birthday"), view.birthday or "—")
            grid.add_row(_("Tier"), m.tier)
            grid.add_row(_("Credit score"), str(m.credit_score))
            grid.add_row(_("Vehicles"), "  ".join(view.profile.plates) or "—")
            profile.update(grid)
        view = view or MemberDesk("")
        refill(self.query_one("#vehicles", DataTable), [
            (v.plate, (v.plate, v.make, v.model, v.colour, v.size_class or "")) for v in view.vehicles],
            _("No vehicles") if view.profile else "")
        refill(self.query_one("#purchases", DataTable), [
            (p.number, (when(station, p.created_at), station.money(p.total_minor), p.number)) for p in view.purchases],
            _("No purchases") if view.profile else "")
        refill(self.query_one("#history", DataTable), [
            (b.code, (when(station, b.start_at), b.plate, booking_services(station, b), b.bay_id,
                      state_label(b.state), station.money(b.price_minor), b.code))
            for b in view.history
        ], _("No bookings") if view.key or view.profile else "")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.key = event.value.strip()
        self.member_id = None
        loads = self.loads
        self.reload()
        if self.key:
            self._focus_when_loaded(loads)

    def _focus_when_loaded(self, loads: int) -> None:
        """The list of members found, else the bookings, has the cursor once they are on screen."""
        if self.loads == loads:
            self.set_timer(0.02, lambda: self._focus_when_loaded(loads))
            return
        target = "#matches" if self.query_one("#matches").display else "#history"
        self.query_one(target, DataTable).focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "matches":
            event.stop()
            self.member_id = str(event.row_key.value)
            loads = self.loads
            self.reload()
            self._focus_when_loaded(loads)
            return
        super().on_data_table_row_selected(event)

    # -- the desk's corrections ------------------------------------------------------

    def _member(self) -> MemberDesk | None:
        view = self.data
        return view if isinstance(view, MemberDesk) and view.profile is not None else None

    def action_edit_member(self) -> None:
        view = self._member()
        if view is None:
            return
        m = view.profile.member

        def answered(form: dict[str, str] | None) -> None:
            if form is not None:
                self.member_id = m.id
                self.call("member", members.update_member, self.station, m.id, name=form["name"],
                          phone=form["phone"], birthday=form["birthday"])

        self.app.push_screen(FormDialog(_("Member {phone}").format(phone=m.phone), [
            FormField("name", _("Name"), m.name), FormField("phone", _("Phone"), m.phone),
            FormField("birthday", _("Birthday"), view.birthday or "", placeholder="MM-DD")]), answered)

    def action_edit_vehicle(self) -> None:
        view = self._member()
        if view is None or not view.vehicles:
            return
        plate = cursor_key(self.query_one("#vehicles", DataTable))
        car = next((v for v in view.vehicles if v.plate == plate), view.vehicles[0])
        fields = [FormField("make", _("Make"), car.make), FormField("model", _("Model"), car.model),
                  FormField("colour", _("Colour"), car.colour)]
        if self.station.settings.booking.size_classes:
            fields.append(FormField("size", _("Size"), car.size_class or "",
                                    placeholder=" / ".join(self.station.settings.booking.size_classes)))

        def answered(form: dict[str, str] | None) -> None:
            if form is not None:
                self.member_id = view.profile.member.id
                self.call("vehicle", save_vehicle, self.station, car, form)

        self.app.push_screen(FormDialog(_("Vehicle {plate}").format(plate=car.plate), fields), answered)

    def action_override_credit(self) -> None:
        """A manager sets the credit score by hand: the new score and why, then the manager's PIN."""
        view = self._member()
        if view is None:
            return
        m = view.profile.member

        def authorised(form: dict[str, str], manager: Actor | None) -> None:
            if manager is not None:
                self.call("credit", override_credit, self.station, m.phone, form, manager)

        def answered(form: dict[str, str] | None) -> None:
            if form is not None:
                self.member_id = m.id
                self.app.push_screen(ManagerPinDialog(Permission.CREDIT_OVERRIDE),
                                     lambda manager: authorised(form, manager))

        self.app.push_screen(FormDialog(
            _("Credit score of {name} (now {score})").format(name=m.name or m.phone, score=m.credit_score),
            [FormField("score", _("New score")), FormField("reason", _("Reason"))]), answered)

    def done(self, request: str, result: Any) -> None:
        texts = {"member": _("Member details saved"), "vehicle": _("Vehicle details saved"),
                 "credit": _("Credit score set")}
        self.app.notify(texts[request])
        self.reload()


def save_vehicle(station: Station, car: VehicleRecord, form: dict[str, str]) -> VehicleRecord:
    """The car's details as the form has them; its size class too when the form asks for one and it changed."""
    saved = vehicles.set_details(station, plate=car.plate, make=form["make"], model=form["model"],
                                 colour=form["colour"], foreign_plate=True)
    if form.get("size") and form["size"] != car.size_class:
        members.set_vehicle_size(station, plate=car.plate, size_class=form["size"], foreign_plate=True)
    return saved


def override_credit(station: Station, phone: str, form: dict[str, str], manager: Actor):
    return members.override_credit(station, phone=phone, score=whole_number(form["score"], "score"),
                                   reason=form["reason"], manager=manager)
