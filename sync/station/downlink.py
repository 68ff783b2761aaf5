"""The station's downlink: HQ's per-station log applied in seq order, each message in one
transaction with its applied mark, acked after the commit (one ack per stream for what was
applied since the last); a gap asks for a resync.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from dataclasses import replace
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from edge.domain.hlc import Hlc
from edge.domain.permissions import HQ
from edge.services import escrow, found_work, hq_updates, staff
from edge.services.station import Station
from sync.envelope import DOWN_LOG_STREAMS, MalformedMessage, encode, new_message, up_topic, whole
from sync.signing import Signer
from sync.station import state
from sync.station.epoch import start_new_epoch

log = logging.getLogger(__name__)

Applier = Callable[[Station, sqlite3.Connection, str, dict[str, Any], datetime], None]
_RESYNC_EVERY_S = 2.0
REACK_EVERY_S = 2.0


def _apply_cmd(station: Station, conn: sqlite3.Connection, message_type: str, body: dict[str, Any],
               now: datetime) -> None:
    if message_type == "cmd.new_epoch":  # HQ found this database reusing seqs (restored from a backup)
        if body.get("epoch") == state.current_epoch(conn):  # not again for an epoch already left behind
            start_new_epoch(conn)
    elif message_type == "staff.snapshot":  # HQ's staff accounts for this station replace its last list
        staff.apply_hq_snapshot(conn, station, body.get("accounts") or [], now=now)
    else:
        raise MalformedMessage(f"unknown command {message_type!r}")


def _apply_booking(station: Station, conn: sqlite3.Connection, message_type: str, body: dict[str, Any],
                   now: datetime) -> None:
    # the booking stream carries slot escrow's decisions and the customer's answers about added work
    if message_type.startswith("found_work."):
        found_work.apply_hq_decision(station, conn, message_type, body, now)
    else:
        escrow.apply_downlink(station, conn, message_type, body, now)


APPLIERS: dict[str, Applier] = {
    "booking": _apply_booking,
    "lease": escrow.apply_downlink,
    "catalog": hq_updates.apply_catalog,
    "member": hq_updates.apply_member,
    "enterprise": hq_updates.apply_enterprise,
    "cmd": _apply_cmd,
}


class Downlink:
    def __init__(self, station: Station, signer: Signer, publish: Callable[[str, bytes], None], *,
                 max_clock_ahead: timedelta, after_epoch_change: Callable[[], None]) -> None:
        self.station = station
        self.station_id = station.settings.station.id
        self.signer = signer
        self._publish = publish
        self.max_clock_ahead = max_clock_ahead
        self._after_epoch_change = after_epoch_change
        self._resync_at: dict[str, float] = {}
        self._unsent_acks: dict[str, int] = {}  # stream -> applied seq, sent by flush_acks
        self._said: dict[str, tuple[int, float]] = {}  # stream -> (the mark last acked, when)
        self._lock = threading.Lock()

    def on_log(self, message: dict[str, Any]) -> None:
        stream = message.get("stream")
        if stream not in DOWN_LOG_STREAMS:
            raise MalformedMessage(f"log message of unknown stream {stream!r}")
        seq = whole(message, "seq")
        now = self.station.clock()
        reload_catalog = epoch_changed = False
        with self.station.store.write() as conn:
            applied = state.applied_upto(conn, stream)
            if seq > applied + 1:
                gap_from = applied + 1
            else:
                gap_from = 0
                if seq == applied + 1:
                    epoch_before = state.current_epoch(conn)
                    self._apply_item(conn, stream, message, now)
                    state.record_applied(conn, stream, seq, now)
                    applied = seq
                    reload_catalog = stream == "catalog"
                    epoch_changed = state.current_epoch(conn) != epoch_before
        if gap_from:
            self._resync(stream, gap_from)
            return
        self._ack(stream, applied)
        self._after_commit(reload_catalog, epoch_changed)

    def on_snapshot(self, message: dict[str, Any]) -> None:
        """A chunk of HQ's compacted log, from `after` up to `upto`, for a station that fell behind
        it: applied whole, atomically, and acked; HQ then sends the next chunk. A chunk that does
        not continue from what this station applied asks for a resync."""
        stream = message.get("stream")
        if stream not in DOWN_LOG_STREAMS or not isinstance(message.get("items"), list):
            raise MalformedMessage("snapshot without a known stream and items")
        upto, after = whole(message, "upto"), whole(message, "after")
        now = self.station.clock()
        with self.station.store.write() as conn:
            applied = state.applied_upto(conn, stream)
            if after > applied:
                gap = True
            elif upto > applied:
                gap = False
                epoch_before = state.current_epoch(conn)
                for item in message["items"]:
                    if whole(item, "seq") > applied:
                        self._apply_item(conn, stream, item, now)
                state.record_applied(conn, stream, upto, now)
                applied = upto
                epoch_changed = state.current_epoch(conn) != epoch_before
            else:
                gap = epoch_changed = False
        if gap:
            self._resync(stream, applied + 1)
            return
        self._ack(stream, applied)
        self._after_commit(stream == "catalog", epoch_changed)

    def _apply_item(self, conn: sqlite3.Connection, stream: str, item: dict[str, Any], now: datetime) -> None:
        """One log item, or a conflict row instead: too far ahead in time, or refused by the
        service (HQ's log must never wedge on one message)."""
        ident = f"sync:down:{stream}:{item.get('seq')}"
        try:
            stamp = Hlc.decode(str(item["hlc"]))
            item_type, entity_id, body = str(item["type"]), str(item["entity_id"]), item["body"]
            if not isinstance(body, dict):
                raise ValueError("body is not an object")
        except (KeyError, ValueError) as err:
            state.add_conflict(conn, ident, "sync_poison", "", {"stream": stream, "error": str(err)}, now)
            return
        limit_ms = int((now + self.max_clock_ahead).timestamp() * 1000)
        if stamp.wall_ms > limit_ms:
            state.add_conflict(conn, ident, "sync_clock_ahead", entity_id,
                               {"stream": stream, "type": item_type, "hlc": item["hlc"], "body": body}, now)
            return
        state.merge_remote_clock(conn, stamp)
        applier = APPLIERS.get(stream)
        conn.execute("SAVEPOINT downlink_item")
        try:
            if applier is None:
                raise MalformedMessage(f"this station does not apply {stream} messages")
            # what HQ's message changes is recorded as HQ's doing, whoever else shares this station
            applier(replace(self.station, actor=HQ), conn, item_type, body, now)
        except Exception as err:  # refused by the service: kept as a conflict, the log moves on
            conn.execute("ROLLBACK TO downlink_item")
            log.warning("downlink %s seq %s refused: %s", stream, item.get("seq"), err)
            state.add_conflict(conn, ident, "sync_refused", entity_id,
                               {"stream": stream, "type": item_type, "body": body, "error": str(err)}, now)
        conn.execute("RELEASE downlink_item")

    def _after_commit(self, reload_catalog: bool, epoch_changed: bool) -> None:
        if reload_catalog:
            self.station.reload_catalog()
        if epoch_changed:
            self._after_epoch_change()

    def _ack(self, stream: str, applied: int) -> None:
        # acks are sent by flush_acks, one per stream for all messages applied since the last
        with self._lock:
            self._unsent_acks[stream] = max(applied, self._unsent_acks.get(stream, 0))

    def flush_acks(self) -> None:
        """Tell HQ how far each stream is applied (the sync loop calls this every few ms). The
        same mark again (a message received twice) is said at most every REACK_EVERY_S: on a slow
        link every ack is upward bytes the station's events wait behind."""
        now = time.monotonic()
        with self._lock:
            acks, self._unsent_acks = self._unsent_acks, {}
        for stream, applied in acks.items():
            said, at = self._said.get(stream, (-1, 0.0))
            if applied == said and now - at < REACK_EVERY_S:
                continue
            self._said[stream] = (applied, now)
            self._send("ack", new_message("ack", station=self.station_id, stream=stream, applied_upto=applied))

    def _resync(self, stream: str, from_seq: int) -> None:
        now = time.monotonic()
        if now - self._resync_at.get(stream, 0.0) < _RESYNC_EVERY_S:
            return
        self._resync_at[stream] = now
        log.info("downlink gap on %s: asking HQ to resend from seq %d", stream, from_seq)
        self._send("resync", new_message("resync", station=self.station_id, stream=stream, from_seq=from_seq))

    def _send(self, leaf: str, message: dict[str, Any]) -> None:
        self._publish(up_topic(self.station_id, leaf), encode(self.signer.sign(message)))
