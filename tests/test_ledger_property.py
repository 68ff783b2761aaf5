"""Property test: the points and prepaid ledgers never go negative and always balance,
under random earning, redemption, adjustment, expiry, top-ups, checkouts and refunds."""

from __future__ import annotations

import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from edge.domain import checkout as rules
from edge.errors import BookingError
from edge.services import checkout, ledgers, members
from edge.services.station import open_station
from tests.stations import MANAGER, NOW, make_station
from tests.test_checkout import CONFIG

_TEMPLATE: Path | None = None


def template_dir() -> Path:
    global _TEMPLATE
    if _TEMPLATE is None:
        root = Path(tempfile.mkdtemp(prefix="ledger-template-"))
        station = make_station(root, config=CONFIG)
        members.enroll(station, phone="13800138000", now=NOW)
        station.store.close()
        _TEMPLATE = root / "data"
    return _TEMPLATE


class LedgerMachine(RuleBasedStateMachine):
    receipts = Bundle("receipts")

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="ledger-prop-"))
        shutil.copytree(template_dir(), self.dir / "data")
        self.now = NOW
        self.station = open_station(self.dir / "data", clock=lambda: self.now)
        self.member_id = members.lookup(self.station, "13800138000").member.id

    def teardown(self) -> None:
        self.station.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _write(self, action) -> None:
        try:
            with self.station.store.write() as conn:
                action(conn)
        except BookingError:
            pass  # refused (e.g. not enough points): the ledger must be unchanged, checked below

    @rule(points=st.integers(1, 500))
    def earn(self, points):
        self._write(lambda c: ledgers.earn_points(c, self.station, member_id=self.member_id, points=points, now=self.now))

    @rule(points=st.integers(1, 800))
    def redeem(self, points):
        self._write(lambda c: ledgers.redeem_points(c, self.station, member_id=self.member_id, points=points, now=self.now))

    @rule(points=st.integers(-400, 400).filter(bool))
    def adjust(self, points):
        self._write(lambda c: ledgers.adjust_points(c, self.station, member_id=self.member_id, points=points,
                                                    reason="count", now=self.now))

    @rule(days=st.integers(1, 400))
    def time_passes_and_points_expire(self, days):
        self.now += timedelta(days=days)
        self._write(lambda c: ledgers.expire_points(c, self.station, now=self.now))

    @rule(amount=st.integers(1, 50_000))
    def top_up(self, amount):
        self._write(lambda c: ledgers.prepaid_entry(c, self.station, member_id=self.member_id, kind="top_up",
                                                    amount_minor=amount, now=self.now))

    @rule(amount=st.integers(1, 60_000))
    def debit(self, amount):
        self._write(lambda c: ledgers.prepaid_entry(c, self.station, member_id=self.member_id, kind="debit",
                                                    amount_minor=-amount, now=self.now))

    @rule(target=receipts, points=st.sampled_from([0, 100, 500, 3000]), prepaid=st.integers(0, 40_000))
    def pay(self, points, prepaid):
        with self.station.store.read() as conn:
            balance = ledgers.prepaid_balance(conn, self.member_id)
        prepaid = min(prepaid, balance)
        try:
            # the remainder depends on what points and prepaid cover: price it first, then pay exactly
            receipt = rules.price([rules.Item("OIL", "Oil", "maintenance", 29900)], points=points,
                                  points_balance=self._points(), prepaid_minor=prepaid, prepaid_balance=balance,
                                  now=self.now)
            pays = [("bank_card", receipt.remainder_minor)] if receipt.remainder_minor else []
            result = checkout.checkout(self.station, services=["OIL"], phone="13800138000", points=points,
                           prepaid_minor=prepaid, payments=pays)
        except BookingError:
            return "none"
        return result.number

    @rule(number=receipts)
    def refund(self, number):
        try:
            checkout.refund(self.station, number, reason="returned", manager=MANAGER)
        except BookingError:
            pass  # a refused refund (already refunded, or no receipt) must change nothing: invariants check it

    def _points(self) -> int:
        with self.station.store.read() as conn:
            return ledgers.points_balance(conn, self.member_id)

    @invariant()
    def balances_are_never_negative_and_equal_their_entries(self):
        with self.station.store.read() as conn:
            points = ledgers.points_balance(conn, self.member_id)
            prepaid = ledgers.prepaid_balance(conn, self.member_id)
            entries = conn.execute("SELECT coalesce(sum(points), 0) FROM points_entry").fetchone()[0]
            money = conn.execute("SELECT coalesce(sum(amount_minor), 0) FROM prepaid_entry").fetchone()[0]
            lots = conn.execute("SELECT coalesce(sum(remaining), 0), coalesce(min(remaining), 0)"
                                " FROM points_entry WHERE kind = 'earn'").fetchone()
        assert points >= 0 and prepaid >= 0
        assert points == entries and prepaid == money  # no HQ snapshot yet: the entries are the balance
        assert lots[1] >= 0 and lots[0] <= points  # open lots never promise more than the balance


LedgerMachine.TestCase.settings = settings(
    max_examples=30, stateful_step_count=25, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_ledgers_never_go_negative_and_always_balance = LedgerMachine.TestCase
