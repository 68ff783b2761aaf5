"""Slot escrow at HQ: app bookings on HQ's own cells, decisions on stations' tentative bookings,
leases with fencing tokens (docs/protocol.md, "Escrow").

HQ computes each station's split with the same rule as the station (edge.domain.escrow), from
the numbers `configure_station` stored (the station's [escrow] section). HQ confirms only on
cells it holds: owner HQ by the split or by an acked revoke, and not being handed over. Every
cell HQ sells or promises gets a row in hq_escrow_claim, whose primary key makes HQ's own
double booking impossible. A booking over several bays (legs) is claimed whole or not at all,
decided once and freed whole. Everything here runs in the caller's transaction; messages to
the station go through the downlink log in that same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlmodel import Session

from edge.domain.escrow import HQ, STATION, LeaseKind, Ownership, SplitRule, cell_starts, near_term, ownership
from edge.domain.ids import uuid7
from edge.store.types import from_db_time, to_db_time
from sync.errors import SyncError
from sync.hq.db import insert_ignore
from sync.hq.downlink import enqueue_downlink
from sync.hq.escrow_tables import (
    HqEscrowBooking,
    HqEscrowCell,
    HqEscrowClaim,
    HqEscrowLeg,
    HqEscrowStation,
    HqLease,
)

STN, CELL, CLAIM = HqEscrowStation.__table__, HqEscrowCell.__table__, HqEscrowClaim.__table__
BOOKING, LEG, LEASE = HqEscrowBooking.__table__, HqEscrowLeg.__table__, HqLease.__table__
_RELEASING = ("booking.cancelled", "booking.rejected", "booking.expired", "booking.no_show", "booking.rescheduled")


class EscrowRefused(SyncError):
    """HQ will not do this escrow step: the cells are taken, not HQ's, or there is nothing to lease."""


@dataclass(frozen=True, slots=True)
class StationSplit:
    rule: SplitRule
    slot_minutes: int
    near_term_hours: int


def configure_station(session: Session, station_id: str, *, hq_share: float, block_minutes: int = 120,
                      slot_minutes: int = 30, near_term_hours: int = 4, now: datetime) -> StationSplit:
    """Store a station's split (the numbers of its [escrow] section and its slot length)."""
    if not 0 <= hq_share <= 1:
        raise EscrowRefused(f"hq_share must be 0.0-1.0, got {hq_share}")
    if slot_minutes not in (30, 60) or block_minutes <= 0 or block_minutes % slot_minutes:
        raise EscrowRefused("slot_minutes must be 30 or 60 and block_minutes a positive whole number of slots")
    rule = SplitRule.from_share(station_id, hq_share, block_minutes)
    values = {"hq_permille": rule.hq_permille, "block_minutes": block_minutes, "slot_minutes": slot_minutes,
              "near_term_hours": near_term_hours, "updated_at": now}
    insert_ignore(session, STN, [{"station_id": station_id, "last_token": 0, **values}])
    session.execute(update(STN).where(STN.c.station_id == station_id).values(**values))
    return StationSplit(rule, slot_minutes, near_term_hours)


def station_split(session: Session, station_id: str) -> StationSplit:
    """The station's split; a station never configured keeps every cell (share 0), as its default does."""
    row = session.execute(select(STN).where(STN.c.station_id == station_id)).first()
    if row is None:
        return StationSplit(SplitRule(station_id), 30, 4)
    return StationSplit(SplitRule(station_id, row.hq_permille, row.block_minutes), row.slot_minutes,
                        row.near_term_hours)


# -- HQ's view of the cells -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CellView:
    ownership: Ownership
    state: str  # held, granting, revoking

    @property
    def hq_holds(self) -> bool:
        return self.ownership.owner == HQ and self.state == "held"


