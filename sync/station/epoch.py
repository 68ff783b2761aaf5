"""A new epoch for this database, and moving unacknowledged events into it.

A database restored from a backup would number new events with seqs HQ already holds for
other events; under a new epoch nothing is mistaken for a duplicate. Events still waiting
under an older epoch (written before the change, or by a process that had not yet noticed it)
are renumbered into the current epoch, keeping their order and their idem_keys.
"""

from __future__ import annotations

import logging
import sqlite3

from edge.domain.ids import uuid7
from edge.store.outbox import last_seq
from sync.station.state import current_epoch

log = logging.getLogger(__name__)


def start_new_epoch(conn: sqlite3.Connection) -> str:
    """Give the database a new epoch (in the caller's write transaction); the new epoch."""
    old = current_epoch(conn)
    epoch = uuid7()
    conn.execute("UPDATE node SET epoch = ? WHERE id = 1", (epoch,))
    moved = adopt_stragglers(conn, epoch)
    log.warning("new sync epoch %s (was %s); %d waiting events renumbered into it", epoch, old, moved)
    return epoch


def adopt_stragglers(conn: sqlite3.Connection, epoch: str) -> int:
    """Renumber unacknowledged events of other epochs into `epoch`, oldest epoch first."""
    rows = conn.execute(
        "SELECT idem_key, stream FROM outbox WHERE acked_at IS NULL AND epoch != ? ORDER BY epoch, stream, seq",
        (epoch,),
    ).fetchall()
    for row in rows:
        seq = last_seq(conn, epoch, row["stream"]) + 1
        conn.execute("UPDATE outbox SET epoch = ?, seq = ? WHERE idem_key = ?", (epoch, seq, row["idem_key"]))
    return len(rows)
