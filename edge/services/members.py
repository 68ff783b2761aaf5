"""Members and vehicles (minimal for booking: phone, name, tier, credit score, plates)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlite3 import Connection

from edge.domain.ids import uuid7
from edge.domain.phones import looks_like_phone, normalize_phone
from edge.domain.plates import normalize_plate, validate_plate
from edge.domain.permissions import Actor, Permission, authorise
from edge.errors import InvalidInput, NotFound, RuleViolation
from edge.services import audit
from edge.services.ledgers import ensure_balance_row
from edge.services.station import Station
from edge.services.vehicle_sizes import check_size_class
from edge.store.outbox import append_event
from edge.store.types import to_db_time

_BIRTHDAY = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")


@dataclass(frozen=True, slots=True)
class MemberRecord:
    id: str
    phone: str
    name: str
    tier: str
    credit_score: int
    version: int

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "phone": self.phone, "name": self.name, "tier": self.tier,
            "credit_score": self.credit_score, "version": self.version,
        }


def typed_phone(station: Station, text: str) -> str:
    """A phone a person typed for a new member or sub-account, checked against the station's rule
    (mainland mobile numbers unless `[booking] foreign_phones` allows others)."""
    return normalize_phone(text, foreign_allowed=station.settings.booking.foreign_phones)


def find_member(conn: Connection, *, phone: str | None = None, member_id: str | None = None) -> MemberRecord | None:
    if member_id is not None:
        row = conn.execute(
            "SELECT id, phone, name, tier, credit_score, version FROM member WHERE id = ?", (member_id,)
        ).fetchone()
    else:
        row = conn.execute(
            "SELECT id, phone, name, tier, credit_score, version FROM member WHERE phone = ?",
            (normalize_phone(phone or "", foreign_allowed=True),),
        ).fetchone()
    return None if row is None else MemberRecord(*row)


def member_of_plate(conn: Connection, plate: str) -> MemberRecord | None:
    """The member a (normalised) plate is registered to, if any."""
    row = conn.execute("SELECT member_id FROM vehicle WHERE plate = ?", (plate,)).fetchone()
    if row is None or row["member_id"] is None:
        return None
    return find_member(conn, member_id=row["member_id"])


def require_tier(station: Station, tier: str) -> None:
    """InvalidInput("tier") unless `tier` is one of the station's tiers."""
    if tier not in station.tiers:
        raise InvalidInput("tier", f"unknown tier {tier!r} (tiers: {', '.join(station.tiers)})")


def customer_of(conn: Connection, *, phone: str | None, plate: str | None) -> MemberRecord | None:
    """The member a booking for this phone, else this plate, is made for (None: a guest, or a phone
    that booking would enrol at the guest tier)."""
    if phone:
        return find_member(conn, phone=phone)
    return member_of_plate(conn, normalize_plate(plate)) if plate else None


def get_member(conn: Connection, member_id: str) -> MemberRecord:
    member = find_member(conn, member_id=member_id)
    if member is None:
        raise NotFound(f"no member {member_id!r}")
    return member


def register_member(conn: Connection, station: Station, *, phone: str, now: datetime) -> MemberRecord:
    """The member with this phone, registering a new one at the guest tier if unknown
    (a phone booking enrols its caller); inside the caller's transaction."""
    existing = find_member(conn, phone=phone)
    if existing is not None:
        return existing
    member = _insert_member(conn, station, phone=phone, name="", tier=None, now=now)
    _record(conn, station, MemberProfile(member, ()), "member.created", now)
    return member


def _insert_member(
    conn: Connection, station: Station, *, phone: str, name: str, tier: str | None, now: datetime
) -> MemberRecord:
    member = MemberRecord(
        id=uuid7(), phone=typed_phone(station, phone), name=name, tier=tier or station.settings.booking.guest_tier,
        credit_score=station.settings.credit.initial, version=1,
    )
    stamp = to_db_time(now)
    conn.execute(
        "INSERT INTO member (id, phone, name, tier, credit_score, version, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, 1, ?, ?)",
        (member.id, member.phone, member.name, member.tier, member.credit_score, stamp, stamp),
    )
    return member


