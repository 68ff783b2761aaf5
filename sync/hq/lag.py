"""Each station's lag as HQ sees it: presence, last contact, events the station has written
that HQ has not applied yet (as the station last reported), downlink not yet applied."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlmodel import Session

from sync.hq.tables import HqCursor, HqDownCursor, HqStation, HqStationEpoch, HqWorker

WORKER_STALE_AFTER = timedelta(seconds=20)  # workers refresh their row every 5 s while they run


@dataclass(frozen=True, slots=True)
class StationLag:
    station_id: str
    presence: str
    last_seen_at: datetime | None
    uplink_backlog: int
    downlink_pending: int


def hq_connected(session: Session, now: datetime) -> bool:
    """Whether some HQ worker is connected to the broker (and alive) now."""
    W = HqWorker.__table__
    return session.execute(select(W.c.worker).where(W.c.connected.is_(True), W.c.seen_at >= now - WORKER_STALE_AFTER)
                           .limit(1)).first() is not None


def station_lag(session: Session, now: datetime | None = None) -> list[StationLag]:
    """Every station's lag; presence says `unknown (HQ offline)` while no HQ worker is connected
    to hear the stations' presence."""
    K, D, EP = HqCursor.__table__, HqDownCursor.__table__, HqStationEpoch.__table__
    listening = hq_connected(session, now or datetime.now(UTC))
    latest = select(EP.c.station_id, func.max(EP.c.epoch).label("epoch")).group_by(EP.c.station_id).subquery()
    up = dict(session.execute(
        select(K.c.station_id, func.sum(K.c.head - K.c.acked_upto))
        .join(latest, (latest.c.station_id == K.c.station_id) & (latest.c.epoch == K.c.epoch))
        .where(K.c.head > K.c.acked_upto).group_by(K.c.station_id)).all())
    down = dict(session.execute(
        select(D.c.station_id, func.sum(D.c.last_seq - D.c.applied_upto))
        .where(D.c.last_seq > D.c.applied_upto).group_by(D.c.station_id)).all())
    known = {s.station_id: s for s in session.execute(select(HqStation)).scalars()}
    # a station HQ has queued downlink for but never heard from is listed too
    return [StationLag(sid, (known[sid].presence if sid in known else "unknown") if listening
                       else "unknown (HQ offline)",
                       known[sid].last_seen_at if sid in known else None,
                       int(up.get(sid) or 0), int(down.get(sid) or 0))
            for sid in sorted(set(known) | set(down))]
