"""Each station's lag as HQ sees it: presence, last contact, events the station has written
that HQ has not applied yet (as the station last reported), downlink not yet applied."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import Session

from sync.hq.tables import HqCursor, HqDownCursor, HqStation, HqStationEpoch


@dataclass(frozen=True, slots=True)
class StationLag:
    station_id: str
    presence: str
    last_seen_at: datetime | None
    uplink_backlog: int
    downlink_pending: int


def station_lag(session: Session) -> list[StationLag]:
    K, D, EP = HqCursor.__table__, HqDownCursor.__table__, HqStationEpoch.__table__
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
    return [StationLag(sid, known[sid].presence if sid in known else "unknown",
                       known[sid].last_seen_at if sid in known else None,
                       int(up.get(sid) or 0), int(down.get(sid) or 0))
            for sid in sorted(set(known) | set(down))]
