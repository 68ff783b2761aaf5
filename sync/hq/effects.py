"""What a station event does at HQ besides being recorded: slot escrow, member balances, the audit trail.

The ingest calls `on_station_event` for every event it applies, once per idem_key, in its own
transaction and with its own clock.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from sync.hq import audit, escrow, members


def on_station_event(session: Session, station_id: str, event: dict[str, Any], now: datetime) -> None:
    escrow.on_station_event(session, station_id, event, now)
    members.on_station_event(session, station_id, event, now)
    audit.on_station_event(session, station_id, event, now)
