"""The board: every bay's live state, today's timeline and bookings, next arrivals, alerts, roster, sync."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable

from edge.services.station import Station
from tui.board_data import Alert, Board, load_board
from tui.formatting import (
    bay_state_label, booking_services, clock, link_label, minutes_text, stage_label, state_label,
)
from tui.i18n import N_, _
from tui.screens.base import StationScreen, refill
from tui.screens.checkin import CheckInScreen
from tui.widgets.board.timeline import Timeline


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
                yield self._table("bays", N_("Bays"), (N_("Bay"), N_("State"), N_("Booking")))
                timeline = Timeline(id="timeline")
                timeline.border_title = _("Today")
                yield timeline
                yield self._table("today", N_("Today's bookings"),
                                  (N_("Time"), N_("Plate"), N_("Services"), N_("Bay"), N_("State"), N_("Code")),
                                  bookings=True)
            with Vertical(id="board-right"):
                yield self._table("arrivals", N_("Next arrivals"), (N_("Time"), N_("Plate"), N_("Services"), N_("Bay")),
                                  bookings=True)
                yield self._table("alerts", N_("Alerts"), (N_("Alert"), N_("What"), N_("When")))
                yield self._table("technicians", N_("Technicians on shift"), (N_("Name"), N_("Shift"), N_("Now")))

    @staticmethod
    def _table(name: str, title: str, columns: tuple[str, ...], *, bookings: bool = False) -> DataTable:
        table = DataTable(id=name, cursor_type="row", zebra_stripes=True, classes="bookings" if bookings else "")
        table.border_title = _(title)
        table.add_columns(*(_(c) for c in columns))
        return table

    def load(self, station: Station) -> Board:
        return load_board(station)

    def title_note(self) -> str:
        board: Board | None = self.data
        if board is None:
            return super().title_note()
        sync = board.sync
        ack = _("never") if sync.last_ack_age is None else minutes_text(int(sync.last_ack_age.total_seconds() // 60))
        text = _("HQ {link} · {count} queued · last ack {age}").format(
            link=link_label(sync.link), count=sync.backlog, age=ack)
        note = super().title_note()
        return f"{note}  {text}" if note else text

    def show(self, board: Board) -> None:
        station = self.station
        self.query_one(Timeline).show(station, board)
        self._show_bays(station, board)
        refill(self.query_one("#today", DataTable), [
            (b.code, (clock(station, b.start_at), b.plate, booking_services(station, b), b.bay_id,
                      _state_or_stage(b), b.code))
            for b in board.bookings
        ], _("No bookings today"))
        refill(self.query_one("#arrivals", DataTable), [
            (b.code, (clock(station, b.start_at), b.plate, booking_services(station, b), b.bay_id))
            for b in board.arrivals
        ], _("No one expected"))
        alerts = self.query_one("#alerts", DataTable)
        refill(alerts, [(_alert_key(alert), (self._alert_label(alert), alert.subject, _alert_when(station, alert)))
                        for alert in board.alerts], _("No alerts"))
        alerts.border_title = _("Alerts") + (f" ({len(board.alerts)})" if board.alerts else "")
        refill(self.query_one("#technicians", DataTable), [
            (t.id, (t.name, " ".join(f"{clock(station, s)}–{clock(station, e)}" for s, e in t.shifts),
                    _technician_now(station, t)))
            for t in board.technicians if t.shifts or t.clocked_in_at
        ], _("No one rostered today"))

    def _alert_label(self, alert: Alert) -> Text:
        style = self.get_component_rich_style
        if alert.kind == "late":
            return Text(_("late {minutes} min").format(minutes=alert.minutes), style=style("alert--late"))
        if alert.kind == "prompt":
            return Text(_("confirm plate"), style=style("alert--prompt"))
        if alert.kind in ("daemon_down", "device_down", "reconnected", "stuck", "sensor_unknown"):
            return Text(_(ALERT_LABELS[alert.kind]), style=style("alert--fault"))
        return Text(_(ALERT_LABELS[alert.kind]))

    def _show_bays(self, station: Station, board: Board) -> None:
        rows = []
        for row in board.bays:
            state = Text(bay_state_label(row.state), style=self.get_component_rich_style(f"bay--{row.state}"))
            if row.stuck:
                state.append(" " + _("stuck?"), style=self.get_component_rich_style("alert--fault"))
            if row.current is not None:
                b = row.current
                what = f"{b.plate} {stage_label(b.progress) or state_label(b.state)} →{clock(station, b.end_at)}"
            elif row.next is not None:
                what = _("next {time} {plate}").format(time=clock(station, row.next.start_at), plate=row.next.plate)
            else:
                what = ""
            rows.append((row.bay.id, (f"{row.bay.id} {row.bay.name}", state, what)))
        refill(self.query_one("#bays", DataTable), rows)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on an alert: a plate to confirm opens check-in on it, a late car or no-show its booking."""
        key = str(event.row_key.value or "")
        if event.data_table.id == "alerts" and key.startswith("prompt:"):
            event.stop()
            event.prevent_default()  # not a booking: StationScreen's handler is not to see it
            self.app.open_screen(CheckInScreen(prompt_id=key.removeprefix("prompt:")))  # type: ignore[attr-defined]

    def code_for_row(self, table: DataTable, key: str) -> str | None:
        if table.id == "alerts":
            return key.removeprefix("booking:") if key.startswith("booking:") else None
        if table.id == "bays" and isinstance(self.data, Board):
            for row in self.data.bays:
                if row.bay.id == key:
                    booking = row.current or row.next
                    return booking.code if booking else None
        return super().code_for_row(table, key)



def _state_or_stage(booking) -> str:
    return stage_label(booking.progress) if booking.progress and booking.state.value in ("checked_in", "in_service") \
        else state_label(booking.state)


ALERT_LABELS = {
    "no_show": N_("no-show"),
    "sensor_unknown": N_("sensor silent"),
    "stuck": N_("sensor stuck"),
    "device_down": N_("device down"),
    "daemon_down": N_("daemon not running"),
    "reconnected": N_("scanner reconnected: ask the customer to rescan if they scanned just now"),
}


def _alert_key(alert: Alert) -> str:
    if alert.prompt is not None:
        return f"prompt:{alert.prompt.id}"
    if alert.booking is not None:
        return f"booking:{alert.booking.code}"
    return f"{alert.kind}:{alert.subject}"


def _alert_when(station: Station, alert: Alert) -> str:
    if alert.kind in ("late", "no_show", "prompt"):
        return f"{clock(station, alert.at)} {alert.where}".strip()
    return _("since {time}").format(time=clock(station, alert.at)) if alert.at else ""


def _technician_now(station: Station, row) -> str:
    doing = f"{row.current.plate} {row.current.bay_id}" if row.current is not None else \
        _("{count} booked").format(count=row.assigned)
    if row.clocked_in_at is not None:
        return _("in {time}").format(time=clock(station, row.clocked_in_at)) + f" · {doing}"
    if row.on_shift:
        return _("not in") + f" · {doing}"
    return _("off") + f" · {doing}"
