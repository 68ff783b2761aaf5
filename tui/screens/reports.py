"""Reports: the station report of a day, a week or a month, a section at a time, money in the station's currency.

1 / 2 / 3 pick the period (day, week, month) that contains the day shown; [ and ] step to the
previous or next one; Tab and Shift+Tab go through the sections (bookings, no-shows, waits,
bay use, technicians, revenue, top services, members).
"""

from __future__ import annotations

from datetime import timedelta

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Static

from edge.domain.booking_state import BookingState
from edge.domain.reports import ALL, NOT_RECORDED, Kind, Period, Report, Section, format_figure, period_of
from edge.services import reports
from edge.services.station import Station
from tui.formatting import channel_label, service_name, state_label
from tui.i18n import N_, _
from tui.screens.base import StationScreen
from tui.widgets.common.fitted_table import Column, FittedTable

SECTION_LABELS = {
    "bookings": N_("Bookings"),
    "no_show": N_("No-shows"),
    "wait": N_("Waits"),
    "utilisation": N_("Bay use"),
    "technicians": N_("Technicians"),
    "revenue": N_("Revenue"),
    "top_services": N_("Top services"),
    "members": N_("Members"),
}
PERIOD_LABELS = {"day": N_("day"), "week": N_("week"), "month": N_("month")}
# the report's column headings (its own English labels) in the UI's language
COLUMN_LABELS = {
    "channel": N_("channel"), "total": N_("total"), "due": N_("due"), "arrived": N_("arrived"),
    "no-show": N_("no-show"), "rate": N_("rate"), "bay": N_("bay"), "waited": N_("waited"),
    "avg wait min": N_("avg wait min"), "max wait min": N_("max wait min"), "served": N_("served"),
    "avg service min": N_("avg service min"), "kind": N_("kind"), "open cells": N_("open cells"),
    "claimed cells": N_("claimed cells"), "utilisation": N_("utilisation"), "by": N_("by"), "key": N_("key"),
    "count": N_("count"), "revenue": N_("revenue"), "rank": N_("rank"), "code": N_("code"), "name": N_("name"),
    "category": N_("category"), "technician": N_("technician"), "jobs": N_("jobs"), "services": N_("services"),
    "hours": N_("hours"), "rating": N_("rating"), "ratings": N_("ratings"), "tier": N_("tier"),
    "members": N_("members"), "new": N_("new"),
}
# words the report writes in its rows
VALUE_LABELS = {ALL: N_("all"), NOT_RECORDED: N_("not recorded yet"), "category": N_("category"),
                "payment_method": N_("payment method"), "channel": N_("channel"), "total": N_("total"),
                "wash": N_("wash"), "lift": N_("lift"), "maintenance": N_("maintenance"),
                "cash": N_("cash"), "bank_card": N_("bank card"), "wechat_pay": N_("WeChat Pay"),
                "alipay": N_("Alipay"), "enterprise": N_("enterprise account"),
                # the revenue section's rows, read from the money ledger
                "revenue": N_("revenue"), "package": N_("package"), "goods": N_("goods"), "forfeit": N_("forfeit"),
                "discount": N_("discount"), "tier": N_("tier"), "coupon": N_("coupon"),
                "price_override": N_("price override"), "refunds": N_("refunds"), "net_revenue": N_("net revenue"),
                "top_up_method": N_("top-up method"), "deposit_method": N_("deposit method"), "drawer": N_("drawer"),
                "points": N_("points"), "redeemed": N_("redeemed"), "prepaid": N_("prepaid"),
                "topped_up": N_("topped up"), "spent": N_("spent"), "deposits": N_("deposits"), "held": N_("held"),
                "released": N_("released"), "put_in": N_("put in"), "taken_out": N_("taken out"),
                "adjustments": N_("adjustments"), "reconciliation": N_("reconciliation"),
                "difference": N_("difference")}
# what each section's note says (the report's own note is in English)
SECTION_NOTES = {
    "utilisation": N_("a cell is one {minutes}-minute slot of the opening hours"),
    "revenue": N_("from the money ledger: revenue at list prices less discounts and refunds; reconciliation is always 0"),
    "members": N_("members: all enrolled now; new: enrolled in the period; served: with a completed booking in it"),
}
BOOKING_STATES = frozenset(str(state) for state in BookingState)


