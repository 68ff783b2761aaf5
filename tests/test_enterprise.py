"""Enterprise (fleet) accounts: approval rules and flows, limits, packages, payment on account, statements."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from edge.cli.main import main
from edge.domain.enterprise import (
    ApprovalRule,
    ApprovalState,
    Decision,
    EnterpriseAccount,
    FleetPackage,
    SubAccount,
    StatementLine,
    applicable_rules,
    approval_deadline,
    approval_state,
    build_statement,
    check_approver,
    check_credit_limit,
    check_monthly_limit,
    parse_month,
    period_months,
    required_roles,
)
from edge.errors import InvalidTransition, NotFound, RuleViolation
from edge.services import bookings, checkout, enterprise, enterprise_billing, enterprise_bookings, waitlist
from tests.stations import MANAGER, NOW, TEST_CONFIG, open_drawer

TZ = ZoneInfo("Asia/Shanghai")
MONDAY = date(2026, 11, 23)
DRIVER, HEAD, FINANCE, OTHER_DRIVER = "13900000001", "13900000002", "13900000003", "13900000004"
FLEET_PLATE, SECOND_PLATE = "沪A12345", "沪B54321"


def at(hh: int, mm: int = 0, *, day: int = 23) -> datetime:
    return datetime(2026, 11, day, hh, mm, tzinfo=TZ)


def events(station, prefix: str) -> list[tuple[str, str, str, dict]]:
    with station.store.read() as conn:
        rows = conn.execute("SELECT type, stream, idem_key, body FROM outbox WHERE type LIKE ? ORDER BY hlc",
                            (prefix + "%",))
        return [(r["type"], r["stream"], r["idem_key"], json.loads(r["body"])) for r in rows]


def claimed_cells(station, booking_id: str) -> int:
    with station.store.read() as conn:
        return conn.execute("SELECT count(*) FROM slot_claim WHERE booking_id = ?", (booking_id,)).fetchone()[0]


@dataclass
class Fleet:
    driver: str
    head: str
    finance: str
    other_driver: str


def make_fleet(station, *, credit_limit=100_000, driver_limit: int | None = 80_000, verified=True,
               with_rules=True) -> Fleet:
    """ACME: a driver who books and pays, a department head and finance who approve; two fleet cars.

    Rules: maintenance above 0 needs the department head; anything above 300.00 needs finance too.
    """
    with station.store.write() as conn:
        enterprise.upsert_account(conn, station, EnterpriseAccount(
            "ACME", "Acme Logistics", "91310000ABC", credit_limit, verified=verified), now=NOW)

        def person(phone, role, permissions, limit=None):
            return enterprise.upsert_sub_account(
                conn, station, enterprise_id="ACME", phone=phone, name=role, role=role,
                permissions=frozenset(permissions), monthly_limit_minor=limit, now=NOW).id

        fleet = Fleet(person(DRIVER, "driver", {"book", "pay"}, driver_limit), person(HEAD, "dept_head", {"approve"}),
                      person(FINANCE, "finance", {"approve"}), person(OTHER_DRIVER, "driver", {"book", "pay"}))
        for plate in (FLEET_PLATE, SECOND_PLATE):
            enterprise.upsert_vehicle(conn, station, enterprise_id="ACME", plate=plate, now=NOW)
        if with_rules:
            enterprise.upsert_rule(conn, station, ApprovalRule("R1", "ACME", "maintenance", 0, "dept_head"), now=NOW)
            enterprise.upsert_rule(conn, station, ApprovalRule("R2", "ACME", "*", 30_000, "finance"), now=NOW)
    return fleet


def fleet_book(station, fleet, services, start, *, plate=FLEET_PLATE, sub=None, bay=None):
    return bookings.book(station, services=services, start=start, plate=plate, bay_id=bay,
                         sub_account_id=sub or fleet.driver, now=NOW)


# -- pure rules ------------------------------------------------------------------------


RULES = [
    ApprovalRule("R1", "ACME", "maintenance", 0, "dept_head"),
    ApprovalRule("R2", "ACME", "*", 30_000, "finance"),
    ApprovalRule("R3", "ACME", "film", 0, "manager", active=False),
]


@pytest.mark.parametrize("amount, categories, roles", [
    (29_900, {"maintenance"}, ("dept_head",)),
    (30_000, {"maintenance"}, ("dept_head",)),  # "above" is strict
    (37_900, {"maintenance"}, ("dept_head", "finance")),
    (3_000, {"wash"}, ()),
    (40_000, {"wash"}, ("finance",)),
    (50_000, {"film"}, ("finance",)),  # a switched-off rule asks nobody
    (31_900, {"maintenance", "wash"}, ("dept_head", "finance")),
])
def test_rules_pick_approver_roles_by_amount_and_category(amount, categories, roles):
    assert required_roles(applicable_rules(RULES, amount_minor=amount, categories=categories)) == roles


def test_approval_state_needs_every_role_and_one_no_rejects():
    required, deadline = ("dept_head", "finance"), at(12)
    head_yes, finance_yes = Decision("dept_head", True, "h"), Decision("finance", True, "f")
    assert approval_state(required, [], expires_at=deadline, now=at(9)) == ApprovalState.PENDING
    assert approval_state(required, [head_yes], expires_at=deadline, now=at(9)) == ApprovalState.PENDING
    assert approval_state(required, [finance_yes, head_yes], expires_at=deadline, now=at(9)) == ApprovalState.APPROVED
    assert approval_state(required, [head_yes], expires_at=deadline, now=at(12)) == ApprovalState.EXPIRED
    no = Decision("finance", False, "f", "over budget")
    assert approval_state(required, [head_yes, no], expires_at=deadline, now=at(9)) == ApprovalState.REJECTED


def test_approvers_are_checked_by_permission_role_and_who_asked():
    head = SubAccount("h", "ACME", HEAD, "Head", "dept_head", frozenset({"approve", "book"}))
    driver = SubAccount("d", "ACME", DRIVER, "Driver", "driver", frozenset({"book"}))
    required = ("dept_head", "finance")
    check_approver(head, booking_code="ABC123", requester_id="d", required=required, decisions=[])
    with pytest.raises(RuleViolation, match=f"{DRIVER} of enterprise ACME may not approve"):
        check_approver(driver, booking_code="ABC123", requester_id="x", required=required, decisions=[])
    with pytest.raises(RuleViolation, match="requested booking ABC123; they cannot approve it"):
        check_approver(head, booking_code="ABC123", requester_id="h", required=required, decisions=[])
    with pytest.raises(RuleViolation, match="already decided by a dept_head"):
        check_approver(head, booking_code="ABC123", requester_id="d", required=required,
                       decisions=[Decision("dept_head", True, "h2")])
    with pytest.raises(RuleViolation, match="needs approval by finance"):
        check_approver(head, booking_code="ABC123", requester_id="d", required=("finance",), decisions=[])


def test_limits_periods_and_deadlines():
    driver = SubAccount("d", "ACME", DRIVER, "Driver", "driver", frozenset({"book"}), monthly_limit_minor=80_000)
    check_monthly_limit(driver, month="2026-11", spent_minor=50_000, amount_minor=30_000, currency="CNY")
    with pytest.raises(RuleViolation, match=r"monthly limit of sub-account 13900000001 \(enterprise ACME\) is "
                                            r"800.00 CNY for 2026-11: 500.00 CNY spent \+ 300.01 CNY"):
        check_monthly_limit(driver, month="2026-11", spent_minor=50_000, amount_minor=30_001, currency="CNY")
    unlimited = SubAccount("u", "ACME", OTHER_DRIVER, "", "driver", frozenset({"book"}))
    check_monthly_limit(unlimited, month="2026-11", spent_minor=10**9, amount_minor=1, currency="CNY")
    account = EnterpriseAccount("ACME", "Acme", "TAX", 100_000, verified=True, approval_hours=24)
    check_credit_limit(account, outstanding_minor=70_000, amount_minor=30_000, currency="CNY")
    with pytest.raises(RuleViolation, match="credit limit of enterprise ACME is 1,000.00 CNY"):
        check_credit_limit(account, outstanding_minor=70_001, amount_minor=30_000, currency="CNY")
    assert period_months("quarter", "2026-11") == ("2026-10", "2026-11", "2026-12")
    assert period_months("year", "2026-11")[0] == "2026-01" and len(period_months("year", "2026-11")) == 12
    with pytest.raises(RuleViolation, match="'2026-13' is not a month"):
        parse_month("2026-13")
    quick = ApprovalRule("Q", "ACME", "*", 0, "finance", expiry_hours=2)
    assert approval_deadline([RULES[0]], account, requested_at=at(7), start_at=at(9, day=25)) == at(7, day=24)
    assert approval_deadline([RULES[0], quick], account, requested_at=at(7), start_at=at(15)) == at(9)
    # never after the car is due
    assert approval_deadline([RULES[0]], account, requested_at=at(7), start_at=at(10)) == at(10)
    with pytest.raises(RuleViolation, match="unknown category 'paint'"):
        ApprovalRule("X", "ACME", "paint", 0, "boss")
    with pytest.raises(RuleViolation, match="unknown permission 'drive'"):
        SubAccount("s", "ACME", DRIVER, "", "driver", frozenset({"drive"}))


def test_statement_totals_per_sub_account_and_vehicle():
    def line(day, kind, phone, plate, amount, number):
        return StatementLine(date(2026, 11, day), kind, None, plate, phone, ("OIL",), number, amount)

    statement = build_statement("ACME", "2026-11", [
        line(3, "charge", DRIVER, FLEET_PLATE, 29_900, "R1"), line(5, "charge", DRIVER, SECOND_PLATE, 8_000, "R2"),
        line(9, "charge", OTHER_DRIVER, FLEET_PLATE, 3_000, "R3"),
        line(10, "refund", DRIVER, SECOND_PLATE, -8_000, "R2"),
    ])
    assert (statement.charges, statement.charged_minor, statement.refunded_minor, statement.net_minor) == \
        (3, 40_900, -8_000, 32_900)
    assert statement.by_sub_account == ((DRIVER, 2, 29_900), (OTHER_DRIVER, 1, 3_000))
    assert statement.by_plate == ((FLEET_PLATE, 2, 32_900), (SECOND_PLATE, 1, 0))


# -- approval flows ------------------------------------------------------------------


def test_approve_confirms_a_booking_that_waited_for_its_approver(station):
    fleet = make_fleet(station)
    booking = fleet_book(station, fleet, ["OIL"], at(9))
    assert booking.state == "pending_approval" and booking.hold_until is None
    assert claimed_cells(station, booking.id) == 2  # the cells stay taken while the approver decides
    (created,) = events(station, "booking.")
    assert created[:3] == ("booking.pending_approval", "booking", f"booking:{booking.id}:1")
    (requested,) = events(station, "approval.requested")
    assert requested[1] == "booking" and requested[3]["approval"]["required_roles"] == ["dept_head"]
    assert requested[3]["approval"]["expires_at"] == "2026-11-23T01:00:00Z"  # at the start: sooner than 24 h

    view = enterprise_bookings.approve(station, booking.code, by_phone=HEAD, now=at(8))
    assert view.state == ApprovalState.APPROVED and view.awaiting == ()
    confirmed = bookings.booking(station, booking.id)
    assert confirmed.state == "confirmed" and confirmed.version == 2
    assert [e[0] for e in events(station, "booking.")] == ["booking.pending_approval", "booking.approved"]
    (decided,) = events(station, "approval.decided")
    assert decided[2] == f"approval:{view.id}:2" and decided[3]["decision"]["phone"] == HEAD
    with pytest.raises(InvalidTransition, match="is approved already"):
        enterprise_bookings.approve(station, booking.code, by_phone=FINANCE, now=at(8))


def test_multi_level_approval_needs_every_role_in_any_order(station):
    fleet = make_fleet(station)
    booking = fleet_book(station, fleet, ["OIL", "TYRE"], at(9))  # 379.00: department head and finance
    assert enterprise_bookings.approval_of(station, booking.code).required_roles == ("dept_head", "finance")
    with pytest.raises(RuleViolation, match="may not approve"):
        enterprise_bookings.approve(station, booking.code, by_phone=DRIVER, now=at(7, 5))
    with pytest.raises(NotFound, match="no sub-account with phone 13700000000 in enterprise ACME"):
        enterprise_bookings.approve(station, booking.code, by_phone="13700000000", now=at(7, 5))

    first = enterprise_bookings.approve(station, booking.code, by_phone=FINANCE, now=at(7, 10))
    assert first.state == ApprovalState.PENDING and first.awaiting == ("dept_head",)
    assert bookings.booking(station, booking.id).state == "pending_approval"
    with pytest.raises(RuleViolation, match="already decided by a finance"):
        enterprise_bookings.approve(station, booking.code, by_phone=FINANCE, now=at(7, 15))

    second = enterprise_bookings.approve(station, booking.code, by_phone=HEAD, now=at(7, 20))
    assert second.state == ApprovalState.APPROVED
    assert [d["role"] for d in second.decisions] == ["finance", "dept_head"]
    assert bookings.booking(station, booking.id).state == "confirmed"
    assert [e[2] for e in events(station, "approval.")] == [f"approval:{second.id}:{n}" for n in (1, 2, 3)]


def test_a_rejection_rejects_with_the_reason_frees_the_cells_and_offers_the_waitlist(station):
    fleet = make_fleet(station)
    pending = fleet_book(station, fleet, ["OIL", "TYRE"], at(9), bay="L1")
    private = bookings.book(station, services=["OIL", "TYRE"], start=at(9), plate="沪C00001", bay_id="L2", now=NOW)
    entry = waitlist.join(station, services=["TYRE"], day=MONDAY, plate="沪D00002", earliest=time(9),
                          latest=time(10), now=NOW)
    assert waitlist.entries(station)[0].state == "waiting"  # both lifts are taken 09:00-10:30

    enterprise_bookings.approve(station, pending.code, by_phone=HEAD, now=at(7, 5))
    with pytest.raises(RuleViolation, match="needs a reason"):
        enterprise_bookings.reject(station, pending.code, by_phone=FINANCE, reason=" ", now=at(7, 10))
    view = enterprise_bookings.reject(station, pending.code, by_phone=FINANCE, reason="over budget", now=at(7, 10))

    assert view.state == ApprovalState.REJECTED and view.reason == "over budget"
    rejected = bookings.booking(station, pending.code)
    assert rejected.state == "rejected" and rejected.reason == "over budget"
    assert claimed_cells(station, pending.id) == 0
    offered = waitlist.entries(station)[0]
    assert offered.id == entry.id and offered.state == "offered"
    assert bookings.booking(station, offered.offered_booking_id).bay_id == "L1"
    assert bookings.booking(station, private.id).state == "confirmed"
    assert [e[0] for e in events(station, "booking.")][-2:] == ["booking.rejected", "booking.held"]


def test_an_unanswered_request_expires_and_rejects_the_booking(station):
    fleet = make_fleet(station)
    tomorrow = fleet_book(station, fleet, ["OIL"], at(9, day=24))  # deadline: 24 h after asking
    assert enterprise_bookings.approval_of(station, tomorrow.code).expires_at == at(7, day=24)
    assert enterprise_bookings.expire_approvals(station, now=at(6, 59, day=24)) == []

    (expired,) = enterprise_bookings.expire_approvals(station, now=at(7, day=24))
    assert expired.state == ApprovalState.EXPIRED and expired.booking_code == tomorrow.code
    booking = bookings.booking(station, tomorrow.id)
    assert booking.state == "rejected" and booking.reason == "approval expired"
    assert claimed_cells(station, tomorrow.id) == 0
    assert events(station, "approval.decided")[-1][3]["approval"]["state"] == "expired"
    with pytest.raises(InvalidTransition, match="is expired already"):
        enterprise_bookings.approve(station, tomorrow.code, by_phone=HEAD, now=at(8, day=24))
    assert enterprise_bookings.expire_approvals(station, now=at(9, day=24)) == []


def test_a_decision_after_the_deadline_finds_the_request_expired(station):
    fleet = make_fleet(station)
    with station.store.write() as conn:
        enterprise.upsert_rule(conn, station, ApprovalRule("R1", "ACME", "maintenance", 0, "dept_head",
                                                           expiry_hours=2), now=NOW)
    booking = fleet_book(station, fleet, ["OIL"], at(14))
    view = enterprise_bookings.approve(station, booking.code, by_phone=HEAD, now=at(9, 1))
    assert view.state == ApprovalState.EXPIRED and view.expires_at == at(9)
    assert bookings.booking(station, booking.id).state == "rejected"


def test_a_cancelled_pending_booking_withdraws_its_request(station):
    fleet = make_fleet(station)
    booking = fleet_book(station, fleet, ["OIL"], at(9))
    bookings.cancel(station, booking.code, reason="plans changed", now=at(7, 5))
    with pytest.raises(InvalidTransition, match="is cancelled; there is nothing to decide"):
        enterprise_bookings.approve(station, booking.code, by_phone=HEAD, now=at(7, 6))
    (withdrawn,) = enterprise_bookings.expire_approvals(station, now=at(7, 10))
    assert withdrawn.state == ApprovalState.WITHDRAWN
    assert enterprise_bookings.pending_approvals(station) == []


def test_a_relayed_decision_repeated_by_hq_changes_nothing(station):
    fleet = make_fleet(station)
    booking = fleet_book(station, fleet, ["OIL", "TYRE"], at(9))
    for _ in range(2):
        with station.store.write() as conn:
            view = enterprise_bookings.decide(conn, station, booking_ref=booking.id, approver_phone=FINANCE,
                                              approve=True, channel="hq", decision_id="hq-decision-1", now=at(7, 5))
    assert view.awaiting == ("dept_head",) and len(view.decisions) == 1 and view.decisions[0]["channel"] == "hq"


# -- limits, permissions, packages -----------------------------------------------------


def test_sub_account_rules_and_the_monthly_limit_are_enforced(station):
    fleet = make_fleet(station, driver_limit=80_000)
    first = fleet_book(station, fleet, ["OIL", "TYRE"], at(9))  # 379.00
    fleet_book(station, fleet, ["OIL", "TYRE"], at(11))  # 758.00 committed
    wash = fleet_book(station, fleet, ["WASH"], at(9), plate=SECOND_PLATE)  # 30.00, no rule applies: confirmed at once
    assert wash.state == "confirmed"
    assert wash.id not in {e[3]["approval"]["booking_id"] for e in events(station, "approval.requested")}
    with pytest.raises(RuleViolation, match="monthly limit of sub-account 13900000001 .* 788.00 CNY spent"):
        fleet_book(station, fleet, ["OIL"], at(14))
    # a rejected booking no longer counts against the month
    enterprise_bookings.reject(station, first.code, by_phone=HEAD, reason="no", now=at(7, 5))
    assert fleet_book(station, fleet, ["OIL"], at(14)).state == "pending_approval"

    with pytest.raises(RuleViolation, match="sub-account 13900000002 of enterprise ACME may not book"):
        fleet_book(station, fleet, ["WASH"], at(10), sub=fleet.head)
    with pytest.raises(RuleViolation, match="plate 沪Z99999 is not a vehicle of enterprise ACME"):
        fleet_book(station, fleet, ["WASH"], at(10), plate="沪Z99999")
    with station.store.write() as conn:
        account = enterprise.get_account(conn, "ACME")
        enterprise.upsert_account(conn, station, EnterpriseAccount(
            account.id, account.name, account.tax_id, account.credit_limit_minor, verified=False), now=NOW)
    with pytest.raises(RuleViolation, match="enterprise ACME is not verified"):
        fleet_book(station, fleet, ["WASH"], at(10))


def test_an_enterprise_package_books_its_services_at_the_agreed_price_within_its_quota(station):
    fleet = make_fleet(station)
    with station.store.write() as conn:
        enterprise.upsert_package(conn, station, FleetPackage("ACME", "FLEET-CARE", "Fleet care", ("OIL", "TYRE"),
                                                              25_000, max_uses=1, period="year"), now=NOW)
        with pytest.raises(RuleViolation, match="package code PKG is a catalogue code"):
            enterprise.upsert_package(conn, station, FleetPackage("ACME", "PKG", "", ("OIL",), 1), now=NOW)
    booking = fleet_book(station, fleet, ["FLEET-CARE"], at(9))
    assert booking.price_minor == 25_000 and booking.services == ("OIL", "TYRE") and booking.package_code is None
    assert enterprise_bookings.approval_of(station, booking.code).required_roles == ("dept_head",)
    with pytest.raises(RuleViolation, match="allows 1 per vehicle per year; 沪A12345 has used 1"):
        fleet_book(station, fleet, ["FLEET-CARE"], at(14))
    with pytest.raises(RuleViolation, match="booked on its own"):
        fleet_book(station, fleet, ["FLEET-CARE", "WASH"], at(14), plate=SECOND_PLATE)
    assert fleet_book(station, fleet, ["FLEET-CARE"], at(14), plate=SECOND_PLATE).price_minor == 25_000

    enterprise_bookings.approve(station, booking.code, by_phone=HEAD, now=at(7, 5))
    paid = checkout.checkout(station, booking_ref=booking.code, payments=[("enterprise", 25_000)], now=at(11))
    assert [(line.code, line.gross_minor) for line in paid.receipt.lines] == [("FLEET-CARE", 25_000)]


# -- payment on account ----------------------------------------------------------------


def test_paying_by_enterprise_charges_the_account_within_its_credit_limit(station):
    make_fleet(station, credit_limit=50_000, driver_limit=None, with_rules=False)
    fleet_booking = bookings.book(station, services=["OIL"], start=at(9), plate=FLEET_PLATE, now=NOW,
                                  sub_account_id=_driver_id(station))
    assert fleet_booking.state == "confirmed"
    first = checkout.checkout(station, booking_ref=fleet_booking.code, payments=[("enterprise", 29_900)], now=at(10))
    with station.store.read() as conn:
        assert enterprise.outstanding_minor(conn, "ACME") == 29_900
    (charged,) = events(station, "enterprise.charged")
    assert charged[1] == "payment" and charged[3]["charge"]["amount_minor"] == 29_900
    assert charged[3]["charge"]["booking_id"] == fleet_booking.id and charged[3]["outstanding_minor"] == 29_900

    tyre = bookings.book(station, services=["TYRE"], start=at(11), plate=FLEET_PLATE, now=NOW,
                         sub_account_id=_driver_id(station))
    checkout.checkout(station, booking_ref=tyre.code, payments=[("enterprise", 8_000)], now=at(12))  # 379.00 of 500.00
    oil = bookings.book(station, services=["OIL"], start=at(14), plate=SECOND_PLATE, now=NOW,
                        sub_account_id=_driver_id(station))
    with pytest.raises(RuleViolation, match="credit limit of enterprise ACME is 500.00 CNY: 379.00 CNY outstanding"):
        checkout.checkout(station, booking_ref=oil.code, payments=[("enterprise", 29_900)], now=at(15))
    with station.store.read() as conn:
        assert conn.execute("SELECT count(*) FROM receipt WHERE booking_id = ?", (oil.id,)).fetchone()[0] == 0
    # part on account, the rest in cash (the desk's drawer is open)
    open_drawer(station)
    checkout.checkout(station, booking_ref=oil.code, payments=[("enterprise", 12_100), ("cash", 17_800)], now=at(15))

    checkout.refund(station, first.number, reason="wrong car", manager=MANAGER, now=at(16))
    with station.store.write() as conn:
        assert enterprise.outstanding_minor(conn, "ACME") == 20_100
        counted = [r[0] for r in conn.execute("SELECT id FROM enterprise_charge WHERE kind = 'charge'")]
        enterprise.apply_hq_balance(conn, enterprise_id="ACME", outstanding_minor=50_000,
                                    counted_charge_ids=counted, now=at(17))
        assert enterprise.outstanding_minor(conn, "ACME") == 50_000 - 29_900  # the refund is not counted yet
    assert [e[3]["charge"]["kind"] for e in events(station, "enterprise.charged")] == [
        "charge", "charge", "charge", "refund"]


def _driver_id(station) -> str:
    with station.store.read() as conn:
        return enterprise.sub_account_by_phone(conn, "ACME", DRIVER).id


def test_payment_on_account_needs_a_payer_with_the_right_and_room_in_the_month(station):
    fleet = make_fleet(station, driver_limit=40_000)
    private = bookings.book(station, services=["WASH"], start=at(9), plate="沪C00001", now=NOW)
    with pytest.raises(RuleViolation, match=f"booking {private.code} was not made by an enterprise sub-account"):
        checkout.checkout(station, booking_ref=private.code, payments=[("enterprise", 3_000)], now=at(10))
    with pytest.raises(RuleViolation, match="13900000002 of enterprise ACME may not pay"):
        checkout.checkout(station, services=["WASH"], sub_account_id=fleet.head, payments=[("enterprise", 3_000)],
                          now=at(10))
    pending = fleet_book(station, fleet, ["OIL"], at(9))  # 299.00 committed this month
    with pytest.raises(InvalidTransition, match=f"booking {pending.code} awaits approval"):
        checkout.checkout(station, booking_ref=pending.code, payments=[("enterprise", 29_900)], now=at(10))
    checkout.checkout(station, services=["WASH"], sub_account_id=fleet.driver, payments=[("enterprise", 3_000)],
                      now=at(10))  # 329.00
    with pytest.raises(RuleViolation, match="monthly limit .* 329.00 CNY spent \\+ 80.00 CNY exceeds it"):
        checkout.checkout(station, services=["TYRE"], sub_account_id=fleet.driver,
                          payments=[("enterprise", 8_000)], now=at(10))
    # paying the booking moves it from "committed" to "charged": it is not counted twice
    enterprise_bookings.approve(station, pending.code, by_phone=HEAD, now=at(8))
    checkout.checkout(station, booking_ref=pending.code, payments=[("enterprise", 29_900)], now=at(10))
    with station.store.read() as conn:
        assert enterprise_billing.month_spent_minor(conn, fleet.driver, "2026-11") == 32_900


def test_the_monthly_statement_lists_charges_and_refunds_of_the_local_month(station):
    fleet = make_fleet(station, with_rules=False)
    oil = fleet_book(station, fleet, ["OIL"], at(9))
    wash = fleet_book(station, fleet, ["WASH"], at(9), plate=SECOND_PLATE, sub=fleet.other_driver)
    paid = checkout.checkout(station, booking_ref=oil.code, payments=[("enterprise", 29_900)], now=at(10))
    checkout.checkout(station, booking_ref=wash.code, payments=[("enterprise", 3_000)], now=at(10))
    checkout.refund(station, paid.number, reason="duplicate", manager=MANAGER, now=at(11))
    # 00:30 on 1 December in Shanghai is still 30 November in UTC: it belongs to December
    december = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)
    checkout.checkout(station, services=["TYRE"], sub_account_id=fleet.driver, payments=[("enterprise", 8_000)],
                      now=december)

    november = enterprise_billing.statement(station, "ACME", "2026-11")
    assert sorted((line.kind, line.booking_code, line.amount_minor) for line in november.lines) == sorted([
        ("charge", oil.code, 29_900), ("refund", oil.code, -29_900), ("charge", wash.code, 3_000)])
    assert (november.charges, november.charged_minor, november.refunded_minor, november.net_minor) == \
        (2, 32_900, -29_900, 3_000)
    assert dict((k, (n, m)) for k, n, m in november.by_sub_account) == {DRIVER: (1, 0), OTHER_DRIVER: (1, 3_000)}
    assert dict((k, (n, m)) for k, n, m in november.by_plate) == {FLEET_PLATE: (1, 0), SECOND_PLATE: (1, 3_000)}
    later = enterprise_billing.statement(station, "ACME", "2026-12")
    assert [(line.services, line.booking_code, line.day) for line in later.lines] == [
        (("TYRE",), None, date(2026, 12, 1))]
    with pytest.raises(NotFound, match="no enterprise 'NOPE'"):
        enterprise_billing.statement(station, "NOPE", "2026-11")


# -- the station's copy of HQ's data ---------------------------------------------------


def test_every_change_is_announced_to_hq_unless_it_came_from_hq(station):
    make_fleet(station)
    updates = events(station, "enterprise.updated")
    assert [e[2] for e in updates] == [f"enterprise:ACME:{n}" for n in range(1, 10)]
    assert {e[1] for e in updates} == {"member"}
    assert [e[3]["change"] for e in updates][:3] == ["account", "sub_account", "sub_account"]
    assert updates[-1][3]["rule"] == {"id": "R2", "enterprise_id": "ACME", "category": "*", "above_minor": 30_000,
                                      "approver_role": "finance", "expiry_hours": None, "active": True}
    with station.store.write() as conn:
        before = enterprise.sub_account_by_phone(conn, "ACME", DRIVER)
        again = enterprise.upsert_sub_account(conn, station, enterprise_id="ACME", phone=DRIVER, name="Driver",
                                              role="driver", permissions=frozenset({"book"}), monthly_limit_minor=None,
                                              now=NOW, from_hq=True)
        enterprise.upsert_vehicle(conn, station, enterprise_id="ACME", plate="沪E00005", now=NOW, from_hq=True)
    assert again.id == before.id and again.permissions == frozenset({"book"})
    assert len(events(station, "enterprise.updated")) == 9


# -- the command line ------------------------------------------------------------------


def cli(capsys, data_dir, *args: str) -> tuple[int, str]:
    code = main(["--data-dir", str(data_dir), *[str(a) for a in args]])
    return code, capsys.readouterr().out


def test_cli_round_trip(tmp_path, capsys):
    config = tmp_path / "station.toml"
    config.write_text(TEST_CONFIG.split("[booking.hot_slots]")[0].replace("horizon_days = 3", "horizon_days = 3650"),
                      encoding="utf-8")
    data = tmp_path / "data"
    assert cli(capsys, data, "init", "--config", config)[0] == 0
    assert cli(capsys, data, "fleet", "add", "--id", "ACME", "--name", "Acme 物流", "--tax-id", "91310000abc",
               "--credit-limit", "1000.00", "--verified")[0] == 0
    assert cli(capsys, data, "fleet", "add", "--id", "ACME", "--name", "x", "--tax-id", "x",
               "--credit-limit", "1")[0] == 6
    for phone, role, permissions in ((DRIVER, "driver", ("book", "pay")), (HEAD, "dept_head", ("approve",))):
        flags = [f for p in permissions for f in ("--permission", p)]
        assert cli(capsys, data, "fleet", "subaccount", "add", "--enterprise", "ACME", "--phone", phone,
                   "--role", role, "--monthly-limit", "800.00", *flags)[0] == 0
    assert cli(capsys, data, "fleet", "vehicle", "add", "--enterprise", "ACME", "--plate", FLEET_PLATE)[0] == 0
    code, out = cli(capsys, data, "fleet", "rule", "add", "--enterprise", "ACME", "--category", "maintenance",
                    "--approver-role", "dept_head", "--json")
    assert code == 0 and json.loads(out)["above_minor"] == 0

    code, out = cli(capsys, data, "fleet", "book", "--enterprise", "ACME", "--phone", DRIVER,
                    "--start", "2030-01-07T09:00", "--services", "OIL", "--plate", FLEET_PLATE, "--json")
    booking = json.loads(out)
    assert code == 0 and booking["state"] == "pending_approval" and booking["price_minor"] == 29_900
    code, out = cli(capsys, data, "fleet", "approvals", "--json")
    assert code == 0 and [a["booking_code"] for a in json.loads(out)] == [booking["code"]]
    code, out = cli(capsys, data, "fleet", "approvals", "list", "--enterprise", "ACME")
    assert code == 0 and booking["code"] in out and "dept_head" in out
    assert cli(capsys, data, "fleet", "approve", booking["code"], "--by", "13700000000")[0] == 4
    code, out = cli(capsys, data, "fleet", "approve", booking["code"], "--by", HEAD)
    assert code == 0 and "approved" in out
    code, out = cli(capsys, data, "pay", "checkout", "--booking", booking["code"], "--pay", "enterprise=299.00",
                    "--json")
    assert code == 0

    month = datetime.now(TZ).strftime("%Y-%m")
    csv_path = tmp_path / "statement.csv"
    code, out = cli(capsys, data, "fleet", "statement", "--enterprise", "ACME", "--month", month, "--csv", csv_path,
                    "--json")
    statement = json.loads(out)
    assert code == 0 and (statement["charges"], statement["net_minor"]) == (1, 29_900)
    assert csv_path.read_text(encoding="utf-8").splitlines()[1].endswith(",OIL,29900")
    code, out = cli(capsys, data, "fleet", "show", "ACME", "--json")
    assert code == 0 and json.loads(out)["outstanding_minor"] == 29_900
    with pytest.raises(SystemExit) as bad_month:  # a malformed argument: argparse exits 2 naming it
        cli(capsys, data, "fleet", "statement", "--enterprise", "ACME", "--month", "Nov")
    assert bad_month.value.code == 2
    code, out = cli(capsys, data, "fleet", "approvals", "expire")
    assert code == 0 and "nothing expired" in out
