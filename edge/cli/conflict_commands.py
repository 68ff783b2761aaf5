"""`station-edge sync conflicts [list] [--all]` and `sync conflicts resolve ID --note TEXT`: what the
station and HQ disagreed on, for a person to sort out (e.g. a booking that lost its cell)."""

from __future__ import annotations

import argparse
import json

from edge.cli.output import emit_json, table
from edge.services import conflicts
from edge.cli.session import open_station


def register_sync(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add `conflicts [list]` and `conflicts resolve` under `station-edge sync`."""
    p = sub.add_parser("conflicts", parents=[common], help="conflicts with HQ that need a person (list, resolve)")
    actions = p.add_subparsers(dest="conflicts_command", metavar="ACTION")
    p.set_defaults(handler=_list, all=False)
    q = actions.add_parser("list", parents=[common], help="open conflicts, oldest first")
    q.add_argument("--all", action="store_true", help="resolved ones too")
    q.set_defaults(handler=_list)
    q = actions.add_parser("resolve", parents=[common], help="close a conflict, saying what was done")
    q.add_argument("id", help="conflict id")
    q.add_argument("--note", required=True, help="what was done (e.g. 'customer called, moved to 15:00')")
    q.set_defaults(handler=_resolve)


def _list(args: argparse.Namespace) -> None:
    rows = conflicts.conflicts(open_station(args.data_dir), include_resolved=args.all)
    if args.json:
        emit_json([row.to_json() for row in rows])
        return
    if not rows:
        print("no open conflicts")
        return
    print(table(("id", "kind", "about", "since", "detail", "resolution"),
                [(r.id, r.kind, r.entity_id, f"{r.created_at:%Y-%m-%d %H:%M}Z",
                  json.dumps(r.detail, ensure_ascii=False)[:60], r.resolution) for r in rows]))


def _resolve(args: argparse.Namespace) -> None:
    row = conflicts.resolve(open_station(args.data_dir), args.id, args.note)
    emit_json(row.to_json()) if args.json else print(f"conflict {row.id} resolved: {row.resolution}")
