"""Property test: whatever a day at the desk brings, the money ledger reconciles to the fen.

Hypothesis drives random days against a real station database: bookings paid (with their
deposits applied), walk-in sales with goods, a gold member's tier discount, coupons, points
and prepaid; top-ups; deposits taken, forfeited on a no-show or a late cancellation and
returned on a timely one; partial and whole refunds; cash put in and taken out of the
drawer. After every step:
  * the revenue report's lines satisfy the identity of docs/money.md exactly, and its
    reconciliation line is 0;
  * every receipt equals its postings (total = points + prepaid + deposit + payments, and its
    lines' revenue less discounts, after refunds, is what the customer kept);
  * the drawer's cash (float + cash postings of the shift) equals the cash the test saw
    change hands;
  * every ledger transaction balances.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from edge.domain.money_ledger import Account, Kind, Posting
from edge.domain.reports import period_of
from edge.errors import BookingError
from edge.services import bookings, checkout, ledgers, loyalty, members, money_ledger, receipts
from edge.services.reports import station_report
from edge.services.station import open_station
from tests.stations import MANAGER, NOW, make_station, open_drawer
from tests.test_checkout import CONFIG, GOODS

TZ = ZoneInfo("Asia/Shanghai")
FLOAT = 20_000
IDENTITY_CONFIG = CONFIG + GOODS + "\n[credit]\ndeposit_forfeit_pct = 60\n"
METHODS = ("cash", "bank_card", "wechat_pay", "alipay")
REGULAR, GOLD = "13800138000", "13900139000"

_TEMPLATE: Path | None = None


def template_dir() -> Path:
    """A station with two members (a regular and a gold one, with points and prepaid) and the
    drawer open with its float: copied for every example."""
    global _TEMPLATE
    if _TEMPLATE is None:
        root = Path(tempfile.mkdtemp(prefix="identity-template-"))
        station = make_station(root, config=IDENTITY_CONFIG)
        for phone, tier in ((REGULAR, "regular"), (GOLD, "gold")):
            member = members.enroll(station, phone=phone, tier=tier, now=NOW).member
            with station.store.write() as conn:
                ledgers.adjust_points(conn, station, member_id=member.id, points=3000, reason="welcome", now=NOW)
        open_drawer(station, float_minor=FLOAT, now=NOW)
        station.store.close()
        _TEMPLATE = root / "data"
    return _TEMPLATE


def slot(n: int) -> datetime:
    """The n-th wash slot from tomorrow 08:00, twenty a day."""
    day = date(2026, 11, 24) + timedelta(days=n // 20)
    return datetime(day.year, day.month, day.day, 8, tzinfo=TZ) + timedelta(minutes=30 * (n % 20))


class LedgerDay(RuleBasedStateMachine):
    receipts_taken = Bundle("receipts")
    booked = Bundle("bookings")

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="identity-"))
        shutil.copytree(template_dir(), self.dir / "data")
        self.now = NOW
        self.station = open_station(self.dir / "data", clock=lambda: self.now)
        self.cash = FLOAT  # what the drawer should hold, from what the test saw change hands
        self.bookings = 0
        self.deposits: dict[str, tuple[int, str]] = {}  # booking code -> deposit held and its method

    def teardown(self) -> None:
        self.station.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _tick(self) -> datetime:
        self.now += timedelta(minutes=3)
        return self.now

    def _cash(self, method: str, amount: int) -> None:
        if method == "cash":
            self.cash += amount

    def _pay(self, due: int, method: str, split: bool) -> list[tuple[str, int]]:
        """Pay `due` by `method`, half of it by card when `split`."""
        if not due:
            return []
        if split and due > 1 and method != "bank_card":
            return [(method, due - due // 2), ("bank_card", due // 2)]
        return [(method, due)]

    # -- sales ----------------------------------------------------------------------

    @rule(target=receipts_taken, services=st.lists(st.sampled_from(["WASH", "OIL", "TYRE", "PKG"]), max_size=3),
          fluid=st.integers(0, 3), who=st.sampled_from([None, REGULAR, GOLD]), coupon=st.booleans(),
          points=st.sampled_from([0, 100, 500]), prepaid=st.integers(0, 8_000), method=st.sampled_from(METHODS),
          split=st.booleans(), tendered_extra=st.sampled_from([None, 0, 50, 10_000]))
    def walk_in(self, services, fluid, who, coupon, points, prepaid, method, split, tendered_extra):
        goods = [("FLUID", fluid)] if fluid else []
        if not services and not goods:
            services = ["WASH"]
        code = None
        if coupon:
            with self.station.store.write() as conn:
                code = loyalty.issue_coupon(conn, self.station, template_id="TENOFF", member_id=None,
                                            source="manual", now=self.now)
        points, prepaid = (points, prepaid) if who else (0, 0)
        if who:
            member_id = members.lookup(self.station, who).member.id
            with self.station.store.read() as conn:
                prepaid = min(prepaid, ledgers.prepaid_balance(conn, member_id))
        try:
            quote = checkout.quote(self.station, services=services, goods=goods, phone=who, coupon_code=code,
                                   points=points, prepaid_minor=prepaid, now=self._tick())
            pays = self._pay(quote.remainder_minor, method, split)
            cash_paid = sum(a for m, a in pays if m == "cash")
            tendered = cash_paid + tendered_extra if cash_paid and tendered_extra is not None else None
            result = checkout.checkout(self.station, services=services, goods=goods, phone=who, coupon_code=code,
                                       points=points, prepaid_minor=prepaid, payments=pays,
                                       cash_tendered_minor=tendered, now=self.now)
        except BookingError:
            return "none"  # a coupon whose minimum is not met, stock run out: nothing was written
        assert result.change_minor == (tendered - cash_paid if tendered is not None else 0)
        for pay_method, amount in pays:
            self._cash(pay_method, amount)
        return result.number

    @rule(target=booked, who=st.sampled_from([None, REGULAR]), deposit=st.sampled_from([0, 0, 2_000, 5_000]),
          method=st.sampled_from(METHODS))
    def book(self, who, deposit, method):
        n, self.bookings = self.bookings, self.bookings + 1
        try:
            booking = bookings.book(self.station, services=["WASH"], start=slot(n), plate=f"沪A{n:05d}", phone=who,
                                    deposit_minor=deposit, deposit_method=method, now=self._tick())
        except BookingError:
            return "none"  # no-shows lowered the member's credit below what this booking needs
        if deposit:
            self.deposits[booking.code] = (deposit, method)
            self._cash(method, deposit)
        return booking.code

    @rule(target=receipts_taken, code=booked, method=st.sampled_from(METHODS))
    def pay_booking(self, code, method):
        try:
            quote = checkout.quote(self.station, booking_ref=code, now=self._tick())
            result = checkout.checkout(self.station, booking_ref=code, payments=self._pay(quote.remainder_minor,
                                                                                           method, False),
                                       now=self.now)
        except BookingError:
            return "none"  # cancelled, a no-show, or paid already
        self._cash(method, result.receipt.remainder_minor)
        held, held_method = self.deposits.pop(code, (0, ""))
        self._cash(held_method, -(held - result.receipt.deposit_minor))  # what the bill did not need goes back
        return result.number

    # -- deposits -------------------------------------------------------------------

    @rule(code=booked)
    def no_show(self, code):
        if code == "none":
            return
        booking = bookings.booking(self.station, code)
        try:
            bookings.mark_no_show(self.station, code, now=booking.start_at + timedelta(minutes=31))
        except BookingError:
            return
        held, method = self.deposits.pop(code, (0, ""))
        self._cash(method, -(held - held * 60 // 100))

    @rule(code=booked, late=st.booleans())
    def cancel(self, code, late):
        if code == "none":
            return
        booking = bookings.booking(self.station, code)
        at = booking.start_at - (timedelta(minutes=30) if late else timedelta(hours=20))
        try:
            bookings.cancel(self.station, code, reason="customer called", now=max(at, self.now))
        except BookingError:
            return
        held, method = self.deposits.pop(code, (0, ""))
        kept = held * 60 // 100 if booking.start_at - max(at, self.now) < timedelta(hours=2) else 0
        self._cash(method, -(held - kept))

    # -- refunds, top-ups, the drawer -----------------------------------------------

    @rule(number=receipts_taken, whole=st.booleans(), data=st.data())
    def refund(self, number, whole, data):
        if number == "none":
            return
        view = receipts.get_receipt(self.station, number)
        left = [(line.line_code, line.quantity - line.refunded_quantity) for line in view.lines
                if line.quantity > line.refunded_quantity]
        if not left:
            return
        lines = None
        if not whole:
            code, quantity = data.draw(st.sampled_from(left))
            lines = [(code, data.draw(st.integers(1, quantity)))]
        result = checkout.refund(self.station, number, reason="returned", lines=lines, manager=MANAGER,
                                 now=self._tick())
        for method, amount in result.money:
            self._cash(method, -amount)

    @rule(amount=st.integers(1, 60_000), method=st.sampled_from(METHODS), who=st.sampled_from([REGULAR, GOLD]))
    def top_up(self, amount, method, who):
        member_id = members.lookup(self.station, who).member.id
        with self.station.store.write() as conn:
            ledgers.top_up(conn, self.station, member_id=member_id, amount_minor=amount, method=method,
                           now=self._tick())
        self._cash(method, amount)

    @rule(amount=st.integers(1, 30_000), out=st.booleans())
    def drawer(self, amount, out):
        if out:
            amount = min(amount, self.cash)
            if not amount:
                return
        kind, sign = (Kind.CASH_OUT, -1) if out else (Kind.CASH_IN, 1)
        with self.station.store.write() as conn:
            money_ledger.post(conn, self.station, kind, [Posting(Account.TENDER, sign * amount, "cash"),
                                                         Posting(Account.DRAWER, -sign * amount)],
                              now=self._tick(), reason="change float" if not out else "banked")
        self._cash("cash", sign * amount)

    # -- what must always hold ------------------------------------------------------

    @invariant()
    def the_revenue_report_satisfies_the_identity(self):
        (section,) = station_report(self.station, period_of("month", date(2026, 11, 24)), ["revenue"],
                                    now=self.now).sections
        rows = [(r["by"], r["key"], r["revenue_minor"]) for r in section.records()]

        def total(by: str) -> int:
            return sum(amount for b, _k, amount in rows if b == by)

        def figure(by: str, key: str) -> int:
            return next(amount for b, k, amount in rows if (b, k) == (by, key))

        net = figure("net_revenue", "all")
        assert total("category") == figure("revenue", "all")
        assert net == total("category") - total("discount") - figure("refunds", "all")
        tenders = sum(total(by) for by in ("payment_method", "top_up_method", "deposit_method", "drawer"))
        assert net == (tenders + figure("points", "redeemed")
                       - (figure("prepaid", "topped_up") - figure("prepaid", "spent"))
                       - (figure("deposits", "held") - figure("deposits", "released"))
                       - (figure("cash", "put_in") - figure("cash", "taken_out"))
                       + figure("adjustments", "all"))
        assert figure("reconciliation", "difference") == 0

    @invariant()
    def every_receipt_equals_its_postings(self):
        with self.station.store.read() as conn:
            numbers = [row[0] for row in conn.execute("SELECT number FROM receipt")]
            for number in numbers:
                view = receipts.receipt_view(conn, number)
                paid = sum(amount for _m, amount, _r in view.payments)
                assert view.total_minor == view.points_minor + view.prepaid_minor + view.deposit_minor + paid
                kept = -conn.execute(
                    "SELECT coalesce(sum(amount_minor), 0) FROM ledger_entry WHERE receipt_id = ?"
                    " AND account IN ('sales', 'goods', 'discount')", (view.id,)).fetchone()[0]
                assert kept == view.remaining_minor
                gone = all(line.refunded_quantity == line.quantity for line in view.lines)
                assert view.state == ("refunded" if gone else "paid" if not view.refunds else "partly_refunded")
                assert all(0 <= line.refunded_quantity <= line.quantity for line in view.lines)

    @invariant()
    def the_drawer_holds_the_cash_postings(self):
        with self.station.store.read() as conn:
            float_minor, shift_id = conn.execute("SELECT float_minor, id FROM shift").fetchone()
            cash = conn.execute("SELECT coalesce(sum(amount_minor), 0) FROM ledger_entry WHERE account = 'tender'"
                                " AND detail = 'cash' AND shift_id = ?", (shift_id,)).fetchone()[0]
            unbalanced = conn.execute("SELECT count(*) FROM (SELECT txn_id FROM ledger_entry GROUP BY txn_id"
                                      " HAVING sum(amount_minor) != 0)").fetchone()[0]
        assert float_minor + cash == self.cash
        assert unbalanced == 0


LedgerDay.TestCase.settings = settings(
    max_examples=25, stateful_step_count=30, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_a_random_day_reconciles_to_the_fen = LedgerDay.TestCase


def test_a_gold_members_sale_with_a_coupon_points_prepaid_and_change_reconciles(tmp_path):
    """One worked example of the identity: every figure of the report, by hand."""
    station = make_station(tmp_path, config=IDENTITY_CONFIG)
    open_drawer(station, float_minor=FLOAT)
    gold = members.enroll(station, phone=GOLD, tier="gold").member
    with station.store.write() as conn:
        ledgers.adjust_points(conn, station, member_id=gold.id, points=500, reason="welcome", now=NOW)
        ledgers.top_up(conn, station, member_id=gold.id, amount_minor=10_000, method="wechat_pay", now=NOW)
        code = loyalty.issue_coupon(conn, station, template_id="TENOFF", member_id=None, source="manual", now=NOW)
    # OIL 299.00 less 5 % = 284.05; the coupon takes 10.00: 274.05; 500 points 5.00, prepaid 100.00, cash 169.05
    result = checkout.checkout(station, services=["OIL"], phone=GOLD, coupon_code=code, points=500,
                               prepaid_minor=10_000, payments=[("cash", 16_905)], cash_tendered_minor=20_000, now=NOW)
    assert result.change_minor == 3_095
    (section,) = station_report(station, period_of("day", date(2026, 11, 23)), ["revenue"], now=NOW).sections
    figures = {(r["by"], r["key"]): r["revenue_minor"] for r in section.records()}
    assert figures[("category", "maintenance")] == 29_900
    assert (figures[("discount", "tier")], figures[("discount", "coupon")]) == (1_495, 1_000)
    assert figures[("net_revenue", "all")] == 27_405
    assert figures[("payment_method", "cash")] == 16_905 and figures[("top_up_method", "wechat_pay")] == 10_000
    assert (figures[("points", "redeemed")], figures[("prepaid", "topped_up")], figures[("prepaid", "spent")]) == \
        (500, 10_000, 10_000)
    # 274.05 = 169.05 cash + 100.00 top-up + 5.00 points − (100.00 topped up − 100.00 spent)
    assert figures[("reconciliation", "difference")] == 0
    station.store.close()
