"""Member balances at HQ (docs/protocol.md, "Member balances").

HQ holds every member's points and prepaid balance; stations send deltas (`points.*`,
`prepaid.*` events, each naming its ledger entry) and profiles (`member.created`,
`member.updated`). `on_station_event` folds them into `hq_member`, once per entry (the entry's
primary key, besides the ingest's idem_key guard), and queues a `member.snapshot` to every
station that knows the member: the balances, and the entries of that station HQ has counted
which the station may not have marked yet. The station then shows snapshot + entries HQ has not
counted, which is the balance it showed before.

A delta that takes a balance below zero (two stations each let the member spend the same
points while cut off from each other) is a fact and is applied: the balance goes negative, the
snapshot says so (the station then refuses redemptions until it is paid back) and an
`hq_alert` row of kind `member_overdrawn` tells a person.

A member gets one snapshot per station per transaction: folding only notes the member, and the
snapshots are queued when the transaction commits (a `before_commit` listener on the session),
from the balances as they are then. Everything runs in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event, or_, select, update
from sqlmodel import Session

from sync.errors import SyncError
from sync.hq.db import insert_ignore
from sync.hq.downlink import enqueue_downlink, lock_down_cursor
from sync.hq.member_tables import HqMember, HqMemberEntry, HqMemberStation
from sync.hq.tables import HqAlert

M, E, S = HqMember.__table__, HqMemberEntry.__table__, HqMemberStation.__table__
AL = HqAlert.__table__
STREAM, SNAPSHOT = "member", "member.snapshot"
_PROFILE_EVENTS = ("member.created", "member.updated")
_LEDGERS = {"points.earned": ("points", "points"), "points.redeemed": ("points", "points"),
            "points.expired": ("points", "points"), "points.adjusted": ("points", "points"),
            "prepaid.top_up": ("prepaid", "amount_minor"), "prepaid.debit": ("prepaid", "amount_minor"),
            "prepaid.refund": ("prepaid", "amount_minor"), "prepaid.adjust": ("prepaid", "amount_minor")}
_BALANCE = {"points": M.c.points, "prepaid": M.c.prepaid_minor}
_PENDING = "hq_member_pending"  # session.info key: the members this transaction changed


class MemberEventInvalid(SyncError):
    """A points or prepaid event HQ cannot fold (the station gets it back as rejected)."""


class MemberNotFound(SyncError):
    """No member at HQ by that id or phone."""


@dataclass(frozen=True, slots=True)
class MemberView:
    member_id: str
    phone: str
    name: str
    tier: str
    points: int
    prepaid_minor: int
    version: int
    stations: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"member_id": self.member_id, "phone": self.phone, "name": self.name, "tier": self.tier,
                "points": self.points, "prepaid_minor": self.prepaid_minor, "version": self.version,
                "stations": list(self.stations)}


# -- what stations send ---------------------------------------------------------------------------


def on_station_event(session: Session, station_id: str, event: dict[str, Any], now: datetime) -> None:
    """The member ledger's share of a station event HQ applies (in the ingest's transaction)."""
    kind = event["type"]
    body = event.get("body") or {}
    if kind in _PROFILE_EVENTS:
        profile = body.get("member")
        # a member event without a profile carries nothing HQ keeps about the member
        if isinstance(profile, dict) and profile.get("phone"):
            member_id = str(profile.get("id") or event["entity_id"])
            _fold_profile(session, station_id, member_id, profile, event.get("hlc", ""), now)
            _changed(session, member_id, now)
    elif kind in _LEDGERS:
        ledger, field = _LEDGERS[kind]
        try:
            member_id, entry_id, amount = str(body.get("member_id") or event["entity_id"]), str(body["entry_id"]), \
                int(body[field])
        except (KeyError, TypeError, ValueError) as err:
            raise MemberEventInvalid(f"{kind} needs entry_id, member_id and a whole {field}: {err}") from err
        if _fold_entry(session, station_id, member_id, ledger, entry_id, kind, amount, now):
            _changed(session, member_id, now)


def _ensure_member(session: Session, station_id: str, member_id: str, now: datetime) -> None:
    insert_ignore(session, M, [{"member_id": member_id, "phone": "", "name": "", "tier": "", "profile_hlc": "",
                                "points": 0, "prepaid_minor": 0, "version": 0, "updated_at": now}])
    insert_ignore(session, S, [{"member_id": member_id, "station_id": station_id, "first_seen_at": now}])


def _fold_profile(session: Session, station_id: str, member_id: str, profile: dict[str, Any], hlc: str,
                  now: datetime) -> None:
    """The profile of the latest member event by HLC, whichever station sent it."""
    _ensure_member(session, station_id, member_id, now)
    phone = str(profile["phone"])
    changed = session.execute(update(M).where(M.c.member_id == member_id, M.c.profile_hlc <= hlc).values(
        phone=phone, name=str(profile.get("name") or ""), tier=str(profile.get("tier") or ""), profile_hlc=hlc,
        version=M.c.version + 1, updated_at=now)).rowcount
    if changed:
        other = session.execute(select(M.c.member_id).where(M.c.phone == phone, M.c.member_id != member_id)
                                .limit(1)).scalar()
        if other is not None:
            _alert(session, station_id, "member_phone_clash",
                   f"member {member_id} has phone {phone}, as member {other} has", now)


def _fold_entry(session: Session, station_id: str, member_id: str, ledger: str, entry_id: str, event_type: str,
                amount: int, now: datetime) -> bool:
    """Count one station entry in the member's balance; False if HQ had counted it already."""
    _ensure_member(session, station_id, member_id, now)
    inserted = insert_ignore(session, E, [{"ledger": ledger, "entry_id": entry_id, "station_id": station_id,
                                           "member_id": member_id, "event_type": event_type, "amount": amount,
                                           "reported_seq": None, "counted_at": now}], returning=("entry_id",))
    if not inserted:
        return False
    column = _BALANCE[ledger]
    balance = session.execute(update(M).where(M.c.member_id == member_id).values(
        {column: column + amount, M.c.version: M.c.version + 1, M.c.updated_at: now}).returning(column)).scalar_one()
    if amount < 0 and balance < 0:
        _alert(session, station_id, "member_overdrawn",
               f"member {member_id}: {ledger} balance {balance} after {event_type} {amount} (entry {entry_id}); "
               "the stations let it be spent twice while apart", now)
    return True


