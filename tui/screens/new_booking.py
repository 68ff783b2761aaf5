"""A new booking for a walk-in or a caller: services → a free cell → the customer → hold or confirm.

Work no one bay does (the lift, then the wash) is booked in legs: the picker's cells say where the
car goes next, the summary lists the legs. The desk may ask for a technician by id or name.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Select, SelectionList, Static

from edge.domain.plates import validate_plate
from edge.errors import EdgeError, InvalidInput
from edge.services import bookings
from edge.services.members import MemberProfile, typed_phone
from edge.services.prices import plan_price
from edge.services.station import Station
from edge.services.vehicle_sizes import known_size
from tui.formatting import clock, day_label, legs_label, minutes_text, service_name, services_label
from tui.i18n import N_, _
from tui.lookups import Slots, free_slots, member_for
from tui.messages import SlotChosen
from tui.screens.base import StationScreen
from tui.screens.booking_detail import BookingDetailScreen
from tui.widgets.booking.slot_picker import SlotPicker

MEMBER_LOOKUP_DELAY = 0.3  # seconds of quiet typing before the member is looked up


class NewBookingScreen(StationScreen):
    TITLE = N_("New booking")
    AUTO_FOCUS = "#services"
    BINDINGS = [
        Binding("f5", "book(False)", N_("Confirm")),
        Binding("f6", "book(True)", N_("Hold")),
        Binding("escape", "back", N_("Back")),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.channel = "walk_in"
        self.codes: list[str] = []
        self.day: date | None = None
        self.plate = ""
        self.phone = ""
        self.technician = ""
        self.size_class: str | None = None  # the car's size class: picked, or the known car's; None = as stored
        self.member: MemberProfile | None = None
        self.chosen: tuple[str, datetime] | None = None
        self._lookup_timer: Timer | None = None
        self._booking = False

    # -- composition ---------------------------------------------------------------------

    def compose_body(self) -> ComposeResult:
        station = self.station
        today = station.local(station.clock()).date()
        self.day = self.day or today
        horizon = max(tier.horizon_days for tier in station.tiers.values())
        catalog = station.catalog()
        with Horizontal(id="booking-form"):
            with Vertical(id="booking-left"):
                with RadioSet(id="channel", compact=True):
                    yield RadioButton(_("Walk-in"), value=self.channel == "walk_in", id="walk_in")
                    yield RadioButton(_("Phone"), value=self.channel == "phone", id="phone")
                items = [*catalog.services.items(), *catalog.packages.items()]
                choices = [(f"{service_name(station, code)} · {station.money(item.price_minor)}", code,
                            code in self.codes) for code, item in items]
                services = SelectionList[str](*choices, id="services")
                services.border_title = _("Services")
                yield services
                days = [(day_label(today + timedelta(days=n)), today + timedelta(days=n)) for n in range(horizon + 1)]
                with Horizontal(classes="field"):
                    yield Label(_("Day"))
                    yield Select(days, value=self.day, allow_blank=False, compact=True, id="day")
                with Horizontal(classes="field"):
                    yield Label(_("Plate"))
                    yield Input(self.plate, placeholder="沪A12345", compact=True, id="plate")
                yield Static(id="plate-problem", classes="problem")
                if sizes := station.settings.booking.size_classes:
                    with Horizontal(classes="field"):
                        yield Label(_("Size"))
                        yield Select([(name, name) for name in sizes], value=self.size_class or Select.NULL,
                                     prompt=_("as known"), compact=True, id="size")
                with Horizontal(classes="field"):
                    yield Label(_("Phone"))
                    yield Input(self.phone, placeholder=_("finds or enrols a member"), compact=True,
                                id="phone-number")
                yield Static(id="phone-number-problem", classes="problem")
                with Horizontal(classes="field"):
                    yield Label(_("Tech"))
                    yield Input(self.technician, placeholder=_("id or name, optional"), compact=True,
                                id="technician")
                yield Static(id="member")
            with Vertical(id="booking-right"):
                picker = SlotPicker(id="slots")
                picker.border_title = _("Free starts")
                yield picker
                yield Static(id="summary")
                with Horizontal(id="booking-buttons"):
                    yield Button(_("Confirm") + " F5", id="confirm", variant="primary", compact=True)
                    yield Button(_("Hold") + " F6", id="hold", compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        for problem in self.query(".problem"):
            problem.display = False
        self._show_member()
        self._show_summary()

    async def retranslate(self) -> None:
        await super().retranslate()
        self._show_member()
        self._show_summary()

    # -- loading the free cells -----------------------------------------------------------

    def load(self, station: Station) -> Slots | None:
        if not self.codes or self.day is None:
            return None
        tier = self.member.member.tier if self.member else None
        return free_slots(station, day=self.day, services=list(self.codes), tier=tier, channel=self.channel,
                          size_class=self.size_class)

    def show(self, slots: Slots | None) -> None:
        if slots is not None and (slots.services, slots.day, slots.size_class) != (tuple(self.codes), self.day,
                                                                                   self.size_class):
            return  # read for an earlier choice; the reload for the current one is on its way
        if slots is not None and self.chosen is not None and self.chosen not in slots.free:
            self.chosen = None  # taken meanwhile, or no longer right for the services or the tier
        self.query_one(SlotPicker).show(self.station, slots, self.chosen)
        self._show_summary()

    def _show_summary(self) -> None:
        summary = self.query_one("#summary", Static)
        if not self.codes:
            summary.update(Text(_("Pick services (Space) to see the free starts"), style="dim"))
            return
        try:
            plan = self.station.catalog().plan(self.codes, self.size_class)
        except EdgeError as err:
            summary.update(Text(str(err), style="bold"))
            return
        # the price of the start chosen (the price calendar may set it), else the usual one
        price = plan.price_minor if self.chosen is None else plan_price(self.station, plan, self.chosen[1])
        text = Text(f"{services_label(self.station, self.codes)} · {minutes_text(plan.duration_minutes)} · "
                    f"{self.station.money(price)}")
        slots: Slots | None = self.data
        option = slots.free.get(self.chosen) if slots is not None and self.chosen is not None else None
        if len(plan.legs) > 1:  # the legs, each on its bay at its time once a cell is chosen
            stops = [(leg.bay_id, leg.starts[0]) for leg in option.legs] if option is not None else []
            text.append("\n" + _("In {count} legs: {legs}").format(count=len(plan.legs), legs=legs_label(
                self.station, [(leg.service_codes, stops[n] if n < len(stops) else None)
                               for n, leg in enumerate(plan.legs)])), style="bold" if stops else "")
        if self.chosen is not None:
            if len(plan.legs) == 1:
                bay, start = self.chosen
                text.append(" · " + _("bay {bay} at {time}").format(bay=bay, time=clock(self.station, start)),
                            style="bold")
            if slots is not None and self.chosen in slots.hq:
                text.append("\n" + _("HQ's cell: the booking stays tentative until HQ answers"), style="italic")
        else:
            picker = self.query_one(SlotPicker)
            text.append("\n" + (_("Enter on a free cell picks it") if picker.free_count else
                                _("No free start this day")), style="dim")
        if slots is not None and slots.kept:
            text.append("\n" + _("{count} start(s) kept back: {reason}").format(count=len(slots.kept),
                                                                               reason=slots.kept_reason))
        summary.update(text)

    # -- the form ------------------------------------------------------------------------

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        event.stop()
        self.channel = event.pressed.id or "walk_in"
        self.reload()  # the phone may not book the walk-in reserve yet

    def on_selection_list_selected_changed(self, event: SelectionList.SelectedChanged) -> None:
        event.stop()
        self.codes = list(event.selection_list.selected)
        self.chosen = None
        self._show_summary()
        self.reload()

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        if event.select.id == "size":
            self.size_class = None if event.value == Select.NULL else str(event.value)
            self.chosen = None
            self._show_summary()
            self.reload()
        elif isinstance(event.value, date) and event.value != self.day:
            self.day = event.value
            self.chosen = None
            self.reload()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if event.input.id == "technician":
            self.technician = event.value
            return  # the booking service finds the technician, and names them if it cannot
        if event.input.id == "plate":
            self.plate = event.value
        else:
            self.phone = event.value
        self._show_problem(event.input.id or "", None)
        if self._lookup_timer is not None:
            self._lookup_timer.stop()
        self._lookup_timer = self.set_timer(MEMBER_LOOKUP_DELAY, self._look_up_member)

    def _look_up_member(self) -> None:
        phone, plate, station = self.phone, self.plate, self.station
        self.call("member", lambda: (phone, plate, member_for(station, phone=phone, plate=plate),
                                     known_size(station, plate)))

    def _show_member(self) -> None:
        line = self.query_one("#member", Static)
        if self.member is None:
            line.update(Text(_("Guest (a phone number enrols a member when booking)"), style="dim"))
            return
        m = self.member.member
        line.update(Text(_("Member {name} · {tier} · credit {score}").format(
            name=m.name or m.phone, tier=m.tier, score=m.credit_score), style="bold"))

    def on_slot_chosen(self, message: SlotChosen) -> None:
        message.stop()
        self.chosen = (message.bay_id, message.start)
        self.query_one(SlotPicker).show(self.station, self.data, self.chosen)
        self._show_summary()
        self.query_one("#plate", Input).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_book(event.button.id == "hold")

    # -- booking -------------------------------------------------------------------------

    def action_book(self, hold: bool) -> None:
        missing = [label for label, ok in ((_("services"), bool(self.codes)), (_("a free cell"), self.chosen),
                                           (_("the plate"), self.plate.strip())) if not ok]
        if missing:
            self.app.notify(_("Still needed: {what}").format(what=", ".join(missing)), severity="warning")
            return
        if not self._fields_valid() or self._booking:
            return
        self._booking = True
        bay, start = self.chosen
        self.call("book", bookings.book, self.station, services=list(self.codes), start=start,
                  plate=self.plate.strip(), bay_id=bay, technician=self.technician.strip() or None,
                  phone=self.phone.strip() or None, channel=self.channel, hold=hold, size_class=self.size_class)

    def _fields_valid(self) -> bool:
        """Plate and phone have the station's formats; a problem is shown under its field."""
        checks = (("plate", lambda: validate_plate(self.plate)),
                  ("phone-number", lambda: self.phone.strip() and typed_phone(self.station, self.phone)))
        valid = True
        for field_id, check in checks:
            try:
                check()
            except InvalidInput as err:
                self._show_problem(field_id, str(err))
                valid = False
        return valid

    def _show_problem(self, field_id: str, message: str | None) -> None:
        problem = self.query_one(f"#{field_id}-problem", Static)
        problem.update(Text(message or "", style="bold"))
        problem.display = message is not None

    def done(self, request: str, result: Any) -> None:
        if request == "member":
            phone, plate, member, size = result
            if (phone, plate) == (self.phone, self.plate):  # an answer to what is typed now
                if size is not None and self.query("#size"):
                    self.query_one("#size", Select).value = size  # the known car's class, prefilled
                changed = (member and member.member.id) != (self.member and self.member.member.id)
                self.member = member
                self._show_member()
                if changed:
                    self.reload()  # the tier decides which starts may be booked
            return
        self._booking = False
        verb = {"held": _("Held"), "tentative": _("Asked HQ for")}.get(result.state, _("Booked"))
        self.app.notify(_("{verb} {code}: {plate} at {time}, bay {bay}").format(
            verb=verb, code=result.code, plate=result.plate, time=clock(self.station, result.start_at),
            bay=result.bay_id))
        self.app.switch_screen(BookingDetailScreen(result.code))

    def failed(self, request: str, message: str, kind: str) -> None:
        if request == "book":
            self._booking = False
            self.query_one("#summary", Static).update(Text(message, style="bold"))
            if kind == "slot_taken":
                self.chosen = None
                self.reload()
