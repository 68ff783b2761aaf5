"""Disruption offers: bookings the station cannot serve as planned, the offers made to each customer, their choice.

The desk calls the customer, reads out the offers of the highlighted booking (another bay at
the same time, a neighbouring station, a compensation coupon, or waiting) and records the one
they take: Enter on it, then y. The booking is moved, cancelled or kept accordingly.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable

from edge.domain.delivery import WAIT, DisruptionCause, Offer, OfferKind
from edge.services import disruptions
from edge.services.disruptions import DisruptionRecord
from edge.services.station import Station
from tui.formatting import when
from tui.i18n import N_, _
from tui.screens.base import StationScreen, cursor_key, refill
from tui.screens.dialogs import ConfirmDialog
from tui.widgets.common.fitted_table import Column, FittedTable

DISRUPTION_COLUMNS = (Column(N_("Booking")), Column(N_("Plate")), Column(N_("When")), Column(N_("Why"), shrink_to=8),
                      Column(N_("Offers")))
OFFER_COLUMNS = (Column(N_("Choice")), Column(N_("What the customer gets"), shrink_to=10))
CAUSE_LABELS = {
    DisruptionCause.BAY_OUT_OF_SERVICE: N_("bay {ref} out of service"),
    DisruptionCause.TECHNICIAN_ABSENT: N_("technician {ref} absent"),
}
CHOICE_LABELS = {
    OfferKind.OTHER_BAY: N_("other bay"),
    OfferKind.NEIGHBOUR: N_("neighbour"),
    OfferKind.COUPON: N_("coupon"),
    WAIT: N_("wait"),
}


def offer_text(offer: Offer | None) -> str:
    """What taking the offer means, in the customer's terms (None: waiting)."""
    if offer is None:
        return _("keep the booking as it is and wait")
    if offer.kind == OfferKind.OTHER_BAY:
        text = _("same time in bay {bay}").format(bay=offer.bay_id)
        return text + (_(" with {technician}").format(technician=offer.technician_id) if offer.technician_id else "")
    if offer.kind == OfferKind.NEIGHBOUR:
        return _("rebooked at {name}, {km} km away (cancelled here)").format(
            name=offer.neighbour_name or offer.neighbour_id, km=f"{offer.distance_km:g}" if offer.distance_km else "?")
    return _("cancelled, with a compensation coupon ({template})").format(template=offer.coupon_template)


class DisruptionsScreen(StationScreen):
    TITLE = N_("Disruption offers")
    AUTO_FOCUS = "#disruptions"
    BINDINGS = [
        Binding("y", "take", N_("Customer takes it")),
        Binding("escape", "back", N_("Back")),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.code: str | None = None  # the highlighted booking

    def compose_body(self) -> ComposeResult:
        with Vertical(id="disruptions-screen"):
            table = FittedTable(DISRUPTION_COLUMNS, id="disruptions")
            table.border_title = _("Bookings the station cannot serve as planned")
            yield table
            offers = FittedTable(OFFER_COLUMNS, id="offers")
            offers.border_title = _("Offers")
            yield offers

    def load(self, station: Station) -> list[DisruptionRecord]:
        """The open offers, the customer due soonest first: the first to call."""
        return sorted(disruptions.open_disruptions(station), key=lambda d: (d.booking.start_at, d.booking.code))

    def show(self, records: list[DisruptionRecord]) -> None:
        station = self.station
        refill(self.query_one("#disruptions", DataTable), [
            (d.booking.code, (d.booking.code, d.booking.plate, when(station, d.booking.start_at),
                              _(CAUSE_LABELS[d.cause]).format(ref=d.cause_ref), str(len(d.offers))))
            for d in records
        ], _("No offers wait for an answer"))
        if self.code not in {d.booking.code for d in records}:
            self.code = records[0].booking.code if records else None
        self._show_offers()

    def _record(self) -> DisruptionRecord | None:
        return next((d for d in self.data or () if d.booking.code == self.code), None)

    def _show_offers(self) -> None:
        record = self._record()
        table = self.query_one("#offers", DataTable)
        table.border_title = _("Offers") + (f" · {record.booking.code} {record.booking.plate}" if record else "")
        rows = [(o.choice, (_(CHOICE_LABELS[o.kind]), offer_text(o))) for o in record.offers] if record else []
        if record is not None:
            rows.append((WAIT, (_(CHOICE_LABELS[WAIT]), offer_text(None))))
        refill(table, rows)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "disruptions":
            code = cursor_key(event.data_table)  # where the cursor is now, after any refill
            if code != self.code:
                self.code = code
                self._show_offers()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a booking goes to its offers; Enter on an offer asks to record it."""
        event.stop()
        if event.data_table.id == "disruptions":
            self.query_one("#offers", DataTable).focus()
        else:
            self.action_take()

    def action_take(self) -> None:
        record = self._record()
        offers = self.query_one("#offers", DataTable)
        if record is None or not offers.row_count:
            return
        choice = cursor_key(offers)
        offer = next((o for o in record.offers if o.choice == choice), None)

        def answered(yes: bool | None) -> None:
            if yes:
                self.call("resolve", disruptions.resolve_disruption, self.station, record.booking.code, choice)

        self.app.push_screen(ConfirmDialog(_("{plate} ({code}): {offer}?").format(
            plate=record.booking.plate, code=record.booking.code, offer=offer_text(offer))), answered)

    def done(self, request: str, result: Any) -> None:
        record: DisruptionRecord = result
        text = _("{code}: the customer's choice is recorded").format(code=record.booking.code)
        if record.coupon_code:
            text += " · " + _("coupon {coupon}").format(coupon=record.coupon_code)
        self.app.notify(text)
        self.reload()
