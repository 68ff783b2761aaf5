"""Coupons and tiers: issuing and redeeming coupons, growth, upgrades with rewards, period ends."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from sqlite3 import Connection

from edge.domain.coupons import Coupon, CouponKind
from edge.domain.growth import GrowthRule, growth_for, rank_after_growth, rank_at_period_end
from edge.domain.ids import short_code
from edge.errors import NotFound, RuleViolation
from edge.services.conflicts import record_conflict
from edge.services.ledgers import ensure_balance_row
from edge.services.members import MemberRecord, get_member
from edge.services.station import Station
from edge.store.outbox import append_event
from edge.store.types import from_db_time, to_db_time

_COUPON_COLUMNS = (
    "code, member_id, kind, value, service_code, min_spend_minor, category, min_tier, valid_from, valid_until,"
    " state, source, redeemed_receipt_id, version"
)


def issue_coupon(
    conn: Connection, station: Station, *, template_id: str, member_id: str | None, source: str, now: datetime,
) -> str:
    """A coupon from a configured template, for a member (or the bearer); returns its code."""
    try:
        template = station.settings.coupon_template(template_id)
    except ValueError:
        known = ", ".join(t.id for t in station.settings.coupon_templates) or "none configured"
        raise NotFound(f"no coupon template {template_id!r} ([[coupon_templates]]: {known})") from None
    code = f"{template.id}-{short_code(8)}"
    valid_until = now + timedelta(days=template.valid_days)
    conn.execute(
        f"INSERT INTO coupon ({_COUPON_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'issued', ?, NULL, 1)",
        (code, member_id, template.kind, template.value, template.service, template.min_spend_minor,
         template.category, template.min_tier, to_db_time(now), to_db_time(valid_until), source),
    )
    _coupon_event(conn, station, code, "coupon.issued", now)
    return code


def load_coupon(conn: Connection, station: Station, code: str, *, member_id: str | None) -> Coupon:
    """The coupon as the checkout rules see it; another member's coupon is refused."""
    row = conn.execute(f"SELECT {_COUPON_COLUMNS} FROM coupon WHERE code = ?", (code,)).fetchone()
    if row is None:
        raise NotFound(f"no coupon {code!r}")
    if row["member_id"] is not None and row["member_id"] != member_id:
        raise RuleViolation(f"coupon {code} belongs to another member")
    min_rank = station.settings.tier_rank(row["min_tier"]) if row["min_tier"] else None
    return Coupon(
        code=row["code"], kind=CouponKind(row["kind"]), value=row["value"], service_code=row["service_code"],
        min_spend_minor=row["min_spend_minor"], category=row["category"], min_tier_rank=min_rank,
        valid_from=from_db_time(row["valid_from"]), valid_until=from_db_time(row["valid_until"]), state=row["state"],
    )


def mark_coupon(conn: Connection, station: Station, code: str, *, redeemed: bool, receipt_id: str | None,
                now: datetime) -> None:
    """Redeem a coupon on a receipt, or give it back when that receipt is refunded."""
    state, event = ("redeemed", "coupon.redeemed") if redeemed else ("issued", "coupon.restored")
    conn.execute(
        "UPDATE coupon SET state = ?, redeemed_receipt_id = ?, redeemed_at = ?, version = version + 1 WHERE code = ?",
        (state, receipt_id if redeemed else None, to_db_time(now) if redeemed else None, code),
    )
    _coupon_event(conn, station, code, event, now)


def report_double_use(station: Station, code: str, *, detail: dict, now: datetime | None = None) -> str:
    """HQ says a coupon was also used elsewhere (both stations offline): keep a conflict for staff."""
    now = now or station.clock()
    with station.store.write() as conn:
        if conn.execute("SELECT 1 FROM coupon WHERE code = ?", (code,)).fetchone() is None:
            raise NotFound(f"no coupon {code!r}")
        conflict_id = record_conflict(conn, "coupon_double_use", code, detail, now)
        append_event(conn, event_type="coupon.conflict", entity_id=code,
                     idem_key=f"conflict:{conflict_id}", body={"coupon": code, "detail": detail}, now=now)
        return conflict_id


