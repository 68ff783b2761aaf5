"""`station-edge stock` subcommands: materials on hand, goods in and out, stocktakes, movements, shortages."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable

from edge.cli import arguments, session
from edge.cli.session import open_station
from edge.cli.output import emit_json, table
from edge.services import inventory
from edge.services.station import Station
from edge.store.inventory import MaterialRecord, StockChange


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add the inventory subcommands to the station-edge parser."""
    p = sub.add_parser("stock", parents=[common], help="materials on hand; receive, issue, adjust, movements, check")
    stock_sub = p.add_subparsers(dest="stock_command", metavar="ACTION")
    p.set_defaults(handler=stock_list)

    q = stock_sub.add_parser("list", parents=[common], help="every material with its stock (the default)")
    q.set_defaults(handler=stock_list)

    q = stock_sub.add_parser("receive", parents=[common], help="goods in")
    q.add_argument("--sku", required=True, help="material SKU")
    q.add_argument("--quantity", type=arguments.positive, required=True, help="units received")
    q.add_argument("--reason", default="", help="e.g. the delivery note number (default: 'received')")
    q.set_defaults(handler=stock_receive)

    q = stock_sub.add_parser("issue", parents=[common], help="goods out by hand (never below zero)")
    q.add_argument("--sku", required=True, help="material SKU")
    q.add_argument("--quantity", type=arguments.positive, required=True, help="units taken out")
    q.add_argument("--reason", required=True, help="why, e.g. 'damaged', 'returned to supplier'")
    q.set_defaults(handler=stock_issue)

    q = stock_sub.add_parser("adjust", parents=[common], help="stocktake: set the counted quantity")
    q.add_argument("--sku", required=True, help="material SKU")
    q.add_argument("--counted", type=_count, required=True, help="units counted on the shelf")
    q.add_argument("--reason", required=True, help="why, e.g. 'monthly stocktake'")
    q.set_defaults(handler=stock_adjust)

    q = stock_sub.add_parser("movements", parents=[common], help="latest stock movements, newest first")
    q.add_argument("--sku", help="only this material")
    q.add_argument("--limit", type=arguments.positive, default=50, help="how many to show (default 50)")
    q.set_defaults(handler=stock_movements)

    q = stock_sub.add_parser("check", parents=[common], help="materials short for services")
    q.add_argument("--services", type=arguments.codes, required=True, help="service/package codes, comma-separated")
    q.set_defaults(handler=stock_check)


def _count(text: str) -> int:
    """A counted quantity: a whole number, zero allowed (an empty shelf is a valid count)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a count (a whole number, 0 or more)")
    return value


def warn_shortages(station: Station, service_codes: Iterable[str]) -> None:
    """One stderr line per material the services need more of than is on hand (booking goes ahead)."""
    for shortage in inventory.shortages(station, service_codes):
        print(f"warning: {shortage.message()}", file=sys.stderr)


def _name(station: Station, material: MaterialRecord) -> str:
    return material.name_zh if station.settings.station.locale == "zh_CN" else material.name_en


def stock_list(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    materials = inventory.stock(station)
    if args.json:
        emit_json([m.to_json() for m in materials])
        return
    if not materials:
        print("no materials configured: add [[materials]] to the config and run `station-edge init`")
        return
    print(table(
        ("sku", "name", "on hand", "unit", "reorder at", "low"),
        [(m.sku, _name(station, m), m.on_hand, m.unit, m.reorder_level, "LOW" if m.is_low else "")
         for m in materials],
    ))


def _changed(args: argparse.Namespace, change: StockChange) -> None:
    if args.json:
        emit_json(change.to_json())
        return
    m, move = change.material, change.movement
    low = f"  LOW (reorder at {m.reorder_level})" if m.is_low else ""
    print(f"{m.sku}: {move.kind} {move.quantity:+d} {m.unit} ({move.reason}); {m.on_hand} {m.unit} on hand{low}")


def stock_receive(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    _changed(args, inventory.receive(station, sku=args.sku, quantity=args.quantity, reason=args.reason))


def stock_issue(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    _changed(args, inventory.issue(station, sku=args.sku, quantity=args.quantity, reason=args.reason))


def stock_adjust(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    _changed(args, inventory.adjust(station, sku=args.sku, counted=args.counted, reason=args.reason,
                                             manager=session.manager(station)))


def stock_movements(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    moves = inventory.movements(station, sku=args.sku, limit=args.limit)
    if args.json:
        emit_json([m.to_json() for m in moves])
        return
    if not moves:
        print("no stock movements yet")
        return
    print(table(
        ("time", "sku", "kind", "qty", "on hand", "reason"),
        [(f"{station.local(m.created_at):%m-%d %H:%M}", m.sku, m.kind, f"{m.quantity:+d}", m.on_hand_after, m.reason)
         for m in moves],
    ))


def stock_check(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    short = inventory.shortages(station, args.services)
    if args.json:
        emit_json([{"sku": s.sku, "unit": s.unit, "on_hand": s.on_hand, "needed": s.needed} for s in short])
        return
    if not short:
        print(f"enough stock for {'+'.join(args.services)}")
        return
    print(table(("sku", "on hand", "needed", "unit"), [(s.sku, s.on_hand, s.needed, s.unit) for s in short]))
