"""Points and prepaid ledgers: append-only entries, balances bounded below by zero.

A member's balance is HQ's last snapshot plus this station's entries HQ has not counted
yet; offline, a redemption or debit can never take more than that.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from sqlite3 import Connection

from edge.domain.checkout import PAYMENT_METHODS
from edge.domain.ids import uuid7
from edge.domain.money_ledger import Account, Kind, Posting
from edge.domain.points import Lot, allocate, lapsed
from edge.domain.permissions import Actor, Permission, authorise
from edge.errors import InvalidInput, RuleViolation
from edge.services import audit, money_ledger
from edge.services.station import Station
from edge.store.outbox import append_event
from edge.store.types import from_db_time, to_db_time


# a top-up is money handed over at the counter: never on a company's account
TOP_UP_METHODS = tuple(method for method in PAYMENT_METHODS if method != "enterprise")


def ensure_balance_row(conn: Connection, station: Station, member_id: str, now: datetime) -> None:
    conn.execute(
        "INSERT INTO member_balance (member_id, points_snapshot, prepaid_snapshot_minor, growth, period_start, version)"
        " VALUES (?, 0, 0, 0, ?, 1) ON CONFLICT (member_id) DO NOTHING",
        (member_id, station.local(now).date().isoformat()),
    )


def points_balance(conn: Connection, member_id: str) -> int:
    row = conn.execute(
        "SELECT coalesce((SELECT points_snapshot FROM member_balance WHERE member_id = ?), 0)"
        " + coalesce((SELECT sum(points) FROM points_entry WHERE member_id = ? AND NOT counted_by_hq), 0)",
        (member_id, member_id),
    ).fetchone()
    return row[0]


def prepaid_balance(conn: Connection, member_id: str) -> int:
    row = conn.execute(
        "SELECT coalesce((SELECT prepaid_snapshot_minor FROM member_balance WHERE member_id = ?), 0)"
        " + coalesce((SELECT sum(amount_minor) FROM prepaid_entry WHERE member_id = ? AND NOT counted_by_hq), 0)",
        (member_id, member_id),
    ).fetchone()
    return row[0]


def _lots(conn: Connection, member_id: str) -> list[Lot]:
    """The member's points as lots: this station's earned lots with points left (counted by
    HQ or not: HQ keeps no lots, so their expiry stays here) and the rest of the balance as
    one lot of HQ's that never expires. When the balance is below what the lots hold, the
    member spent some of them elsewhere: the soonest-expiring points are the ones taken as gone.
    """
    rows = conn.execute(
        "SELECT id, remaining, expires_at FROM points_entry WHERE member_id = ? AND kind = 'earn' AND remaining > 0",
        (member_id,),
    ).fetchall()
    local = [Lot(r["id"], r["remaining"], from_db_time(r["expires_at"]) if r["expires_at"] else None) for r in rows]
    hq_part = points_balance(conn, member_id) - sum(lot.remaining for lot in local)
    if hq_part >= 0:
        return [Lot("hq", hq_part, None), *local] if hq_part > 0 else local
    gone = -hq_part
    kept = []
    for lot in sorted(local, key=lambda lot: (lot.expires_at is None, lot.expires_at or datetime.max)):
        taken = min(gone, lot.remaining)
        gone -= taken
        if lot.remaining > taken:
            kept.append(Lot(lot.entry_id, lot.remaining - taken, lot.expires_at))
    return kept


def _points_entry(
    conn: Connection, station: Station, *, member_id: str, kind: str, points: int, now: datetime,
    remaining: int = 0, expires_at: datetime | None = None, receipt_id: str | None = None, reason: str = "",
) -> str:
    entry_id = uuid7()
    conn.execute(
        "INSERT INTO points_entry (id, member_id, kind, points, remaining, expires_at, receipt_id, reason,"
        " counted_by_hq, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?)",
        (entry_id, member_id, kind, points, remaining, to_db_time(expires_at) if expires_at else None,
         receipt_id, reason, to_db_time(now)),
    )
    append_event(
        conn, event_type=f"points.{_PAST[kind]}", entity_id=member_id,
        idem_key=f"points:{entry_id}",
        body={"entry_id": entry_id, "member_id": member_id, "points": points, "receipt_id": receipt_id,
              "reason": reason, "expires_at": to_db_time(expires_at) if expires_at else None,
              "balance": points_balance(conn, member_id)},
        now=now,
    )
    return entry_id


_PAST = {"earn": "earned", "redeem": "redeemed", "expire": "expired", "adjust": "adjusted"}


def earn_points(
    conn: Connection, station: Station, *, member_id: str, points: int, now: datetime,
    receipt_id: str | None = None, reason: str = "",
) -> str | None:
    if points <= 0:
        return None
    expires = now + timedelta(days=station.settings.loyalty.points_valid_days)
    return _points_entry(conn, station, member_id=member_id, kind="earn", points=points, remaining=points,
                         expires_at=expires, receipt_id=receipt_id, reason=reason, now=now)


def redeem_points(
    conn: Connection, station: Station, *, member_id: str, points: int, now: datetime,
    receipt_id: str | None = None, reason: str = "",
) -> str:
    """Take `points` from the soonest-expiring lots; RuleViolation if the balance is short."""
    for lot_id, take in allocate(_lots(conn, member_id), points, now):
        if lot_id != "hq":
            conn.execute("UPDATE points_entry SET remaining = remaining - ? WHERE id = ?", (take, lot_id))
    return _points_entry(conn, station, member_id=member_id, kind="redeem", points=-points,
                         receipt_id=receipt_id, reason=reason, now=now)


def adjust_points(
    conn: Connection, station: Station, *, member_id: str, points: int, reason: str, now: datetime,
    receipt_id: str | None = None,
) -> str:
    """A correction by staff or a refund; a negative one is taken like a redemption."""
    if not reason:
        raise RuleViolation("a points adjustment needs a reason")
    if points > 0:
        return _points_entry(conn, station, member_id=member_id, kind="adjust", points=points, remaining=0,
                             receipt_id=receipt_id, reason=reason, now=now)
    for lot_id, take in allocate(_lots(conn, member_id), -points, now):
        if lot_id != "hq":
            conn.execute("UPDATE points_entry SET remaining = remaining - ? WHERE id = ?", (take, lot_id))
    return _points_entry(conn, station, member_id=member_id, kind="adjust", points=points,
                         receipt_id=receipt_id, reason=reason, now=now)


def correct_points(station: Station, *, member_id: str, points: int, reason: str, manager: Actor | None = None,
                   now: datetime | None = None) -> int:
    """A manager's correction of a member's points (signed); the new balance."""
    answering = authorise(station.actor, Permission.BALANCE_ADJUST, manager)
    now = now or station.clock()
    with station.store.write() as conn:
        before = points_balance(conn, member_id)
        adjust_points(conn, station, member_id=member_id, points=points, reason=reason, now=now)
        after = points_balance(conn, member_id)
        audit.record(conn, station, action="points.adjust", entity="member", entity_id=member_id,
                     before={"points": before}, after={"points": after, "reason": reason},
                     authorised_by=answering.id, now=now)
    return after


def correct_prepaid(station: Station, *, member_id: str, amount_minor: int, reason: str,
                    manager: Actor | None = None, now: datetime | None = None) -> int:
    """A manager's correction of a member's prepaid balance (signed, minor units); the new balance."""
    answering = authorise(station.actor, Permission.BALANCE_ADJUST, manager)
    if not reason.strip():
        raise RuleViolation("a prepaid adjustment needs a reason")
    now = now or station.clock()
    with station.store.write() as conn:
        before = prepaid_balance(conn, member_id)
        prepaid_entry(conn, station, member_id=member_id, kind="adjust", amount_minor=amount_minor,
                      reason=reason.strip(), now=now)
        audit.record(conn, station, action="prepaid.adjust", entity="member", entity_id=member_id,
                     before={"prepaid_minor": before}, after={"prepaid_minor": before + amount_minor, "reason": reason},
                     authorised_by=answering.id, now=now)
    return before + amount_minor


def expire_points(conn: Connection, station: Station, *, now: datetime) -> int:
    """Write off every lapsed lot of this station's; returns the points expired."""
    rows = conn.execute(
        "SELECT id, member_id, remaining, expires_at FROM points_entry"
        " WHERE kind = 'earn' AND remaining > 0 AND expires_at <= ?",
        (to_db_time(now),),
    ).fetchall()
    total = 0
    for row in rows:
        lots = [Lot(row["id"], row["remaining"], from_db_time(row["expires_at"]))]
        for lot_id, points in lapsed(lots, now):
            conn.execute("UPDATE points_entry SET remaining = 0 WHERE id = ?", (lot_id,))
            # points of the lot the member already spent at another station are not written off twice
            points = min(points, max(0, points_balance(conn, row["member_id"])))
            if points:
                _points_entry(conn, station, member_id=row["member_id"], kind="expire", points=-points,
                              reason=f"lot {lot_id} expired", now=now)
            total += points
    return total


