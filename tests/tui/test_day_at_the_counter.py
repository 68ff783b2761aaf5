"""A day at the counter, driven at the terminal under Pilot from the shift's opening to its close.

The attendant 赵小燕 signs in, opens the drawer with a 200.00 float, checks a booked car in
by its plate, takes its payment by WeChat Pay, sells a walk-in wash and two wiper blades paid
by bank card and cash with change, refunds one blade with the manager's PIN, records a
personal e-invoice request, receives stock, records a fleet approval phoned in, and closes the
shift counting exactly what the drawer should hold. Then the Z report, the revenue report and
the receipts agree to the fen, the audit chain verifies, and HQ (over a real Mosquitto) has
every audit entry, in order, with its own copy of the chain verifying.
"""

from __future__ import annotations

from datetime import timedelta

from edge.domain.booking_state import BookingState
from edge.domain.reports import period_of
from edge.services import audit, bookings, inventory, receipts, reports, shifts
from sync.hq import audit as hq_audit
from sync.hq.db import transaction
from tests.stations import NOW, TEST_CONFIG, make_station
from tests.sync.conftest import (  # noqa: F401 (broker, keys, sqlite_hq and runners are fixtures)
    STATION_ID, backlog, broker, hq_rows, keys, runners, sqlite_hq, start_hq, start_station_sync, sync_settings,
    wait_until,
)
from tests.test_enterprise import HEAD, at, fleet_book, make_fleet
from tests.test_staff import ATTENDANT_PIN, MANAGER_PIN, STAFF
from tests.tui.conftest import cells, loaded, text_of, wait_for
from tests.tui.desk import answer_form, notices, open_screen, type_text
from tests.tui.till_sample import GOODS
from tui.app import StationApp
from tui.screens.approvals import ApprovalsScreen
from tui.screens.board import BoardScreen
from tui.screens.checkin import CheckInScreen
from tui.screens.checkout import CheckoutScreen, ReceiptTakenDialog
from tui.screens.form_dialog import FormDialog
from tui.screens.invoice import InvoiceDialog
from tui.screens.manager_pin import ManagerPinDialog
from tui.screens.receipts import ReceiptScreen, ReceiptsScreen
from tui.screens.refund import RefundScreen
from tui.screens.shift import ShiftScreen
from tui.screens.shift_dialogs import CloseShiftDialog, ShiftReportDialog
from tui.screens.stock import StockScreen

PLATE = "沪A11111"
DAY = NOW + timedelta(hours=1, minutes=55)  # 08:55 at the station: the 09:00 car is due


async def _field(pilot, field_id: str, text: str) -> None:
    pilot.app.screen.query_one(f"#{field_id}").focus()
    await type_text(pilot, text)


async def _pay(pilot) -> str:
    await pilot.press("f5")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ReceiptTakenDialog), what="the receipt taken")
    number = pilot.app.screen.number
    await pilot.press("enter")
    await wait_for(pilot, lambda: not isinstance(pilot.app.screen, (ReceiptTakenDialog, CheckoutScreen)))
    return number


async def _to_board(pilot) -> None:
    """Escape back to the board, as the attendant does between customers."""
    for _ in range(5):
        if isinstance(pilot.app.screen, BoardScreen):
            return
        await pilot.press("escape")
        await pilot.pause(0.05)
    assert isinstance(pilot.app.screen, BoardScreen)


async def _checkout(pilot) -> CheckoutScreen:
    await _to_board(pilot)
    await pilot.press("p")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, CheckoutScreen))
    return pilot.app.screen


async def _receipt(pilot, number: str) -> ReceiptScreen:
    app = pilot.app
    await _to_board(pilot)
    await pilot.press("r")
    await wait_for(pilot, lambda: isinstance(app.screen, ReceiptsScreen) and app.screen.loads)
    await type_text(pilot, number)
    await wait_for(pilot, lambda: [row[0] for row in cells(app.screen.query_one("#receipt-list"))] == [number])
    await pilot.press("enter", "enter")
    await wait_for(pilot, lambda: isinstance(app.screen, ReceiptScreen) and app.screen.loads, what="the receipt")
    return app.screen


