"""The board: every bay's live state, today's timeline and bookings, next arrivals, alerts, roster, sync."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable

from edge.services.bay_now import CAR_NOT_BOOKED, CAR_NOT_SENSED
from edge.services.station import Station
from tui.board_data import Alert, Board, BayRow, load_board
from tui.formatting import (
    bay_state_label, booking_services, clock, link_label, minutes_text, sensor_label, stage_label, state_label,
)
from tui.i18n import N_, _
from tui.screens.base import StationScreen, refill
from tui.screens.checkin import CheckInScreen
from tui.widgets.board.timeline import Timeline
from tui.widgets.common.fitted_table import Column, FittedTable

# each panel's columns: what narrows (to how many cells) and what goes first when 80 columns are all there is
BAY_COLUMNS = (Column(N_("Bay")), Column(N_("Bay name"), shrink_to=4, drop=2), Column(N_("State")),
               Column(N_("Sensor"), drop=1), Column(N_("Car"), shrink_to=24))
TODAY_COLUMNS = (Column(N_("Time")), Column(N_("Plate")), Column(N_("Services"), shrink_to=4, drop=1),
                 Column(N_("Bay")), Column(N_("State"), shrink_to=9), Column(N_("Code"), drop=2))
ARRIVAL_COLUMNS = (Column(N_("Time")), Column(N_("Plate")), Column(N_("Services"), shrink_to=4, drop=1),
                   Column(N_("Bay"), drop=2))
ALERT_COLUMNS = (Column(N_("Alert")), Column(N_("What"), shrink_to=10), Column(N_("When"), shrink_to=11, drop=1))
TECHNICIAN_COLUMNS = (Column(N_("Name"), shrink_to=4), Column(N_("Shift"), shrink_to=5, drop=1),
                      Column(N_("Now"), shrink_to=20))


class BoardScreen(StationScreen):
    TITLE = N_("Board")
    AUTO_FOCUS = "#bays"
    BINDINGS = [
        Binding("c", "app.check_in", N_("Check in")),
        Binding("n", "app.new_booking", N_("Book")),
        Binding("g", "app.find_booking", N_("Find")),
        Binding("m", "app.members", N_("Members")),
        Binding("t", "app.technicians", N_("Techs")),
        Binding("w", "app.waitlist", N_("Waitlist")),
        Binding("q", "app.quit", N_("Quit")),
    ]
    COMPONENT_CLASSES = {"bay--free", "bay--occupied", "bay--unknown", "bay--out_of_service", "alert--late",
                         "alert--prompt", "alert--fault"}

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="board"):
            with Vertical(id="board-left"):
                yield self._table("bays", N_("Bays"), BAY_COLUMNS)
                timeline = Timeline(id="timeline")
                timeline.border_title = _("Today")
                yield timeline
                yield self._table("today", N_("Today's bookings"), TODAY_COLUMNS, bookings=True)
            with Vertical(id="board-right"):
                yield self._table("arrivals", N_("Next arrivals"), ARRIVAL_COLUMNS, bookings=True)
                yield self._table("alerts", N_("Alerts"), ALERT_COLUMNS)
                yield self._table("technicians", N_("Technicians on shift"), TECHNICIAN_COLUMNS)

    @staticmethod
    def _table(name: str, title: str, columns: tuple[Column, ...], *, bookings: bool = False) -> FittedTable:
        table = FittedTable(columns, id=name, classes="bookings" if bookings else "")
        table.border_title = _(title)
        return table

    def load(self, station: Station) -> Board:
        return load_board(station)

    def title_note(self) -> str:
        board: Board | None = self.data
        if board is None:
            return super().title_note()
        sync = board.sync
        if sync.link == "off":
            text = _("{sync_off} · {count} queued").format(sync_off=link_label(sync.link), count=sync.backlog)
        else:
            ack = _("never") if sync.last_ack_age is None else \
                minutes_text(int(sync.last_ack_age.total_seconds() // 60))
            text = _("HQ {link} · {count} queued · last ack {age}").format(
                link=link_label(sync.link), count=sync.backlog, age=ack)
        note = super().title_note()
        return f"{note}  {text}" if note else text

    def show(self, board: Board) -> None:
        station = self.station
        self.query_one(Timeline).show(station, board)
        self._show_bays(station, board)
        refill(self.query_one("#today", DataTable), [
            (b.code, (clock(station, b.start_at), b.plate, booking_services(station, b), board.bays_of(b),
                      _state_or_stage(b), b.code))
            for b in board.bookings
        ], _("No bookings today"))
        refill(self.query_one("#arrivals", DataTable), [
            (b.code, (clock(station, b.start_at), b.plate, booking_services(station, b), board.bays_of(b)))
            for b in board.arrivals
        ], _("No one expected"))
        alerts = self.query_one("#alerts", DataTable)
        refill(alerts, [(_alert_key(alert), (self._alert_label(alert), alert.subject, _alert_when(station, alert)))
                        for alert in board.alerts], _("No alerts"))
        alerts.border_title = _("Alerts") + (f" ({len(board.alerts)})" if board.alerts else "")
        refill(self.query_one("#technicians", DataTable), [
            (t.id, (t.name, " ".join(_hours(station, s, e) for s, e in t.shifts),
                    _technician_now(station, t)))
            for t in board.technicians if t.shifts or t.clocked_in_at
        ], _("No one rostered today"))

    def _alert_label(self, alert: Alert) -> Text:
        style = self.get_component_rich_style
        if alert.kind == "late":
            return Text(_("late {minutes} min").format(minutes=alert.minutes), style=style("alert--late"))
        if alert.kind == "prompt":
            return Text(_("confirm plate"), style=style("alert--prompt"))
        if alert.kind in ("daemon_down", "device_down", "printer_offline", "paper_out", "reconnected", "stuck",
                          "sensor_unknown", CAR_NOT_SENSED, CAR_NOT_BOOKED):
            return Text(_(ALERT_LABELS[alert.kind]), style=style("alert--fault"))
        return Text(_(ALERT_LABELS[alert.kind]))

    def _show_bays(self, station: Station, board: Board) -> None:
        style = self.get_component_rich_style
        rows = []
        for row in board.bays:
            state = Text(bay_state_label(row.state), style=style(f"bay--{row.state}"))
            sensor = Text(sensor_label(row.inside.sensor),
                          style=style("alert--fault") if row.inside.disagreement or row.stuck else "")
            rows.append((row.bay.id, (row.bay.id, row.bay.name, state, sensor, _car_text(station, row))))
        refill(self.query_one("#bays", DataTable), rows)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on an alert: a plate to confirm opens check-in on it, a late car or no-show its booking."""
        key = str(event.row_key.value or "")
        if event.data_table.id == "alerts" and key.startswith(("prompt:", f"{CAR_NOT_BOOKED}:")):
            event.stop()
            event.prevent_default()  # not a booking: StationScreen's handler is not to see it
            # a car the sensor sees and no booking has: check it in (a plate to confirm: on that prompt)
            prompt_id = key.removeprefix("prompt:") if key.startswith("prompt:") else None
            self.app.open_screen(CheckInScreen(prompt_id=prompt_id))  # type: ignore[attr-defined]
        elif event.data_table.id == "alerts" and key.startswith("low_stock:"):
            event.stop()
            event.prevent_default()
            self.app.action_stock()  # type: ignore[attr-defined]

    def code_for_row(self, table: DataTable, key: str) -> str | None:
        if table.id == "alerts":
            return key.removeprefix("booking:") if key.startswith("booking:") else None
        if table.id == "bays" and isinstance(self.data, Board):
            for row in self.data.bays:
                if row.bay.id == key:
                    booking = row.current or next(iter(row.inside.waiting), None) or row.next
                    return booking.code if booking else None
        return super().code_for_row(table, key)