def _alert(session: Session, station_id: str, kind: str, detail: str, now: datetime) -> None:
    session.execute(AL.insert().values(station_id=station_id, kind=kind, detail=detail[:2000], created_at=now))


# -- snapshots down -------------------------------------------------------------------------------------


def _changed(session: Session, member_id: str, now: datetime) -> None:
    """Note the member for the snapshots queued when the session's transaction commits."""
    transaction = session.get_transaction()
    held = session.info.get(_PENDING)
    if held is None or held[0] is not transaction:  # the first change of this transaction
        held = session.info[_PENDING] = (transaction, {})
        if not event.contains(session, "before_commit", _queue_changed):
            event.listen(session, "before_commit", _queue_changed)
    held[1][member_id] = now


def _queue_changed(session: Session) -> None:
    """Before the commit: one snapshot of each changed member for every station that knows it."""
    held = session.info.pop(_PENDING, None)
    if held is None or held[0] is not session.get_transaction():
        return
    for member_id, now in sorted(held[1].items()):
        for station_id in session.execute(select(S.c.station_id).where(S.c.member_id == member_id)
                                          .order_by(S.c.station_id)).scalars().all():
            queue_snapshot(session, station_id, member_id, now)


def queue_snapshot(session: Session, station_id: str, member_id: str, now: datetime) -> int | None:
    """Queue the member's snapshot for the station; its downlink seq (None while HQ has no profile
    to send: the station needs phone and tier)."""
    member = session.execute(select(M).where(M.c.member_id == member_id)).first()
    if member is None:
        raise MemberNotFound(f"no member {member_id!r} at HQ")
    if not member.phone or not member.tier:
        return None
    applied = lock_down_cursor(session, station_id, STREAM).applied_upto
    # the station may not have applied earlier snapshots yet (or they were compacted away): every
    # entry not known to be marked at the station is listed again (marking twice is harmless)
    unmarked = (E.c.station_id == station_id, E.c.member_id == member_id,
                or_(E.c.reported_seq.is_(None), E.c.reported_seq > applied))
    counted: dict[str, list[str]] = {"points": [], "prepaid": []}
    for ledger, entry_id in session.execute(select(E.c.ledger, E.c.entry_id).where(*unmarked)
                                            .order_by(E.c.ledger, E.c.counted_at, E.c.entry_id)):
        counted[ledger].append(entry_id)
    body = {"member_id": member_id, "phone": member.phone, "name": member.name, "tier": member.tier,
            "points": member.points, "prepaid_minor": member.prepaid_minor,
            "counted_points": counted["points"], "counted_prepaid": counted["prepaid"]}
    seq = enqueue_downlink(session, station_id, STREAM, SNAPSHOT, member_id, body, now)
    session.execute(update(E).where(*unmarked).values(reported_seq=seq))
    insert_ignore(session, S, [{"member_id": member_id, "station_id": station_id, "first_seen_at": now}])
    return seq


# -- for people ---------------------------------------------------------------------------------------------


def find_member(session: Session, key: str) -> MemberView:
    """A member by id or phone (MemberNotFound if none, or if the phone is not unique)."""
    rows = session.execute(select(M).where(or_(M.c.member_id == key, M.c.phone == key))
                           .order_by(M.c.member_id)).all()
    exact = [r for r in rows if r.member_id == key] or rows
    if not exact:
        raise MemberNotFound(f"no member with id or phone {key!r} at HQ")
    if len(exact) > 1:
        raise MemberNotFound(f"phone {key} belongs to {len(exact)} members at HQ "
                             f"({', '.join(r.member_id for r in exact)}): give the member id")
    row = exact[0]
    stations = tuple(session.execute(select(S.c.station_id).where(S.c.member_id == row.member_id)
                                     .order_by(S.c.station_id)).scalars().all())
    return MemberView(row.member_id, row.phone, row.name, row.tier, row.points, row.prepaid_minor, row.version,
                      stations)


def resend_snapshot(session: Session, key: str, now: datetime, station_id: str | None = None
                    ) -> dict[str, int]:
    """Queue the member's snapshot again, for one station (which then keeps getting them) or for
    every station that knows the member; {station: seq}."""
    member = find_member(session, key)
    targets = [station_id] if station_id else list(member.stations)
    sent = {}
    for target in targets:
        seq = queue_snapshot(session, target, member.member_id, now)
        if seq is None:
            raise MemberNotFound(f"member {member.member_id} has no phone and tier at HQ yet: nothing to send")
        sent[target] = seq
    return sent