async def test_a_day_at_the_counter_reconciles_and_reaches_hq(tmp_path, broker, keys, sqlite_hq, runners):
    station = make_station(tmp_path, config=TEST_CONFIG + STAFF + GOODS)
    station.clock = lambda: DAY
    fleet = make_fleet(station)
    fleet_job = fleet_book(station, fleet, ["OIL"], at(11))
    booked = bookings.book(station, services=["OIL"], start=at(9), plate=PLATE, bay_id="L1", now=NOW)

    app = StationApp(station, sign_in=True)
    async with app.run_test(size=(100, 30)) as pilot:
        # sign in, and the drawer opened with its float
        await wait_for(pilot, lambda: app.screen.query("#who"), what="the sign-in screen")
        await type_text(pilot, "赵小燕")
        await pilot.press("enter")
        await type_text(pilot, ATTENDANT_PIN)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, BoardScreen), what="the board")
        await loaded(pilot)
        await open_screen(pilot, "s", ShiftScreen)
        await pilot.press("ctrl+u")
        await type_text(pilot, "200.00")
        await pilot.press("enter")
        await wait_for(pilot, lambda: shifts.current_shift(station) is not None, what="the shift open")

        # the booked car arrives and is checked in by its plate
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, CheckInScreen))
        await type_text(pilot, PLATE)
        await pilot.press("enter")
        await wait_for(pilot, lambda: bookings.booking(station, booked.code).state == BookingState.CHECKED_IN,
                       what="the car checked in")

        # its payment, by WeChat Pay
        await _checkout(pilot)
        await _field(pilot, "booking", booked.code)
        app.screen.query_one("#wechat_pay").focus()
        await pilot.press("enter")  # what is due
        booking_receipt = await _pay(pilot)

        # a walk-in: a wash and two wiper blades, 50.00 by card and the rest in cash from 100.00
        screen = await _checkout(pilot)
        screen.query_one("#services").focus()
        await pilot.press("down", "down", "space")
        await _field(pilot, "goods", "WIPER=2")
        await _field(pilot, "bank_card", "50")
        app.screen.query_one("#cash").focus()
        await pilot.press("enter")  # the rest: 60.00
        await _field(pilot, "tendered", "100")
        walk_in = await _pay(pilot)

        # one blade refunded, in cash, with the manager's PIN
        await _receipt(pilot, walk_in)
        await pilot.press("f")
        await wait_for(pilot, lambda: isinstance(app.screen, RefundScreen))
        await pilot.press("down", "down", "minus", "plus")
        app.screen.query_one("#reason").focus()
        await type_text(pilot, "one blade did not fit")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ManagerPinDialog), what="the manager's PIN")
        await type_text(pilot, "周敏")
        await pilot.press("enter")
        await type_text(pilot, MANAGER_PIN)
        await pilot.press("enter")
        await wait_for(pilot, lambda: receipts.get_receipt(station, walk_in).state == "partly_refunded",
                       what="the refund")

        # a personal e-invoice for the booking's receipt
        await _receipt(pilot, booking_receipt)
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, InvoiceDialog))
        await type_text(pilot, "李娜")
        await pilot.press("enter", "enter", "enter")
        await wait_for(pilot, lambda: receipts.get_receipt(station, booking_receipt).invoice == "requested",
                       what="the invoice request")

        # engine oil delivered
        await _to_board(pilot)
        stock = await open_screen(pilot, "k", StockScreen)
        before = {m.sku: m.on_hand for m in inventory.stock(station)}
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, FormDialog))
        sku = app.screen.answers()["sku"]
        await answer_form(pilot, "6", "delivery 0412")
        await wait_for(pilot, lambda: {m.sku: m.on_hand for m in inventory.stock(station)}[sku] == before[sku] + 6,
                       what="the goods in")
        assert stock.loads

        # the fleet's department head phones in the approval
        await _to_board(pilot)
        await open_screen(pilot, "a", ApprovalsScreen)
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, FormDialog))
        await answer_form(pilot, HEAD)
        await wait_for(pilot, lambda: bookings.booking(station, fleet_job.code).state == BookingState.CONFIRMED,
                       what="the fleet booking approved")

        # the close: the drawer counted in one-yuan units, exactly what it should hold
        expected = shifts.current_shift(station).expected_minor
        assert expected == 20000 + 6000 - 4000  # the float, the walk-in's cash, one blade back in cash
        await _to_board(pilot)
        await open_screen(pilot, "s", ShiftScreen)
        await pilot.press("z")
        await wait_for(pilot, lambda: isinstance(app.screen, CloseShiftDialog), what="the count")
        for _ in range(5):
            await pilot.press("enter")  # past 100, 50, 20, 10 and 5 to the ones
        await type_text(pilot, str(expected // 100))
        for _ in range(3):
            await pilot.press("enter")  # past 0.5 and 0.1 to the note
        await type_text(pilot, "end of day")
        await pilot.press("enter", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ShiftReportDialog), what="the Z report")
        assert not [n for n in notices(app) if "Not done" in n]
        z_report = text_of(app.screen.query_one("#report-figures"))
        assert "Variance" in z_report and "end of day" in z_report

    # the Z report, the revenue report and the receipts agree to the fen
    [closed] = shifts.list_shifts(station)
    assert (closed.expected_minor, closed.counted_minor, closed.variance_minor) == (expected, expected, 0)
    report = reports.station_report(station, period_of("day", station.local(DAY).date()), ["revenue"])
    rows = {(row["by"], row["key"]): row["revenue_minor"] for row in report.sections[0].records()}
    day = receipts.list_receipts(station, day=station.local(DAY).date())
    kept = sum(receipts.get_receipt(station, r.number).total_minor
               - receipts.get_receipt(station, r.number).refunded_minor for r in day)
    assert rows[("net_revenue", "all")] == kept == 29900 + 3000 + 8000 - 4000
    assert rows[("reconciliation", "difference")] == 0
    assert rows[("payment_method", "cash")] == closed.expected_minor - closed.float_minor
    assert rows[("payment_method", "wechat_pay")] == 29900 and rows[("payment_method", "bank_card")] == 5000

    # every action on the trail, the chain whole, and HQ holding all of it
    count, broken = audit.verify(station)
    assert broken is None
    actions = {entry.action for entry in audit.entries(station, limit=1000)}
    assert {"staff.sign_in", "shift.open", "booking.checked_in", "sale", "refund", "shift.close"} <= actions
    start_hq(runners, sqlite_hq, keys, broker)
    start_station_sync(runners, station, sync_settings(broker, keys))
    wait_until(lambda: backlog(station) == 0, what="every event acknowledged by HQ", timeout=60)
    held = hq_rows(sqlite_hq, "SELECT count(*) FROM hq_audit_entry WHERE station_id = :s", s=STATION_ID)[0][0]
    assert held == count
    with transaction(sqlite_hq) as session:
        assert hq_audit.verify_station(session, STATION_ID) == (count, None)
