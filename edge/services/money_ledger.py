"""Writing the money ledger: one balanced transaction per movement, in the caller's transaction.

Every money movement of the station goes through `post`: checkout, refunds, top-ups,
deposits, cash put in or taken out of the drawer. It records who did it (the station's
actor), at which terminal and in which of that terminal's shifts, and refuses a cash
movement when no shift is open there: cash outside a shift could never be counted.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from edge.domain.ids import uuid7
from edge.domain.money_ledger import Kind, Posting, check_balanced, moves_cash
from edge.errors import RuleViolation
from edge.services import audit
from edge.services.station import Station
from edge.store.types import to_db_time


def open_shift_id(conn: sqlite3.Connection, terminal: str) -> str | None:
    row = conn.execute("SELECT id FROM shift WHERE terminal = ? AND closed_at IS NULL", (terminal,)).fetchone()
    return row[0] if row else None


def post(
    conn: sqlite3.Connection,
    station: Station,
    kind: Kind,
    postings: Sequence[Posting],
    *,
    now: datetime,
    receipt_id: str | None = None,
    booking_id: str | None = None,
    member_id: str | None = None,
    authorised_by: str | None = None,
    reference: str = "",
    reason: str = "",
) -> str:
    """Write one balanced transaction on `conn` (the caller's open write transaction); its id."""
    check_balanced(postings)
    shift_id = open_shift_id(conn, station.terminal)
    if shift_id is None and moves_cash(postings):
        raise RuleViolation(f"no shift is open on terminal {station.terminal!r}: open one with the counted float"
                            " before taking or paying out cash")
    txn_id, at = uuid7(), to_db_time(now)
    conn.executemany(
        "INSERT INTO ledger_entry (id, txn_id, kind, account, detail, amount_minor, line_code, quantity, receipt_id,"
        " booking_id, member_id, shift_id, terminal, operator_id, authorised_by, reference, reason, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(uuid7(), txn_id, str(kind), str(p.account), p.detail, p.amount_minor, p.line_code, p.quantity, receipt_id,
          booking_id, member_id, shift_id, station.terminal, station.actor.id, authorised_by, p.reference or reference,
          reason, at)
         for p in postings],
    )
    audit.record(conn, station, action=str(kind), entity="ledger", entity_id=txn_id, before=None,
                 after=postings_summary(postings, receipt_id=receipt_id, booking_id=booking_id, member_id=member_id,
                                        reference=reference, reason=reason),
                 authorised_by=authorised_by, now=now)
    return txn_id


def postings_summary(postings: Sequence[Posting], **context: str | None) -> dict[str, object]:
    """What the audit trail keeps of one ledger transaction: its postings and what it belongs to."""
    lines = [[str(p.account), p.detail, p.amount_minor] + ([p.line_code, p.quantity] if p.line_code else [])
             for p in postings]
    return {"postings": lines, **{k: v for k, v in context.items() if v}}
