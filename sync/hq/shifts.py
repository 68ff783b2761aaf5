"""Shift closes at HQ: each station's Z reports, so an operator sees every drawer's variance.

A station sends `shift.closed` with the whole Z report when a terminal's shift is closed; the
ingest applies it here once, keyed by (station, shift id), in its own transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from sync.errors import SyncError
from sync.hq.db import insert_ignore
from sync.hq.shift_tables import HqShiftClose

SC = HqShiftClose.__table__


class ShiftEventInvalid(SyncError):
    """A `shift.closed` event HQ cannot keep (the station gets it back as rejected)."""


@dataclass(frozen=True, slots=True)
class ShiftClose:
    station_id: str
    shift_id: str
    terminal: str
    opened_at: datetime
    closed_at: datetime
    closed_by: str
    currency: str
    float_minor: int
    expected_minor: int
    counted_minor: int
    variance_minor: int
    note: str

    def to_json(self) -> dict[str, Any]:
        return {"station": self.station_id, "shift_id": self.shift_id, "terminal": self.terminal,
                "opened_at": self.opened_at.isoformat(), "closed_at": self.closed_at.isoformat(),
                "closed_by": self.closed_by, "currency": self.currency, "float_minor": self.float_minor,
                "expected_minor": self.expected_minor, "counted_minor": self.counted_minor,
                "variance_minor": self.variance_minor, "note": self.note}


def on_station_event(session: Session, station_id: str, event: dict[str, Any], now: datetime) -> None:
    """Keep a station's Z report (in the ingest's transaction); the same close again changes nothing."""
    if event["type"] != "shift.closed":
        return
    report = event.get("body") or {}
    try:
        row = {
            "station_id": station_id, "shift_id": str(report["shift_id"]), "terminal": str(report["terminal"]),
            "opened_at": datetime.fromisoformat(report["opened_at"]), "closed_at": datetime.fromisoformat(report["at"]),
            "closed_by": str(report.get("closed_by") or ""), "currency": str(report.get("currency") or ""),
            "float_minor": int(report["float_minor"]), "expected_minor": int(report["expected_minor"]),
            "counted_minor": int(report["counted_minor"]), "variance_minor": int(report["variance_minor"]),
            "note": str(report.get("note") or ""), "report": report, "received_at": now,
        }
    except (KeyError, TypeError, ValueError) as err:
        raise ShiftEventInvalid(f"shift.closed needs the Z report's shift, times and drawer figures: {err!r}") from err
    insert_ignore(session, SC, [row])


def shift_closes(session: Session, *, station_id: str | None = None, limit: int = 200) -> list[ShiftClose]:
    """The latest shift closes (of one station, or all), newest first."""
    query = select(SC).order_by(SC.c.closed_at.desc(), SC.c.station_id, SC.c.shift_id).limit(limit)
    if station_id:
        query = query.where(SC.c.station_id == station_id)
    return [ShiftClose(r.station_id, r.shift_id, r.terminal, r.opened_at, r.closed_at, r.closed_by, r.currency,
                       r.float_minor, r.expected_minor, r.counted_minor, r.variance_minor, r.note)
            for r in session.execute(query)]
