"""Availability: the free starts of a day for a set of services, per bay, with technicians."""

from __future__ import annotations

from datetime import date, datetime

from sqlite3 import Connection

from edge.domain.capacity import StartOption, start_options
from edge.domain.catalog import WorkPlan
from edge.domain.tiers import TierRule, check_booking_rights, credit_rights
from edge.errors import RuleViolation
from edge.services import walk_in_reserve
from edge.services.live_capacity import absent_technicians
from edge.services.members import MemberRecord, customer_of, require_tier
from edge.services.station import Station
from edge.services.vehicle_sizes import plan_for_car
from edge.store.types import to_db_time


def free_starts(
    station: Station,
    *,
    day: date,
    services: list[str],
    bay_id: str | None = None,
    tier: str | None = None,
    phone: str | None = None,
    plate: str | None = None,
    hold: bool = False,
    channel: str = "terminal",
    size_class: str | None = None,
    now: datetime | None = None,
) -> list[StartOption]:
    """Every (bay, start) on the local `day` where `services` can be booked now through `channel`.

    A phone or app caller does not see the walk-in reserve's cells before their cut-off
    (edge.services.walk_in_reserve); the counter and walk-ins see every free start.

    With `tier`, starts that tier may not book (horizon, hot slots) are left out. With the
    customer's `phone` or `plate`, the starts that `book` would refuse them are left out: their
    member's tier (a guest's without one) and what their credit score allows (same-day only).
    With `hold`, none if the customer may not hold at all. The work takes the durations of
    `size_class`, else of the `plate`'s stored class (edge.services.vehicle_sizes). A day
    already past is refused (RuleViolation), not answered with an empty list.
    """
    now = now or station.clock()
    if tier is not None:
        require_tier(station, tier)
    today = station.local(now).date()
    if day < today:
        raise RuleViolation(f"{day} is past (today is {today}): no start can be booked on it")
    customer = bool(phone or plate)
    with station.store.read() as conn:
        plan = plan_for_car(conn, station, services, plate, size_class)
        options = options_on(conn, station, plan=plan, day=day, now=now, bay_id=bay_id, channel=channel)
        member = customer_of(conn, phone=phone, plate=plate) if customer else None
    if not (customer or tier or hold):
        return options
    rule = station.tier(member.tier if member else None) if customer else station.tier(tier)
    if not _may_book_on(station, rule, member, day=day, today=today, hold=hold):
        return []
    return [option for option in options if _may_book(station, rule, option.start, now)]


def _may_book_on(station: Station, rule: TierRule, member: MemberRecord | None, *, day: date, today: date,
                 hold: bool) -> bool:
    """Whether the customer may book (or hold) anything on `day`: a hold needs a tier with a hold
    time and a credit score that allows holds; a low score books today only."""
    rights = credit_rights(member.credit_score, station.credit_rule) if member else None
    if hold and (rule.hold_minutes <= 0 or (rights is not None and not rights.can_hold)):
        return False
    return not (rights is not None and rights.same_day_only and day != today)


def options_on(
    conn: Connection, station: Station, *, plan: WorkPlan, day: date, now: datetime, bay_id: str | None = None,
    channel: str = "terminal",
) -> list[StartOption]:
    """The start options of `plan` on `day`, read on the caller's connection: every leg's bays and
    technicians with their claims of the day, one query each. `bay_id` narrows the first leg's bays;
    the walk-in reserve's cells `channel` may not take yet count as taken."""
    catalog = station.catalog()
    bays = list({bay.id: bay for leg in plan.legs for bay in catalog.bays_for(leg)}.values())
    grid = station.grid(day)
    first_leg = catalog.bays_for(plan.legs[0])
    if bay_id is not None:
        first_leg = [bay for bay in first_leg if bay.id == bay_id]
    if not first_leg or not grid or any(not catalog.bays_for(leg) for leg in plan.legs):
        return []
    technicians = list({t.id: t for leg in plan.legs for t in catalog.technicians_for(leg)}.values())
    if any(leg.skills for leg in plan.legs):
        absent = absent_technicians(conn, station, day=day, now=now)
        technicians = [t for t in technicians if t.id not in absent]
        if not technicians:
            return []
    first, last = to_db_time(grid[0].start), to_db_time(grid[-1].end)
    stamp = to_db_time(now)
    bay_ids = [bay.id for bay in bays]
    # claims are compared as stored text: parsing each back to a datetime would dominate the
    # query; each bay's (technician's) claims come as one comma-joined text, a row per bay: a
    # Python row per claim cost more than the index scan itself on a full day
    on_grid = {to_db_time(cell.start): cell.start for cell in grid}
    # a lapsed hold still has its claims until the sweep: its cells count as free
    bay_rows = conn.execute(
        f"SELECT bay_id, group_concat(slot_start) FROM slot_claim WHERE bay_id IN ({', '.join('?' * len(bay_ids))})"
        " AND slot_start >= ? AND slot_start < ? AND (hold_until IS NULL OR hold_until >= ?) GROUP BY bay_id",
        (*bay_ids, first, last, stamp),
    )
    bay_claims = {bay: {on_grid.get(cell) for cell in cells.split(",")} for bay, cells in bay_rows}
    for bay, start in walk_in_reserve.closed_cells(station, day, channel=channel, now=now):
        bay_claims.setdefault(bay, set()).add(start)
    technician_claims: dict[str, set[datetime]] = {}
    if technicians:
        tech_ids = [t.id for t in technicians]
        # lapsed holds found through the partial index of holds, not by a lookup per claim
        tech_rows = conn.execute(
            f"SELECT technician_id, group_concat(slot_start) FROM technician_claim"
            f" WHERE technician_id IN ({', '.join('?' * len(tech_ids))}) AND slot_start >= ? AND slot_start < ?"
            " AND booking_id NOT IN (SELECT id FROM booking WHERE state = 'held' AND hold_until < ?)"
            " GROUP BY technician_id",
            (*tech_ids, first, last, stamp),
        )
        technician_claims = {tech: {on_grid.get(cell) for cell in cells.split(",")} for tech, cells in tech_rows}
    return start_options(
        plan=plan, grid=grid, slot_minutes=station.slot_minutes, bays=bays, first_bays=[bay.id for bay in first_leg],
        technicians=technicians, shifts={t.id: station.shifts(t, day) for t in technicians}, bay_claims=bay_claims,
        technician_claims=technician_claims, rules=station.leg_rules, not_before=now,
    )


def _may_book(station: Station, rule: TierRule, start: datetime, now: datetime) -> bool:
    try:
        check_booking_rights(
            tier=rule, local_start=station.local(start), local_now=station.local(now),
            hot_slots=station.hot_slots, min_notice_minutes=station.settings.booking.min_notice_minutes,
        )
    except RuleViolation:
        return False
    return True
