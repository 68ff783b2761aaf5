"""Member balances at HQ (docs/protocol.md, "Member balances").

HQ holds every member's points and prepaid balance; stations send deltas (`points.*`,
`prepaid.*` events, each naming its ledger entry) and profiles (`member.created`,
`member.updated`). `on_station_event` folds them into `hq_member`, once per entry (the entry's
primary key, besides the ingest's idem_key guard), and queues a `member.snapshot` to every
station that knows the member: the balances, and the entries of that station HQ has counted
which the station may not have marked yet. The station then shows snapshot + entries HQ has not
counted, which is the balance it showed before. A member only one station knows costs no
downlink: that station wrote everything HQ holds of it (its first snapshot comes once a second
station knows the member, or when the station's database begins a new epoch).

A delta that takes a balance below zero (two stations each let the member spend the same
points while cut off from each other) is a fact and is applied: the balance goes negative, the
snapshot says so (the station then refuses redemptions until it is paid back) and an
`hq_alert` row of kind `member_overdrawn` tells a person.

Folding an entry is two statements on the database driver (the entry, and an upsert of the
member's balance), so it holds or is undone with the ingest's savepoint around its event. A
member gets one snapshot per station per transaction: folding only notes the member, and the
snapshots are queued when the transaction commits (a `before_commit` listener on the session),
from the balances as they are then, a station at a time. Everything runs in the caller's
transaction.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import bindparam, event, or_, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from sync.errors import SyncError
from sync.hq.db import Driver, insert_ignore
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
_PENDING = "hq_member_pending"  # session.info key: what this transaction changed
_CHUNK = 500  # values of one IN list


class _Sql:
    """The statements of folding an entry, as driver SQL (see `Driver`)."""

    def __init__(self, driver: Driver) -> None:
        q = driver.sql
        self.driver = driver
        self.entry = q("INSERT INTO hq_member_entry (ledger, entry_id, station_id, member_id, event_type, amount,"
                       " reported_seq, counted_at) VALUES (?, ?, ?, ?, ?, ?, NULL, ?) ON CONFLICT DO NOTHING"
                       " RETURNING entry_id")
        # the member row is made by its first entry if no profile came before (prepaid travels on
        # the payment stream, which drains before the member stream)
        self.add = q("INSERT INTO hq_member (member_id, phone, name, tier, profile_hlc, points, prepaid_minor, version,"
                     " updated_at) VALUES (?, '', '', '', '', ?, ?, 1, ?) ON CONFLICT (member_id) DO UPDATE SET"
                     " points = hq_member.points + excluded.points,"
                     " prepaid_minor = hq_member.prepaid_minor + excluded.prepaid_minor,"
                     " version = hq_member.version + 1, updated_at = excluded.updated_at"
                     " RETURNING points, prepaid_minor")


_BY_ENGINE: WeakKeyDictionary[Engine, _Sql] = WeakKeyDictionary()


def _statements(engine: Engine) -> _Sql:
    sql = _BY_ENGINE.get(engine)
    if sql is None:
        sql = _BY_ENGINE[engine] = _Sql(Driver(engine))
    return sql


@dataclass
class _Changed:
    """What one transaction changed: members to snapshot, stations that spoke of them."""

    transaction: Any
    members: dict[str, datetime] = field(default_factory=dict)
    pairs: set[tuple[str, str]] = field(default_factory=set)  # (member, station)


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
            _changed(session, station_id, member_id, now)
    elif kind in _LEDGERS:
        ledger, amount_field = _LEDGERS[kind]
        try:
            member_id, entry_id = str(body.get("member_id") or event["entity_id"]), str(body["entry_id"])
            amount = int(body[amount_field])
        except (KeyError, TypeError, ValueError) as err:
            raise MemberEventInvalid(f"{kind} needs entry_id, member_id and a whole {amount_field}: {err}") from err
        if _fold_entry(session, station_id, member_id, ledger, entry_id, kind, amount, now):
            _changed(session, station_id, member_id, now)


def _fold_profile(session: Session, station_id: str, member_id: str, profile: dict[str, Any], hlc: str,
                  now: datetime) -> None:
    """The profile of the latest member event by (HLC, station), whichever station sent it."""
    insert_ignore(session, M, [{"member_id": member_id, "phone": "", "name": "", "tier": "", "profile_hlc": "",
                                "points": 0, "prepaid_minor": 0, "version": 0, "updated_at": now}])
    phone = str(profile["phone"])
    # HLCs of two stations may be equal: the station id breaks the tie, so the same events give
    # the same profile in any order of delivery
    stamp = f"{hlc}/{station_id}"
    changed = session.execute(update(M).where(M.c.member_id == member_id, M.c.profile_hlc < stamp).values(
        phone=phone, name=str(profile.get("name") or ""), tier=str(profile.get("tier") or ""), profile_hlc=stamp,
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
    sql = _statements(session.get_bind())
    cursor, at = sql.driver.cursor(session), sql.driver.time(now)
    cursor.execute(sql.entry, (ledger, entry_id, station_id, member_id, event_type, amount, at))
    if cursor.fetchone() is None:
        return False
    points, prepaid = (amount, 0) if ledger == "points" else (0, amount)
    cursor.execute(sql.add, (member_id, points, prepaid, at))
    balance = cursor.fetchone()[0 if ledger == "points" else 1]
    if amount < 0 and balance < 0:
        _alert(session, station_id, "member_overdrawn",
               f"member {member_id}: {ledger} balance {balance} after {event_type} {amount} (entry {entry_id}); "
               "the stations let it be spent twice while apart", now)
    return True


def _alert(session: Session, station_id: str, kind: str, detail: str, now: datetime) -> None:
    session.execute(AL.insert().values(station_id=station_id, kind=kind, detail=detail[:2000], created_at=now))


# -- snapshots down -------------------------------------------------------------------------------------


def _changed(session: Session, station_id: str, member_id: str, now: datetime) -> None:
    """Note the member for the snapshots queued when the session's transaction commits."""
    transaction = session.get_transaction()
    changed = session.info.get(_PENDING)
    if changed is None or changed.transaction is not transaction:  # the first change of this transaction
        changed = session.info[_PENDING] = _Changed(transaction)
        if not event.contains(session, "before_commit", _queue_changed):
            event.listen(session, "before_commit", _queue_changed)
    changed.members[member_id] = now
    changed.pairs.add((member_id, station_id))


