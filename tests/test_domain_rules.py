"""State machine, progress stages, tier rights, money, clocks, ids and plates: pure rules."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from edge.domain.booking_state import BookingState as S
from edge.domain.booking_state import Progress as P
from edge.domain.booking_state import advance_progress, check_transition
from edge.domain.hlc import Hlc, tick
from edge.domain.ids import short_code, uuid7
from edge.domain.money import format_money
from edge.domain.plates import normalize_plate
from edge.domain.tiers import HotSlotRule, HotWindow, TierRule, check_booking_rights, hold_deadline
from edge.errors import InvalidInput, InvalidTransition, RuleViolation

TZ = ZoneInfo("Asia/Shanghai")
REGULAR = TierRule("regular", 0, horizon_days=3, hold_minutes=0)
GOLD = TierRule("gold", 2, horizon_days=7, hold_minutes=30)
HOT = HotSlotRule(GOLD, 24, (HotWindow(frozenset({5}), 9 * 60, 12 * 60),))


def test_allowed_and_refused_transitions():
    check_transition("B1", S.HELD, S.CONFIRMED)
    check_transition("B1", S.CONFIRMED, S.NO_SHOW)
    with pytest.raises(InvalidTransition, match="B1 is completed"):
        check_transition("B1", S.COMPLETED, S.CANCELLED)
    with pytest.raises(InvalidTransition, match="cannot become in_service"):
        check_transition("B1", S.CONFIRMED, S.IN_SERVICE)


def test_progress_stages_drive_the_booking_state():
    assert advance_progress("B", S.CHECKED_IN, None, P.IN_BAY) == S.CHECKED_IN
    assert advance_progress("B", S.CHECKED_IN, P.IN_BAY, P.IN_SERVICE) == S.IN_SERVICE
    assert advance_progress("B", S.IN_SERVICE, P.IN_SERVICE, P.WAITING_PARTS) == S.IN_SERVICE
    assert advance_progress("B", S.IN_SERVICE, P.QUALITY_CHECK, P.DONE) == S.COMPLETED
    with pytest.raises(InvalidTransition, match="after check-in"):
        advance_progress("B", S.CONFIRMED, None, P.IN_BAY)
    with pytest.raises(InvalidTransition, match="stage in_bay"):
        advance_progress("B", S.CHECKED_IN, P.IN_BAY, P.DONE)


def local(y, m, d, hh=9, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


def test_booking_horizon_counts_local_calendar_days():
    now = local(2026, 11, 23, 23, 50)  # Monday late evening
    check_booking_rights(tier=REGULAR, local_start=local(2026, 11, 26), local_now=now, hot_slots=None)
    with pytest.raises(RuleViolation, match="3 days ahead"):
        check_booking_rights(tier=REGULAR, local_start=local(2026, 11, 27), local_now=now, hot_slots=None)
    check_booking_rights(tier=GOLD, local_start=local(2026, 11, 30), local_now=now, hot_slots=None)
    with pytest.raises(RuleViolation, match="past"):
        check_booking_rights(tier=GOLD, local_start=now - timedelta(minutes=5), local_now=now, hot_slots=None)


def test_hot_slots_are_kept_for_higher_tiers_until_the_release_time():
    saturday_10 = local(2026, 11, 28, 10)
    wednesday = local(2026, 11, 25, 12)
    with pytest.raises(RuleViolation, match="hot slot kept for gold"):
        check_booking_rights(tier=REGULAR, local_start=saturday_10, local_now=wednesday, hot_slots=HOT)
    check_booking_rights(tier=GOLD, local_start=saturday_10, local_now=wednesday, hot_slots=HOT)
    friday_11 = local(2026, 11, 27, 11)  # within 24 h: released to everyone
    check_booking_rights(tier=REGULAR, local_start=saturday_10, local_now=friday_11, hot_slots=HOT)
    # outside the window the slot is ordinary
    check_booking_rights(tier=REGULAR, local_start=local(2026, 11, 28, 13), local_now=wednesday, hot_slots=HOT)


def test_hold_length_by_tier():
    now = local(2026, 11, 23)
    assert hold_deadline(GOLD, now) == now + timedelta(minutes=30)
    with pytest.raises(RuleViolation, match="cannot hold"):
        hold_deadline(REGULAR, now)


def test_money_is_exact():
    assert format_money(29900, "CNY") == "299.00 CNY"
    assert format_money(-5, "CNY") == "-0.05 CNY"
    assert format_money(1234567, "JPY", 0) == "1,234,567 JPY"


def test_hlc_never_goes_back_even_when_the_clock_does():
    a = tick(Hlc(0, 0), 1000)
    b = tick(a, 900)  # wall clock stepped back
    c = tick(b, 900)
    assert a < b < c and c.wall_ms == 1000 and c.logical == 2
    assert Hlc.decode(c.encode()) == c
    assert a.encode() < b.encode() < c.encode()


def test_uuid7_sorts_by_time_and_codes_are_readable():
    ids = [uuid7(now_ms=ms) for ms in (1, 2, 3, 1000, 10**12)]
    assert ids == sorted(ids)
    assert ids[0][14] == "7"  # version nibble
    code = short_code()
    assert len(code) == 6 and not set(code) & set("ILOU")


@pytest.mark.parametrize(
    ("raw", "plate"),
    [("沪A·12345", "沪A12345"), ("沪ａ１２３４５", "沪A12345"), (" 粤b-d12345 ", "粤BD12345"), ("abc 123", "ABC123")],
)
def test_plates_normalise(raw, plate):
    assert normalize_plate(raw) == plate


def test_garbage_is_not_a_plate():
    with pytest.raises(InvalidInput, match="not a licence plate"):
        normalize_plate("!!")