def _state_or_stage(booking) -> str:
    return stage_label(booking.progress) if booking.progress and booking.state.value in ("checked_in", "in_service") \
        else state_label(booking.state)


def _car_text(station: Station, row: BayRow) -> str:
    """Who is in the bay (and until when), who waits for it, who is driving out, or who comes next: a line each."""
    parts = []
    if row.current is not None:
        b = row.current
        parts.append(f"{b.plate} {stage_label(b.progress)} →{clock(station, b.end_at)}")
    elif row.inside.leaving is not None:
        parts.append(_("{plate} leaving").format(plate=row.inside.leaving.plate))
    parts += [_("{plate} waiting").format(plate=b.plate) for b in row.inside.waiting]
    if not parts and row.next is not None:
        parts.append(_("next {time} {plate}").format(time=clock(station, row.next.start_at), plate=row.next.plate))
    return "\n".join(parts)


ALERT_LABELS = {
    CAR_NOT_SENSED: N_("booked in, sensor free"),
    CAR_NOT_BOOKED: N_("car sensed, not booked"),
    "no_show": N_("no-show"),
    "sensor_unknown": N_("sensor silent"),
    "stuck": N_("sensor stuck"),
    "device_down": N_("device down"),
    "printer_offline": N_("printer offline"),
    "paper_out": N_("printer out of paper"),
    "daemon_down": N_("daemon not running"),
    "reconnected": N_("scanner reconnected: ask the customer to rescan if they scanned just now"),
    "low_stock": N_("low stock"),
}


def _alert_key(alert: Alert) -> str:
    if alert.prompt is not None:
        return f"prompt:{alert.prompt.id}"
    if alert.booking is not None:
        return f"booking:{alert.booking.code}"
    return f"{alert.kind}:{alert.subject}"


def _alert_when(station: Station, alert: Alert) -> str:
    if alert.kind in ("late", "no_show", "prompt", CAR_NOT_SENSED):
        return f"{clock(station, alert.at)} {alert.where}".strip()
    if alert.kind == "low_stock":
        return _("{quantity} left").format(quantity=alert.where)
    return _("since {time}").format(time=clock(station, alert.at)) if alert.at else ""


def _hours(station: Station, start, end) -> str:
    """A shift as '07–15', minutes only where they are not on the hour ('07:30–15')."""
    return "–".join(clock(station, t).removesuffix(":00") for t in (start, end))


def _technician_now(station: Station, row) -> str:
    """What the technician is doing (the car first: it is what the attendant looks for), then whether they are in."""
    doing = f"{row.current.plate} {row.current.bay_id}" if row.current is not None else \
        _("{count} booked").format(count=row.assigned)
    if row.clocked_in_at is not None:
        return f"{doing} · " + _("in {time}").format(time=clock(station, row.clocked_in_at))
    return f"{doing} · " + (_("not in") if row.on_shift else _("off"))
