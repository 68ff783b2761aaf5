"""The checkout screen as the attendant drives it: a walk-in sale or a booking, priced live, a split payment, change."""

from __future__ import annotations

from edge.domain.booking_state import Progress
from tests.stations import open_drawer
from tests.tui.conftest import loaded, text_of, wait_for
from tui.app import StationApp
from tui.screens.booking_detail import BookingDetailScreen
from tui.screens.dialogs import ConfirmDialog
from tui.screens.checkout import CheckoutScreen, ReceiptTakenDialog


async def type_in(pilot, field: str, text: str) -> None:
    pilot.app.screen.query_one(f"#{field}").focus()
    for key in text:
        await pilot.press(key)


async def priced(pilot, what: str) -> str:
    """Wait until the receipt panel says `what`; its text."""
    screen = pilot.app.screen
    await wait_for(pilot, lambda: what in text_of(screen.query_one("#receipt")), what=what)
    return text_of(screen.query_one("#receipt"))


async def wash_at_checkout(pilot) -> CheckoutScreen:
    """From the board: `p`, the wash ticked (the third service), priced."""
    app = pilot.app
    await loaded(pilot)
    await pilot.press("p")
    await wait_for(pilot, lambda: isinstance(app.screen, CheckoutScreen))
    app.screen.query_one("#services").focus()
    await pilot.press("down", "down", "space")
    await priced(pilot, "Amount due")
    return app.screen


async def test_a_walk_in_wash_paid_by_card_and_cash_gives_change(busy_station):
    open_drawer(busy_station)
    app = StationApp(busy_station)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await wash_at_checkout(pilot)
        receipt = await priced(pilot, "Amount due")
        assert "Wash" in receipt and "30.00 CNY" in receipt
        await type_in(pilot, "bank_card", "10")
        await pilot.press("shift+tab", "enter")  # Enter in the empty cash field above: what is left, 20.00
        assert screen.query_one("#cash").value == "20.00"
        await type_in(pilot, "tendered", "50")
        paying = text_of(screen.query_one("#paying"))
        assert "Change due" in paying and "30.00 CNY" in paying
        await pilot.press("f5")
        await wait_for(pilot, lambda: isinstance(app.screen, ReceiptTakenDialog), what="the receipt")
        dialog = app.screen
        assert dialog.number.startswith("TST-001-261123-")
        assert dialog.change == "30.00 CNY"
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, (CheckoutScreen, ReceiptTakenDialog)))


async def test_the_members_tier_and_a_refusal_show_on_the_receipt(busy_station):
    app = StationApp(busy_station)
    async with app.run_test(size=(80, 24)) as pilot:
        await wash_at_checkout(pilot)
        await type_in(pilot, "customer", "沪F33333")
        receipt = await priced(pilot, "tier gold")
        assert "张伟" in receipt
        await type_in(pilot, "points", "500")
        receipt = await priced(pilot, "Refused")
        await pilot.press("f5")
        assert isinstance(app.screen, CheckoutScreen)  # nothing taken


async def test_payments_must_add_up_before_f5_takes_them(busy_station):
    app = StationApp(busy_station)
    async with app.run_test(size=(80, 24)) as pilot:
        await wash_at_checkout(pilot)
        await type_in(pilot, "alipay", "10")
        assert "Still to pay" in text_of(app.screen.query_one("#paying"))
        await pilot.press("f5")
        await wait_for(pilot, lambda: app._notifications, what="the refusal")
        assert "add up to 10.00 CNY; 30.00 CNY is due" in list(app._notifications)[-1].message
        assert isinstance(app.screen, CheckoutScreen)


async def test_a_booking_completed_is_offered_for_payment_and_paid_by_wechat(busy_station):
    app = StationApp(busy_station)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        app.open_booking("BK0003")  # the oil change in L1, in service
        await wait_for(pilot, lambda: isinstance(app.screen, BookingDetailScreen) and app.screen.loads)
        detail = app.screen
        while detail.booking.progress != Progress.DONE:
            options = detail.query_one("#stages")
            offered = [options.get_option_at_index(i).id for i in range(options.option_count)]
            stage = offered[-1]
            detail.query_one("#stages").focus()
            await pilot.press("end", "enter")
            await wait_for(pilot, lambda: detail.booking.progress == stage, what=f"stage {stage}")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the offer to take payment")
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, CheckoutScreen))
        receipt = await priced(pilot, "Amount due")
        assert "Booking BK0003 · 沪B66666" in receipt and "299.00 CNY" in receipt
        app.screen.query_one("#wechat_pay").focus()
        await pilot.press("enter")
        await pilot.press("f5")
        await wait_for(pilot, lambda: isinstance(app.screen, ReceiptTakenDialog), what="the receipt")
        assert app.screen.change == "0.00 CNY"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is detail)


async def test_cash_without_an_open_drawer_is_refused_and_nothing_is_taken(busy_station):
    app = StationApp(busy_station)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await wash_at_checkout(pilot)
        screen.query_one("#cash").focus()
        await pilot.press("enter", "f5")
        await wait_for(pilot, lambda: app._notifications, what="the refusal")
        assert "shift" in list(app._notifications)[-1].message
        assert app.screen is screen and not screen._paying


async def test_dollar_on_a_booking_opens_its_checkout(busy_station):
    app = StationApp(busy_station)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        app.open_booking("BK0001")  # the wash done at 08:55, not paid yet
        await wait_for(pilot, lambda: isinstance(app.screen, BookingDetailScreen) and app.screen.loads)
        await pilot.press("dollar_sign")
        await wait_for(pilot, lambda: isinstance(app.screen, CheckoutScreen))
        assert app.screen.sale.booking == "BK0001"
        receipt = await priced(pilot, "Amount due")
        assert "Booking BK0001 · 沪G44444" in receipt and "30.00 CNY" in receipt


async def test_switching_language_keeps_the_sale_and_the_payments(busy_station):
    app = StationApp(busy_station)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await wash_at_checkout(pilot)
        await type_in(pilot, "alipay", "10")
        screen.query_one("#services").focus()
        await pilot.press("l")
        await wait_for(pilot, lambda: "应付金额" in text_of(screen.query_one("#receipt")), what="the receipt in Chinese")
        assert screen.query_one("#alipay").value == "10"
        assert screen.query_one("#services").selected == ["WASH"]
        assert "尚欠" in text_of(screen.query_one("#paying"))