def _queue_changed(session: Session) -> None:
    """Before the commit: one snapshot of each changed member for every station that knows it."""
    changed = session.info.pop(_PENDING, None)
    if changed is None or changed.transaction is not session.get_transaction():
        return
    now = max(changed.members.values())
    insert_ignore(session, S, [{"member_id": m, "station_id": st, "first_seen_at": now}
                               for m, st in sorted(changed.pairs)])
    knowers: dict[str, set[str]] = {}
    for ids in _chunks(sorted(changed.members)):
        for member_id, station_id in session.execute(select(S.c.member_id, S.c.station_id)
                                                     .where(S.c.member_id.in_(ids))):
            knowers.setdefault(member_id, set()).add(station_id)
    by_station: dict[str, list[str]] = {}
    for member_id, stations in knowers.items():
        if len(stations) < 2:
            continue  # only the station that wrote it knows the member: it has everything HQ counted
        for station_id in stations:
            by_station.setdefault(station_id, []).append(member_id)
    for station_id in sorted(by_station):
        queue_snapshots(session, station_id, sorted(by_station[station_id]), now)


def resnapshot_station(session: Session, station_id: str, now: datetime) -> int:
    """Queue a snapshot of every member the station knows (its database was restored or began a
    new epoch: what HQ counted of its own members may be missing there); members queued."""
    members = session.execute(select(S.c.member_id).where(S.c.station_id == station_id)
                              .order_by(S.c.member_id)).scalars().all()
    for ids in _chunks(members):
        queue_snapshots(session, station_id, ids, now)
    return len(members)


def queue_snapshots(session: Session, station_id: str, member_ids: Sequence[str], now: datetime) -> dict[str, int]:
    """Queue a snapshot of each member for the station: {member: downlink seq}. A member HQ has
    no phone and tier of yet is left out (the station needs both)."""
    applied = lock_down_cursor(session, station_id, STREAM).applied_upto
    members, counted = {}, {m: {"points": [], "prepaid": []} for m in member_ids}
    # the station may not have applied earlier snapshots yet (or they were compacted away): every
    # entry not known to be marked at the station is listed again (marking twice is harmless)
    unmarked = (E.c.station_id == station_id, or_(E.c.reported_seq.is_(None), E.c.reported_seq > applied))
    for ids in _chunks(member_ids):
        members.update((r.member_id, r) for r in session.execute(select(M).where(M.c.member_id.in_(ids))))
        for member_id, ledger, entry_id in session.execute(
                select(E.c.member_id, E.c.ledger, E.c.entry_id).where(*unmarked, E.c.member_id.in_(ids))
                .order_by(E.c.member_id, E.c.ledger, E.c.counted_at, E.c.entry_id)):
            counted[member_id][ledger].append(entry_id)
    seqs = {}
    for member_id in member_ids:
        member = members.get(member_id)
        if member is None or not member.phone or not member.tier:
            continue
        body = {"member_id": member_id, "phone": member.phone, "name": member.name, "tier": member.tier,
                "points": member.points, "prepaid_minor": member.prepaid_minor,
                "counted_points": counted[member_id]["points"], "counted_prepaid": counted[member_id]["prepaid"]}
        seqs[member_id] = enqueue_downlink(session, station_id, STREAM, SNAPSHOT, member_id, body, now)
    if seqs:
        session.execute(update(E).where(*unmarked, E.c.member_id == bindparam("b_member"))
                        .values(reported_seq=bindparam("b_seq")),
                        [{"b_member": m, "b_seq": seq} for m, seq in seqs.items()])
    return seqs


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


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
    if not member.phone or not member.tier:
        raise MemberNotFound(f"member {member.member_id} has no phone and tier at HQ yet: nothing to send")
    targets = [station_id] if station_id else list(member.stations)
    insert_ignore(session, S, [{"member_id": member.member_id, "station_id": t, "first_seen_at": now}
                               for t in targets])
    return {t: queue_snapshots(session, t, [member.member_id], now)[member.member_id] for t in targets}