class ReportsScreen(StationScreen):
    TITLE = N_("Reports")
    AUTO_FOCUS = "#report-table"
    BINDINGS = [
        Binding("1", "period('day')", N_("Day")),
        Binding("2", "period('week')", N_("Week")),
        Binding("3", "period('month')", N_("Month")),
        Binding("left_square_bracket", "step(-1)", N_("Previous")),
        Binding("right_square_bracket", "step(1)", N_("Next")),
        Binding("tab", "section(1)", N_("Section"), priority=True),
        Binding("shift+tab", "section(-1)", N_("Section"), show=False, priority=True),
        Binding("escape", "back", N_("Back")),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.period: Period | None = None  # the day of the station's clock until a key moves it
        self.section = 0

    def compose_body(self) -> ComposeResult:
        with Vertical(id="reports-screen"):
            yield Static(id="report-period")
            yield Static(id="report-tabs")
            yield FittedTable((), id="report-table")
            yield Static(id="report-notes")

    def load(self, station: Station) -> Report:
        period = self.period or period_of("day", station.local(station.clock()).date())
        return reports.station_report(station, period)

    def show(self, report: Report) -> None:
        self.period = report.period
        period = report.period
        span = "" if period.first == period.last else f"{period.first.isoformat()} – {period.last.isoformat()}"
        self.query_one("#report-period", Static).update(
            Text.assemble((_(PERIOD_LABELS[period.kind]), "bold"), f"  {period.label}  ", (span, "dim")))
        tabs = Text()
        for index, section in enumerate(report.sections):
            if index:
                tabs.append(" · ", style="dim")
            tabs.append(_(SECTION_LABELS[section.key]), style="reverse bold" if index == self.section else "")
        self.query_one("#report-tabs", Static).update(tabs)
        self._show_section(report, report.sections[self.section % len(report.sections)])

    def _show_section(self, report: Report, section: Section) -> None:
        table = self.query_one("#report-table", FittedTable)
        table.specs = tuple(Column(_column_label(c.label), shrink_to=6 if c.kind == Kind.TEXT else None)
                            for c in section.columns)
        table.border_title = _(SECTION_LABELS[section.key])
        rows = [dict(zip((c.name for c in section.columns), row)) for row in section.rows]
        if section.key == "top_services":  # the service by its name in the UI's language
            rows = [{**row, "name": service_name(self.station, row["code"])} for row in rows]
        table.show_rows([(str(index), tuple(_cell(report, c.kind, row[c.name]) for c in section.columns))
                         for index, row in enumerate(rows)], _("Nothing in this period"))
        note = _(SECTION_NOTES[section.key]) if section.key in SECTION_NOTES and section.notes else ""
        self.query_one("#report-notes", Static).update(
            note.format(minutes=self.station.settings.station.slot_minutes))

    def action_period(self, kind: str) -> None:
        if self.period is not None:
            self.period = period_of(kind, self.period.first)
            self.reload()

    def action_step(self, direction: int) -> None:
        if self.period is not None:
            day = self.period.first - timedelta(days=1) if direction < 0 else self.period.last + timedelta(days=1)
            self.period = period_of(self.period.kind, day)
            self.reload()

    def action_section(self, step: int) -> None:
        self.section = (self.section + step) % len(reports.SECTIONS)
        if self.data is not None:
            self.show(self.data)


def _column_label(label: str) -> str:
    if label.replace(" ", "_") in BOOKING_STATES:  # a column per booking state, headed by its name
        return state_label(label.replace(" ", "_"))
    return _(COLUMN_LABELS[label]) if label in COLUMN_LABELS else label


def _cell(report: Report, kind: Kind, value: object) -> str:
    """A figure as people read it; the report's own words in the UI's language."""
    if value is None:
        return "—"
    if kind != Kind.TEXT:
        return format_figure(kind, value, report.currency, report.currency_digits)
    text = str(value)
    if not text:
        return ""
    if text in VALUE_LABELS:
        return _(VALUE_LABELS[text])
    return channel_label(text)