def remind_expiring_points(conn: Connection, station: Station, *, now: datetime) -> int:
    """One `points.expiring` reminder per lot that expires within the reminder window; returns how many."""
    horizon = now + timedelta(days=station.settings.loyalty.points_expiry_reminder_days)
    rows = conn.execute(
        "SELECT id, member_id, remaining, expires_at FROM points_entry WHERE kind = 'earn' AND remaining > 0"
        " AND expires_at > ? AND expires_at <= ? AND expiry_reminded_at IS NULL",
        (to_db_time(now), to_db_time(horizon)),
    ).fetchall()
    for row in rows:
        conn.execute("UPDATE points_entry SET expiry_reminded_at = ? WHERE id = ?", (to_db_time(now), row["id"]))
        append_event(
            conn, event_type="points.expiring", entity_id=row["member_id"],
            idem_key=f"points-expiring:{row['id']}",
            body={"member_id": row["member_id"], "lot": row["id"], "points": row["remaining"],
                  "expires_at": row["expires_at"], "balance": points_balance(conn, row["member_id"])},
            now=now,
        )
    return len(rows)


def prepaid_entry(
    conn: Connection, station: Station, *, member_id: str, kind: str, amount_minor: int, now: datetime,
    receipt_id: str | None = None, reason: str = "",
) -> str:
    """One stored-value movement (top_up, debit, refund, adjust); the balance never goes below zero."""
    before = prepaid_balance(conn, member_id)
    after = before + amount_minor
    if after < 0:
        raise RuleViolation(f"prepaid balance is {station.money(before)}; cannot take {station.money(-amount_minor)}")
    entry_id = uuid7()
    conn.execute(
        "INSERT INTO prepaid_entry (id, member_id, kind, amount_minor, receipt_id, reason, counted_by_hq, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, 0, ?)",
        (entry_id, member_id, kind, amount_minor, receipt_id, reason, to_db_time(now)),
    )
    body = {"entry_id": entry_id, "member_id": member_id, "amount_minor": amount_minor, "kind": kind,
            "receipt_id": receipt_id, "reason": reason, "balance_minor": after}
    append_event(conn, event_type=f"prepaid.{kind}", entity_id=member_id,
                 idem_key=f"prepaid:{entry_id}", body=body, now=now)
    threshold = station.settings.loyalty.low_balance_minor
    if after < threshold <= before:
        append_event(conn, event_type="prepaid.low_balance", entity_id=member_id,
                     idem_key=f"prepaid-low:{entry_id}", body=body | {"threshold_minor": threshold}, now=now)
    return entry_id


def top_up(conn: Connection, station: Station, *, member_id: str, amount_minor: int, method: str,
           reference: str = "", now: datetime) -> str:
    """Money handed over for the member's prepaid balance: a TOP_UP in the money ledger (+TENDER
    by `method`, −PREPAID: owed to the member until spent) and the member's prepaid entry."""
    if amount_minor <= 0:
        raise InvalidInput("amount", f"a top-up must be positive, not {station.money(amount_minor)}")
    if method not in TOP_UP_METHODS:
        raise InvalidInput("method", f"unknown top-up method {method!r} (one of {', '.join(TOP_UP_METHODS)})")
    money_ledger.post(conn, station, Kind.TOP_UP,
                      [Posting(Account.TENDER, amount_minor, method, reference=reference),
                       Posting(Account.PREPAID, -amount_minor)],
                      now=now, member_id=member_id, reference=reference)
    return prepaid_entry(conn, station, member_id=member_id, kind="top_up", amount_minor=amount_minor,
                         reason=f"{method} {reference}".strip(), now=now)