def _views(session: Session, station_id: str, split: StationSplit, bay_id: str, cells: list[str]) -> dict[str, CellView]:
    rows = {r.slot_start: r for r in session.execute(select(CELL).where(
        CELL.c.station_id == station_id, CELL.c.bay_id == bay_id, CELL.c.slot_start.in_(cells)))}
    views = {}
    for cell in cells:
        row = rows.get(cell)
        moved = Ownership(row.owner, row.token) if row is not None else None
        views[cell] = CellView(ownership(split.rule, bay_id, from_db_time(cell), moved), row.state if row else "held")
    return views


def _claimed(session: Session, station_id: str, bay_id: str, cells: list[str]) -> dict[str, str]:
    return {r.slot_start: r.booking_id for r in session.execute(select(CLAIM).where(
        CLAIM.c.station_id == station_id, CLAIM.c.bay_id == bay_id, CLAIM.c.slot_start.in_(cells)))}


def _claim(session: Session, station_id: str, legs: Sequence[tuple[str, list[str]]], booking_id: str) -> bool:
    """Claim all cells of every (bay, cells) leg for the booking, or none (False) if any is taken."""
    rows = [{"station_id": station_id, "bay_id": bay_id, "slot_start": c, "booking_id": booking_id}
            for bay_id, cells in legs for c in cells]
    if not rows:
        return True
    inserted = insert_ignore(session, CLAIM, rows, returning=("slot_start",))
    if len(inserted) == len(rows):
        return True
    _release(session, station_id, booking_id)
    return False


def _record_booking(session: Session, station_id: str, booking_id: str, *, origin: str,
                    legs: Sequence[tuple[str, list[str]]], services: list[str], plate: str, state: str,
                    reason: str, now: datetime) -> None:
    """HQ's row of the booking (with its first leg's bay and cells) and a row per leg."""
    bay_id, cells = legs[0]
    session.execute(BOOKING.insert().values(
        station_id=station_id, booking_id=booking_id, origin=origin, bay_id=bay_id, cells=cells,
        services=services, plate=plate, state=state, reason=reason, created_at=now, updated_at=now))
    session.execute(LEG.insert(), [{"station_id": station_id, "booking_id": booking_id, "seq": seq,
                                    "bay_id": leg_bay, "cells": leg_cells}
                                   for seq, (leg_bay, leg_cells) in enumerate(legs)])


def _release(session: Session, station_id: str, booking_id: str) -> None:
    session.execute(delete(CLAIM).where(CLAIM.c.station_id == station_id, CLAIM.c.booking_id == booking_id))


# -- app bookings -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AppLeg:
    """One leg of an app booking: `cells` consecutive cells of `bay_id` from `start`."""

    bay_id: str
    start: datetime
    cells: int


