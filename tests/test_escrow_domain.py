"""The escrow rules without I/O: the split, lease judgement with fencing tokens, clashes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.domain.escrow import (
    HQ,
    STATION,
    LeaseKind,
    Ownership,
    SplitRule,
    Verdict,
    cell_starts,
    clash_winner,
    judge_lease,
    near_term,
    needs_owner,
    ownership,
)

DAY = datetime(2026, 11, 23, tzinfo=UTC)


def _cells(hours: int, slot: int = 30, start: datetime = DAY) -> list[datetime]:
    return cell_starts(start, hours * 60 // slot, slot)


def test_share_zero_leaves_every_cell_to_the_station_and_one_gives_all_to_hq():
    cells = _cells(24)
    assert {SplitRule.from_share("S1", 0.0).owner("L1", c) for c in cells} == {STATION}
    assert {SplitRule.from_share("S1", 1.0).owner("L1", c) for c in cells} == {HQ}


@given(
    share=st.integers(min_value=0, max_value=1000),
    block_slots=st.sampled_from([1, 2, 4, 6]),
    first_block=st.integers(min_value=0, max_value=2_000_000),
    blocks=st.integers(min_value=1, max_value=200),
    bay=st.text(min_size=1, max_size=8),
)
def test_any_run_of_blocks_holds_its_share_within_one_block(share, block_slots, first_block, blocks, bay):
    rule = SplitRule("S1", share, block_slots * 30)
    start = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(minutes=first_block * rule.block_minutes)
    owners = [rule.owner(bay, start + timedelta(minutes=i * rule.block_minutes)) for i in range(blocks)]
    expected = blocks * share / 1000
    assert expected - 1 < owners.count(HQ) < expected + 1


def test_cells_of_one_block_share_an_owner_and_bays_differ():
    rule = SplitRule.from_share("TST-001", 0.3)
    cells = _cells(24)
    for bay in ("W1", "L1", "L2"):
        owners = [rule.owner(bay, c) for c in cells]
        for block in range(0, len(owners), 4):  # 120-minute blocks of 30-minute cells
            assert len(set(owners[block:block + 4])) == 1
    patterns = {tuple(rule.owner(bay, c) for c in cells) for bay in ("W1", "L1", "L2", "L3", "L4")}
    assert len(patterns) > 1


def test_the_split_is_the_same_computed_anywhere_and_any_time_zone_of_the_instant():
    rule = SplitRule.from_share("TST-001", 0.3)
    again = SplitRule("TST-001", 300, 120)
    for cell in _cells(48):
        shanghai = cell.astimezone(ZoneInfo("Asia/Shanghai"))
        assert rule.owner("L1", cell) == again.owner("L1", shanghai)
    assert rule.fingerprint() == again.fingerprint() == "300/1000@120m"


def test_rule_refuses_nonsense():
    with pytest.raises(ValueError):
        SplitRule("S1", 1001)
    with pytest.raises(ValueError):
        SplitRule("S1", 10, 0)
    with pytest.raises(ValueError):
        SplitRule("S1", 10).owner("L1", datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        cell_starts(DAY, 0, 30)


def test_a_moved_cell_follows_its_lease_not_the_split():
    rule = SplitRule.from_share("S1", 1.0)
    assert ownership(rule, "L1", DAY, None) == Ownership(HQ, 0)
    assert ownership(rule, "L1", DAY, Ownership(STATION, 7)) == Ownership(STATION, 7)


def test_a_lease_token_must_be_newer_than_the_cells():
    assert judge_lease(LeaseKind.GRANT, 5, Ownership(HQ, 0), booked=False) == Verdict.APPLIED
    assert judge_lease(LeaseKind.GRANT, 5, Ownership(STATION, 5), booked=False) == Verdict.STALE
    assert judge_lease(LeaseKind.GRANT, 4, Ownership(HQ, 6), booked=False) == Verdict.STALE
    assert judge_lease(LeaseKind.REVOKE, 6, Ownership(STATION, 5), booked=False) == Verdict.APPLIED


def test_a_revoke_never_takes_a_cell_the_station_has_booked():
    assert judge_lease(LeaseKind.REVOKE, 9, Ownership(STATION, 5), booked=True) == Verdict.BOOKED
    # a cell already HQ's is simply HQ's again under the newer token
    assert judge_lease(LeaseKind.REVOKE, 9, Ownership(HQ, 5), booked=True) == Verdict.APPLIED


def test_a_clash_is_won_by_the_valid_token_never_by_the_later_writer():
    assert clash_winner(Ownership(HQ, 0), hq_token=0) == HQ
    assert clash_winner(Ownership(STATION, 0), hq_token=0) == STATION
    assert clash_winner(Ownership(STATION, 4), hq_token=3) == STATION
    assert clash_winner(Ownership(STATION, 4), hq_token=5) == HQ


def test_tentative_is_needed_when_any_cell_is_the_other_sides():
    assert not needs_owner([STATION, STATION], STATION)
    assert needs_owner([STATION, HQ], STATION)
    assert needs_owner([STATION], HQ)


def test_near_term_takes_the_cells_starting_within_the_next_hours():
    cells = _cells(10)
    now = DAY + timedelta(minutes=45)
    chosen = near_term(cells, now, 2)
    assert chosen[0] == DAY + timedelta(hours=1) and chosen[-1] == DAY + timedelta(hours=2, minutes=30)
    assert len(chosen) == 4
