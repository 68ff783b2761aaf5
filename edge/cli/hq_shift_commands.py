"""`station-edge hq shifts`: the shift closes stations sent, with each drawer's variance."""

from __future__ import annotations

import argparse

from edge.cli.hq_commands import in_hq_transaction
from edge.cli.output import emit_json, table
from edge.cli.sync_commands import fail
from edge.domain.money import format_money
from sync.errors import SyncError


def register_hq(hq_sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    """Add `shifts` under `station-edge hq`."""
    p = hq_sub.add_parser("shifts", parents=[parent], help="shift closes the stations sent: counted, expected, variance")
    p.add_argument("--station", help="only this station")
    p.add_argument("--limit", type=int, default=200, help="at most this many, newest first (default 200)")
    p.set_defaults(handler=hq_shifts)


def hq_shifts(args: argparse.Namespace) -> int:
    from sync.hq.shifts import shift_closes

    try:
        closes = in_hq_transaction(args, lambda session, now: shift_closes(session, station_id=args.station,
                                                                          limit=args.limit))
    except SyncError as err:
        return fail(err)
    if args.json:
        emit_json([c.to_json() for c in closes])
        return 0
    print(table(("station", "terminal", "closed", "by", "expected", "counted", "variance", "note"),
                [(c.station_id, c.terminal, f"{c.closed_at:%Y-%m-%d %H:%M}Z", c.closed_by,
                  format_money(c.expected_minor, c.currency), format_money(c.counted_minor, c.currency),
                  format_money(c.variance_minor, c.currency), c.note) for c in closes]))
    return 0