def book_app(session: Session, station_id: str, *, services: list[str], plate: str, now: datetime,
             legs: Sequence[AppLeg] = (), bay_id: str = "", start: datetime | None = None, cells: int = 1,
             notes: str = "", booking_id: str | None = None) -> dict[str, Any]:
    """Book an app customer's `legs` (or the one leg `cells` cells of `bay_id` from `start`).

    HQ knows no station's bays or leg rules: the app names each leg, and the station checks
    them against its catalogue when the booking arrives (refusing it if they do not fit).
    HQ claims every leg's cells or none. On cells HQ holds, all of them, HQ confirms at once
    and tells the station (`app_booking.confirmed`). Otherwise the booking is tentative and the
    station, owner of some of the cells, decides for the whole (`app_booking.requested`).
    Raises EscrowRefused if a cell is already sold or promised by HQ, or the legs overlap.
    """
    if bool(legs) == bool(bay_id):
        raise EscrowRefused("name the booking's legs, or one bay with its start")
    if not legs:
        if start is None:
            raise EscrowRefused(f"bay {bay_id}: the start is missing")
        legs = (AppLeg(bay_id, start, cells),)
    split = station_split(session, station_id)
    by_leg = [(leg.bay_id, [to_db_time(s) for s in cell_starts(leg.start, leg.cells, split.slot_minutes)])
              for leg in legs]
    for (_, before), (later_bay, after) in zip(by_leg, by_leg[1:]):
        if after[0] <= before[-1]:
            raise EscrowRefused(f"the leg on bay {later_bay} at {after[0]} does not follow the leg before it")
    views = [view for bay, cells_ in by_leg for view in _views(session, station_id, split, bay, cells_).values()]
    booking_id = booking_id or uuid7()
    # every cell of an app booking is claimed, the station's too: HQ then never leases away or
    # asks back a cell its app customer waits for, whatever order the station applies them in
    if not _claim(session, station_id, by_leg, booking_id):
        taken = " or ".join(f"bay {bay} at {cells_[0]}" for bay, cells_ in by_leg)
        raise EscrowRefused(f"{taken} is already sold or promised in the app")
    confirmed = all(view.hq_holds for view in views)
    state = "confirmed" if confirmed else "tentative"
    _record_booking(session, station_id, booking_id, origin="app", legs=by_leg, services=list(services),
                    plate=plate, state=state, reason="", now=now)
    named = [{"bay_id": bay, "cells": cells_} for bay, cells_ in by_leg]
    body = {"booking_id": booking_id, "bay_id": named[0]["bay_id"], "cells": named[0]["cells"],
            "services": list(services), "plate": plate, "notes": notes,
            "token": max(view.ownership.token for view in views)}
    if len(named) > 1:  # a single leg goes as before legs, so every station reads it
        body["legs"] = named
    enqueue_downlink(session, station_id, "booking", "app_booking.confirmed" if confirmed else "app_booking.requested",
                     booking_id, body, now)
    return {"booking_id": booking_id, "state": state, "bay_id": named[0]["bay_id"], "cells": named[0]["cells"],
            "legs": named}


# -- leases -------------------------------------------------------------------------------------------


def _next_token(session: Session, station_id: str, now: datetime) -> int:
    insert_ignore(session, STN, [{"station_id": station_id, "hq_permille": 0, "block_minutes": 120,
                                  "slot_minutes": 30, "near_term_hours": 4, "last_token": 0, "updated_at": now}])
    row = session.execute(select(STN.c.last_token).where(STN.c.station_id == station_id).with_for_update()).one()
    token = row.last_token + 1
    session.execute(update(STN).where(STN.c.station_id == station_id).values(last_token=token))
    return token


