"""Legs, pure: splitting work over bays, fitting a sequence of legs, and packages that can never be served."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from edge.domain.legs import LegDay, LegItem, LegRules, Miss, NoFit, fit_legs, split_into_legs, starts_from
from edge.domain.servable import RosteredTechnician, why_never_served
from edge.domain.slots import slot_grid

TZ = ZoneInfo("Asia/Shanghai")
MONDAY = date(2026, 11, 23)
GRID = slot_grid(MONDAY, {0: ((8 * 60, 12 * 60), (13 * 60, 17 * 60))}, frozenset(), TZ, 30)
OIL = LegItem("OIL", 45, 15, "mechanic")
WASH = LegItem("WASH", 30, 0, None)
TYRE = LegItem("TYRE", 30, 0, "mechanic")
FILM = LegItem("FILM", 60, 0, "film")
BAYS = {"L1": frozenset({"OIL", "TYRE"}), "L2": frozenset({"OIL", "TYRE"}), "W1": frozenset({"WASH"}),
        "F1": frozenset({"FILM", "WASH"})}
KINDS = {"L1": "lift", "L2": "lift", "W1": "wash", "F1": "film"}
MECHANIC = [frozenset({"mechanic"})]


def at(hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 11, 23, hh, mm, tzinfo=TZ).astimezone(UTC)


class Claims:
    """A probe over a set of taken (bay, start) cells and technicians free on given starts."""

    def __init__(self, taken: set[tuple[str, datetime]] = frozenset(), technicians: dict[str, set] | None = None):
        self.taken = set(taken)
        self.technicians = technicians

    def free_bays(self, leg, starts):
        return [bay for bay in leg.bay_ids if not any((bay, s) in self.taken for s in starts)]

    def free_technicians(self, leg, starts):
        if self.technicians is None:
            return ("T1",)
        return tuple(t for t, free in self.technicians.items() if free.issuperset(starts))


def test_services_one_bay_does_together_stay_one_leg_and_others_split_in_order():
    (leg,) = split_into_legs([OIL, TYRE], BAYS, MECHANIC)
    assert leg.service_codes == ("OIL", "TYRE") and leg.bay_ids == ("L1", "L2")
    assert leg.duration_minutes == 75 and leg.buffer_minutes == 15 and leg.skills == {"mechanic"}
    lift, wash = split_into_legs([OIL, WASH], BAYS, MECHANIC)
    assert (lift.service_codes, wash.service_codes) == (("OIL",), ("WASH",))
    assert wash.bay_ids == ("W1", "F1") and not wash.skills
    # the order asked for is kept: a wash first, then the lift
    assert [leg.service_codes for leg in split_into_legs([WASH, OIL, TYRE], BAYS, MECHANIC)] == [("WASH",),
                                                                                                ("OIL", "TYRE")]


def test_a_leg_needs_one_technician_with_all_its_skills():
    bays = {"X1": frozenset({"TYRE", "FILM"})}
    # one bay could do both, but no one technician has both skills: two legs on the same bay
    legs = split_into_legs([TYRE, FILM], bays, [frozenset({"mechanic"}), frozenset({"film"})])
    assert [leg.service_codes for leg in legs] == [("TYRE",), ("FILM",)]
    assert len(split_into_legs([TYRE, FILM], bays, [frozenset({"mechanic", "film"})])) == 1


def test_next_leg_starts_after_work_buffer_and_transfer_on_the_grid():
    lift, wash = split_into_legs([OIL, WASH], BAYS, MECHANIC)
    rules = LegRules(transfer_minutes={("lift", "wash"): 5}, max_wait_minutes=30)
    found = fit_legs([lift, wash], at(9), LegDay(GRID, 30, rules, KINDS), Claims())
    assert not isinstance(found, NoFit)
    # 45 minutes of work + 15 of the lift's buffer = 10:00; the film bay (no transfer gap) takes the car then,
    # the wash bay 5 minutes later, so on the next cell
    assert [(fit.bay_id, fit.starts) for fit in found] == [("L1", (at(9), at(9, 30))), ("F1", (at(10),))]
    found = fit_legs([lift, wash], at(9), LegDay(GRID, 30, rules, KINDS),
                     Claims({("F1", at(10))}))
    assert [(fit.bay_id, fit.starts) for fit in found] == [("L1", (at(9), at(9, 30))), ("W1", (at(10, 30),))]
    assert rules.ready_at(lift, at(9), "lift", "film") == at(10)  # no transfer configured for that pair
    assert starts_from(GRID, at(10, 5), 30) == [at(10, 30)]


def test_a_taken_next_bay_waits_up_to_the_limit_then_tries_other_bays_then_misses():
    lift, wash = split_into_legs([OIL, WASH], BAYS, MECHANIC)
    rules = LegRules(transfer_minutes={}, max_wait_minutes=30)
    probe = Claims({("W1", at(10)), ("F1", at(10))})
    found = fit_legs([lift, wash], at(9), LegDay(GRID, 30, rules, KINDS), probe)
    assert [(fit.bay_id, fit.starts[0]) for fit in found] == [("L1", at(9)), ("W1", at(10, 30))]
    probe.taken |= {("W1", at(10, 30))}
    found = fit_legs([lift, wash], at(9), LegDay(GRID, 30, rules, KINDS), probe)
    assert [(fit.bay_id, fit.starts[0]) for fit in found] == [("L1", at(9)), ("F1", at(10, 30))]
    probe.taken |= {("F1", at(10, 30))}
    miss = fit_legs([lift, wash], at(9), LegDay(GRID, 30, rules, KINDS), probe)
    assert miss == NoFit(1, Miss.BAY, at(10))  # the earliest start the wash was refused


def test_first_leg_misses_name_why():
    lift, wash = split_into_legs([OIL, WASH], BAYS, MECHANIC)
    rules = LegRules(transfer_minutes={}, max_wait_minutes=0)
    day = LegDay(GRID, 30, rules, KINDS)
    assert fit_legs([lift, wash], at(9, 10), day, Claims()) == NoFit(0, Miss.CLOSED, at(9, 10))
    taken = Claims({("L1", at(9)), ("L2", at(9, 30))})
    assert fit_legs([lift, wash], at(9), day, taken) == NoFit(0, Miss.BAY, at(9))
    nobody = Claims(technicians={"T1": set()})
    assert fit_legs([lift, wash], at(9), day, nobody) == NoFit(0, Miss.TECHNICIAN, at(9))
    # the lunch break: the wash would start at 12:00, when the station is closed, and may not wait
    assert fit_legs([lift, wash], at(11), day, Claims()) == NoFit(1, Miss.CLOSED, at(12))
    # a wait long enough crosses the break
    crossing = fit_legs([lift, wash], at(11), LegDay(GRID, 30, LegRules({}, 60), KINDS), Claims())
    assert [fit.starts[0] for fit in crossing] == [at(11), at(13)]


def test_first_bays_narrow_the_first_leg_only():
    lift, wash = split_into_legs([OIL, WASH], BAYS, MECHANIC)
    found = fit_legs([lift, wash], at(9), LegDay(GRID, 30, LegRules({}, 0), KINDS), Claims(), first_bays=("L2",))
    assert [fit.bay_id for fit in found] == ["L2", "W1"]


def test_a_package_that_can_never_be_served_is_named_with_its_reason():
    lift, wash = split_into_legs([OIL, WASH], BAYS, MECHANIC)
    day = (GRID, [RosteredTechnician(frozenset({"mechanic"}), [(at(8), at(17))])])
    assert why_never_served([lift, wash], [day], slot_minutes=30, rules=LegRules({}, 0), kinds=KINDS) is None
    no_mechanic = (GRID, [RosteredTechnician(frozenset({"film"}), [(at(8), at(17))])])
    why = why_never_served([lift, wash], [no_mechanic], slot_minutes=30, rules=LegRules({}, 0), kinds=KINDS)
    assert "no technician with mechanic" in why
    long = split_into_legs([LegItem("DETAIL", 300, 0, None)], {"W1": frozenset({"DETAIL"})}, [])
    why = why_never_served(long, [day], slot_minutes=30, rules=LegRules({}, 0), kinds=KINDS)
    assert why == "DETAIL does not fit within one opening period"
    nowhere = split_into_legs([LegItem("PAINT", 30, 0, None)], BAYS, [])
    assert why_never_served(nowhere, [day], slot_minutes=30, rules=LegRules({}, 0), kinds=KINDS) == \
        "no bay can do PAINT"