def adjust_credit(conn: Connection, station: Station, member: MemberRecord, delta: int, *, now: datetime) -> MemberRecord:
    """Move the no-show credit score by `delta`, never below the configured minimum."""
    score = max(station.settings.credit.minimum, member.credit_score + delta)
    if score == member.credit_score:
        return member
    return _store_credit(conn, station, member, score, action="member.credit", reason="", authorised_by=None, now=now)


def override_credit(station: Station, *, phone: str, score: int, reason: str, manager: Actor | None = None,
                    now: datetime | None = None) -> MemberRecord:
    """Set a member's credit score by hand (a no-show forgiven, a score restored): a manager's decision, with a reason."""
    answering = authorise(station.actor, Permission.CREDIT_OVERRIDE, manager)
    if not reason.strip():
        raise InvalidInput("reason", "a credit override needs a reason")
    if score < station.settings.credit.minimum:
        raise InvalidInput("score", f"the credit score cannot go below {station.settings.credit.minimum}")
    now = now or station.clock()
    with station.store.write() as conn:
        member = find_member(conn, phone=phone)
        if member is None:
            raise NotFound(f"no member with phone {phone!r}")
        return _store_credit(conn, station, member, score, action="member.credit_override", reason=reason.strip(),
                             authorised_by=answering.id, now=now)


def _store_credit(conn: Connection, station: Station, member: MemberRecord, score: int, *, action: str, reason: str,
                  authorised_by: str | None, now: datetime) -> MemberRecord:
    """The member's next version with `score`, its event to HQ and its audit entry."""
    updated = MemberRecord(member.id, member.phone, member.name, member.tier, score, member.version + 1)
    conn.execute(
        "UPDATE member SET credit_score = ?, version = ?, updated_at = ? WHERE id = ?",
        (score, updated.version, to_db_time(now), member.id),
    )
    _record(conn, station, _profile(conn, updated), "member.updated", now)
    audit.record(conn, station, action=action, entity="member", entity_id=member.id,
                 before={"credit_score": member.credit_score},
                 after={"credit_score": score, **({"reason": reason} if reason else {})},
                 authorised_by=authorised_by, now=now)
    return updated


def register_vehicle(conn: Connection, *, plate: str, member_id: str | None, now: datetime) -> str:
    """Record the plate (linked to the member when known); returns the normalised plate.

    No event of its own: HQ learns vehicles from the booking events that carry plate and member.
    """
    plate = normalize_plate(plate)
    conn.execute(
        "INSERT INTO vehicle (plate, member_id, model, created_at) VALUES (?, ?, '', ?)"
        " ON CONFLICT (plate) DO UPDATE SET member_id = excluded.member_id"
        " WHERE excluded.member_id IS NOT NULL AND member_id IS NOT excluded.member_id",
        (plate, member_id, to_db_time(now)),
    )
    return plate


def store_vehicle_size(conn: Connection, station: Station, *, plate: str, size_class: str, now: datetime) -> None:
    """Record the car's size class (the car too, if new); a member's car changes their profile:
    a member.updated event carries it to HQ. The same class again changes nothing."""
    plate = normalize_plate(plate)
    check_size_class(station, size_class)
    register_vehicle(conn, plate=plate, member_id=None, now=now)
    changed = conn.execute(
        "UPDATE vehicle SET size_class = ? WHERE plate = ? AND size_class IS NOT ? RETURNING member_id",
        (size_class, plate, size_class),
    ).fetchone()
    if changed is not None and changed[0] is not None:
        member = _bump(conn, get_member(conn, changed[0]), now=now)
        _record(conn, station, _profile(conn, member), "member.updated", now)


@dataclass(frozen=True, slots=True)
class VehicleSize:
    plate: str
    size_class: str
    member_id: str | None

    def to_json(self) -> dict[str, Any]:
        return {"plate": self.plate, "size_class": self.size_class, "member_id": self.member_id}


def set_vehicle_size(station: Station, *, plate: str, size_class: str, foreign_plate: bool = False,
                     now: datetime | None = None) -> VehicleSize:
    """Set the car's size class (one of [booking] size_classes): its bookings from now on take
    that class's durations and prices. One transaction."""
    now = now or station.clock()
    plate = validate_plate(plate, foreign=foreign_plate)
    check_size_class(station, size_class)
    with station.store.write() as conn:
        store_vehicle_size(conn, station, plate=plate, size_class=size_class, now=now)
        member = member_of_plate(conn, plate)
        return VehicleSize(plate, size_class, member.id if member else None)