def _range(split: StationSplit, start: datetime, end: datetime) -> list[str]:
    count = int((end - start).total_seconds() // 60) // split.slot_minutes
    if count <= 0:
        raise EscrowRefused(f"the range {to_db_time(start)} to {to_db_time(end)} holds no whole cell")
    return [to_db_time(s) for s in cell_starts(start, count, split.slot_minutes)]


def _send_lease(session: Session, station_id: str, kind: LeaseKind, bay_id: str, cells: list[str],
                now: datetime) -> dict[str, Any]:
    token = _next_token(session, station_id, now)
    lease_id = uuid7()
    state = "granting" if kind == LeaseKind.GRANT else "revoking"
    for cell in cells:
        key = {"station_id": station_id, "bay_id": bay_id, "slot_start": cell}
        values = {"owner": STATION, "state": state, "token": token, "lease_id": lease_id, "updated_at": now}
        insert_ignore(session, CELL, [{**key, **values}])
        session.execute(update(CELL).where(*(CELL.c[k] == v for k, v in key.items())).values(**values))
    session.execute(LEASE.insert().values(lease_id=lease_id, station_id=station_id, kind=str(kind), bay_id=bay_id,
                                          cells=cells, token=token, state="sent", applied=[], refused={},
                                          created_at=now, acked_at=None))
    enqueue_downlink(session, station_id, "lease", f"lease.{kind}", lease_id,
                     {"lease_id": lease_id, "bay_id": bay_id, "cells": cells, "token": token}, now)
    return {"lease_id": lease_id, "kind": str(kind), "token": token, "bay_id": bay_id, "cells": cells}


def grant_lease(session: Session, station_id: str, *, bay_id: str, start: datetime, end: datetime,
                now: datetime) -> dict[str, Any]:
    """Hand the station HQ's unsold cells of `bay_id` in [start, end). HQ stops selling them at
    once; the station owns them when the lease arrives (and acks it)."""
    split = station_split(session, station_id)
    texts = _range(split, start, end)
    views = _views(session, station_id, split, bay_id, texts)
    claimed = _claimed(session, station_id, bay_id, texts)
    cells = [c for c in texts if views[c].hq_holds and c not in claimed]
    if not cells:
        raise EscrowRefused(f"HQ holds no unsold cell of bay {bay_id} from {texts[0]} to {to_db_time(end)}")
    return _send_lease(session, station_id, LeaseKind.GRANT, bay_id, cells, now)


def grant_near_term(session: Session, station_id: str, *, bay_ids: Iterable[str], now: datetime,
                    hours: int | None = None) -> list[dict[str, Any]]:
    """The near-term rule: HQ's unsold cells starting within the next hours go to the station,
    so walk-ins can have them while the link is down. One lease per bay that has any."""
    split = station_split(session, station_id)
    hours = split.near_term_hours if hours is None else hours
    step = split.slot_minutes * 60
    first = datetime.fromtimestamp(-(-int(now.timestamp()) // step) * step, UTC)  # the next cell boundary
    leases = []
    for bay_id in bay_ids:
        texts = [to_db_time(s) for s in near_term(
            cell_starts(first, max(1, hours * 60 // split.slot_minutes), split.slot_minutes), now, hours)]
        if not texts:
            continue
        views = _views(session, station_id, split, bay_id, texts)
        claimed = _claimed(session, station_id, bay_id, texts)
        cells = [c for c in texts if views[c].hq_holds and c not in claimed]
        if cells:
            leases.append(_send_lease(session, station_id, LeaseKind.GRANT, bay_id, cells, now))
    return leases


def revoke_lease(session: Session, station_id: str, *, bay_id: str, start: datetime, end: datetime,
                 now: datetime) -> dict[str, Any]:
    """Ask the station for its cells of `bay_id` in [start, end) back. Cells with an HQ booking
    are left out; the station keeps those it has booked. HQ owns the rest once the ack arrives."""
    split = station_split(session, station_id)
    texts = _range(split, start, end)
    views = _views(session, station_id, split, bay_id, texts)
    claimed = _claimed(session, station_id, bay_id, texts)
    cells = [c for c in texts if views[c].ownership.owner == STATION and views[c].state == "held" and c not in claimed]
    if not cells:
        raise EscrowRefused(f"the station holds no cell of bay {bay_id} from {texts[0]} to {to_db_time(end)} "
                            "that HQ could ask back")
    return _send_lease(session, station_id, LeaseKind.REVOKE, bay_id, cells, now)


# -- what stations send ---------------------------------------------------------------------------------


def on_station_event(session: Session, station_id: str, event: dict[str, Any], now: datetime) -> None:
    """Escrow's share of every station event HQ applies (in the ingest's transaction, on its clock)."""
    handler = _EVENT_HANDLERS.get(event["type"])
    if handler is not None:
        handler(session, station_id, event["body"], now)
    elif event["type"] in _RELEASING:
        _booking_left(session, station_id, event["entity_id"], event["type"], now)


def _station_request(session: Session, station_id: str, body: dict[str, Any], now: datetime) -> None:
    """A station's tentative booking: HQ confirms if every cell HQ holds of every leg it names is
    free, claiming them all; otherwise it claims none and rejects the booking."""
    booking_id = body["booking_id"]
    if session.execute(select(BOOKING.c.state).where(BOOKING.c.station_id == station_id,
                                                     BOOKING.c.booking_id == booking_id)).first():
        return
    # a station before legs names one bay and its cells; later ones also list every leg on HQ's cells
    legs = [(leg["bay_id"], list(leg["cells"])) for leg in body.get("legs") or [body]]
    split = station_split(session, station_id)
    mine = []
    for bay_id, texts in legs:
        views = _views(session, station_id, split, bay_id, texts)
        mine.append((bay_id, [c for c in texts if views[c].hq_holds]))
    reason = ""
    if body.get("rule") not in (None, split.rule.fingerprint()):
        reason = f"the station splits its cells as {body.get('rule')}, HQ as {split.rule.fingerprint()}"
    elif not _claim(session, station_id, mine, booking_id):
        reason = "HQ sold the cell in the app"
    decision = "rejected" if reason else "confirmed"
    _record_booking(session, station_id, booking_id, origin="station", legs=legs,
                    services=list(body.get("services") or []), plate=str(body.get("plate", "")), state=decision,
                    reason=reason, now=now)
    enqueue_downlink(session, station_id, "booking", "escrow.decided", booking_id,
                     {"booking_id": booking_id, "decision": decision, "reason": reason}, now)


def _station_answer(session: Session, station_id: str, body: dict[str, Any], now: datetime) -> None:
    """The station decided on an app booking (or refused HQ's, holding the cells by a valid lease)."""
    key = (BOOKING.c.station_id == station_id, BOOKING.c.booking_id == body["booking_id"])
    row = session.execute(select(BOOKING.c.state).where(*key)).first()
    if row is None or row.state not in ("tentative", "confirmed"):
        return
    if body["decision"] == "confirmed":
        session.execute(update(BOOKING).where(*key).values(state="confirmed", updated_at=now))
        return
    _release(session, station_id, body["booking_id"])
    reason = str(body.get("reason") or "refused by the station")
    session.execute(update(BOOKING).where(*key).values(state="rejected", reason=reason, updated_at=now))


def _lease_acked(session: Session, station_id: str, body: dict[str, Any], now: datetime) -> None:
    """The station applied a lease: granted cells are the station's for good; revoked ones HQ's."""
    key = (LEASE.c.lease_id == body["lease_id"], LEASE.c.station_id == station_id)
    lease = session.execute(select(LEASE).where(*key)).first()
    if lease is None or lease.state == "acked":
        return
    applied, refused = list(body.get("applied") or []), dict(body.get("refused") or {})
    owner_if_applied = STATION if lease.kind == LeaseKind.GRANT else HQ
    owner_if_refused = HQ if lease.kind == LeaseKind.GRANT else STATION
    for cells, owner in ((applied, owner_if_applied), (list(refused), owner_if_refused)):
        if cells:
            session.execute(update(CELL).where(
                CELL.c.station_id == station_id, CELL.c.bay_id == lease.bay_id, CELL.c.slot_start.in_(cells),
                CELL.c.lease_id == lease.lease_id).values(owner=owner, state="held", updated_at=now))
    session.execute(update(LEASE).where(*key).values(state="acked", applied=applied, refused=refused, acked_at=now))


def _booking_left(session: Session, station_id: str, booking_id: str, event_type: str, now: datetime) -> None:
    """A booking HQ holds cells for was cancelled, rejected, expired or moved at the station: the
    cells of every leg are free (a moved booking sits on the station's own cells now)."""
    key = (BOOKING.c.station_id == station_id, BOOKING.c.booking_id == booking_id)
    row = session.execute(select(BOOKING.c.state).where(*key)).first()
    if row is None:
        return
    _release(session, station_id, booking_id)
    if event_type != "booking.rescheduled" and row.state != "rejected":
        session.execute(update(BOOKING).where(*key).values(
            state="cancelled" if event_type == "booking.cancelled" else "rejected",
            reason=f"station: {event_type}", updated_at=now))


_EVENT_HANDLERS: dict[str, Callable[[Session, str, dict[str, Any], datetime], None]] = {
    "escrow.requested": _station_request,
    "escrow.answered": _station_answer,
    "escrow.lease_acked": _lease_acked,
}