def _coupon_event(conn: Connection, station: Station, code: str, event_type: str, now: datetime) -> None:
    row = dict(conn.execute(f"SELECT {_COUPON_COLUMNS} FROM coupon WHERE code = ?", (code,)).fetchone())
    append_event(conn, event_type=event_type, entity_id=code,
                 idem_key=f"coupon:{code}:{row['version']}", body={"coupon": row}, now=now)


def growth_rule(station: Station) -> GrowthRule:
    loyalty = station.settings.loyalty
    return GrowthRule(per_major_unit=loyalty.growth_per_major_unit, per_visit=loyalty.growth_per_visit,
                      minor_digits=station.settings.station.currency_minor_digits)


def record_spend(conn: Connection, station: Station, member: MemberRecord, *, paid_minor: int, visits: int,
                 now: datetime) -> MemberRecord:
    """Add growth for a paid visit; upgrade at once when a threshold is crossed, with its reward."""
    ensure_balance_row(conn, station, member.id, now)
    gained = growth_for(paid_minor, visits=visits, rule=growth_rule(station))
    growth = conn.execute(
        "UPDATE member_balance SET growth = growth + ?, version = version + 1 WHERE member_id = ? RETURNING growth",
        (gained, member.id),
    ).fetchone()[0]
    thresholds = [t.growth_threshold for t in station.settings.tiers]
    current = station.settings.tier_rank(member.tier)
    new_rank = rank_after_growth(thresholds, current, growth)
    if new_rank == current:
        return member
    return _change_tier(conn, station, member, new_rank, reason=f"growth {growth}", now=now)


def close_tier_periods(station: Station, *, now: datetime | None = None) -> list[MemberRecord]:
    """Members whose tier period ended: keep, raise or lower their tier, start a new period."""
    now = now or station.clock()
    today = station.local(now).date()
    months = station.settings.loyalty.tier_period_months
    changed = []
    with station.store.write() as conn:
        rows = conn.execute("SELECT member_id, growth, period_start FROM member_balance").fetchall()
        thresholds = [t.growth_threshold for t in station.settings.tiers]
        for row in rows:
            if _add_months(date.fromisoformat(row["period_start"]), months) > today:
                continue
            member = get_member(conn, row["member_id"])
            current = station.settings.tier_rank(member.tier)
            new_rank = rank_at_period_end(thresholds, current, row["growth"])
            conn.execute(
                "UPDATE member_balance SET growth = 0, period_start = ?, version = version + 1 WHERE member_id = ?",
                (today.isoformat(), member.id),
            )
            if new_rank != current:
                changed.append(_change_tier(conn, station, member, new_rank,
                                            reason=f"period growth {row['growth']}", now=now))
    return changed


def _change_tier(conn: Connection, station: Station, member: MemberRecord, rank: int, *, reason: str,
                 now: datetime) -> MemberRecord:
    tier = station.settings.tiers[rank]
    updated = MemberRecord(member.id, member.phone, member.name, tier.name, member.credit_score, member.version + 1)
    conn.execute("UPDATE member SET tier = ?, version = ?, updated_at = ? WHERE id = ?",
                 (tier.name, updated.version, to_db_time(now), member.id))
    append_event(conn, event_type="tier.changed", entity_id=member.id,
                 idem_key=f"member:{member.id}:{updated.version}",
                 body={"member_id": member.id, "from": member.tier, "to": tier.name, "reason": reason}, now=now)
    upgraded = rank > station.settings.tier_rank(member.tier)
    if upgraded and tier.upgrade_reward:
        issue_coupon(conn, station, template_id=tier.upgrade_reward, member_id=member.id, source="upgrade", now=now)
    return updated


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has 28 days")