def _record(conn: Connection, station: Station, profile: "MemberProfile", event_type: str, now: datetime) -> None:
    member = profile.member
    append_event(
        conn, event_type=event_type, entity_id=member.id,
        idem_key=f"member:{member.id}:{member.version}", body={"member": profile.to_json()}, now=now,
    )


@dataclass(frozen=True, slots=True)
class MemberProfile:
    member: MemberRecord
    plates: tuple[str, ...]
    sizes: tuple[tuple[str, str], ...] = ()  # (plate, size class) of the cars whose class is known

    def to_json(self) -> dict[str, Any]:
        return {**self.member.to_json(), "vehicles": list(self.plates), "vehicle_sizes": dict(self.sizes)}


def enroll(
    station: Station, *, phone: str, name: str = "", tier: str | None = None, plates: tuple[str, ...] = (),
    birthday: str | None = None, foreign_plates: bool = False, now: datetime | None = None,
) -> MemberProfile:
    """Register a new member with their vehicles; one transaction, one member.created event.

    `birthday` is 'MM-DD' (points count double that day); `foreign_plates` takes plates of
    other countries (edge.domain.plates.validate_plate)."""
    now = now or station.clock()
    phone = typed_phone(station, phone)
    plates = tuple(validate_plate(plate, foreign=foreign_plates) for plate in plates)
    if tier is not None:
        require_tier(station, tier)
    if birthday is not None and not _BIRTHDAY.match(birthday):
        raise InvalidInput("birthday", f"{birthday!r} is not MM-DD (e.g. 03-15)")
    with station.store.write() as conn:
        if find_member(conn, phone=phone) is not None:
            raise RuleViolation(f"a member with phone {phone} exists already")
        member = _insert_member(conn, station, phone=phone, name=name, tier=tier, now=now)
        ensure_balance_row(conn, station, member.id, now)
        if birthday is not None:
            conn.execute("UPDATE member_balance SET birthday = ? WHERE member_id = ?", (birthday, member.id))
        for plate in plates:
            register_vehicle(conn, plate=plate, member_id=member.id, now=now)
        profile = _profile(conn, member)
        _record(conn, station, profile, "member.created", now)
        return profile


def add_vehicle(
    station: Station, *, phone: str, plate: str, foreign_plate: bool = False, now: datetime | None = None
) -> MemberProfile:
    """Link a plate to a member (moving it from whoever had it); a member.updated event."""
    now = now or station.clock()
    plate = validate_plate(plate, foreign=foreign_plate)
    with station.store.write() as conn:
        member = find_member(conn, phone=phone)
        if member is None:
            raise NotFound(f"no member with phone {normalize_phone(phone, foreign_allowed=True)}")
        register_vehicle(conn, plate=plate, member_id=member.id, now=now)
        member = _bump(conn, member, now=now)
        profile = _profile(conn, member)
        _record(conn, station, profile, "member.updated", now)
        return profile


def lookup(station: Station, key: str) -> MemberProfile:
    """A member by phone number or by one of their plates."""
    with station.store.read() as conn:
        member = None
        if looks_like_phone(key):
            member = find_member(conn, phone=key)
        if member is None:
            member = member_of_plate(conn, normalize_plate(key))
        if member is None:
            raise NotFound(f"no member with phone or plate {key!r}")
        return _profile(conn, member)


def _profile(conn: Connection, member: MemberRecord) -> MemberProfile:
    rows = conn.execute("SELECT plate, size_class FROM vehicle WHERE member_id = ? ORDER BY plate",
                        (member.id,)).fetchall()
    return MemberProfile(member, tuple(row[0] for row in rows),
                         tuple((row[0], row[1]) for row in rows if row[1] is not None))


def _bump(conn: Connection, member: MemberRecord, *, now: datetime) -> MemberRecord:
    conn.execute(
        "UPDATE member SET version = version + 1, updated_at = ? WHERE id = ?", (to_db_time(now), member.id)
    )
    return MemberRecord(member.id, member.phone, member.name, member.tier, member.credit_score, member.version + 1)
