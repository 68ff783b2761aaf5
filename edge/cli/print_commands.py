"""`station-edge print ...` (booking slips, shift reports, a test page, the queue) and `station-edge receipt reprint`.

Each command queues a printout for the daemon's receipt printer and returns at once; the
daemon prints it when the printer is ready (`print queue` shows where each job stands).
`--preview` also shows the printout as text.
"""

from __future__ import annotations

import argparse

from edge.cli.output import emit_json, table
from edge.services import printing
from edge.services.printing import PrintJob
from edge.services.station import open_station


def _preview_option() -> argparse.ArgumentParser:
    preview = argparse.ArgumentParser(add_help=False)
    preview.add_argument("--preview", action="store_true", help="also show the printout as text")
    return preview


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add `print` to the station-edge parser (`receipt reprint` joins the `receipt` group: add_reprint)."""
    preview = _preview_option()

    group = sub.add_parser("print", help="the receipt printer: booking slips, a test page, the print queue")
    print_sub = group.add_subparsers(dest="print_command", required=True, metavar="ACTION")
    p = print_sub.add_parser("slip", parents=[common, preview], help="print a booking's slip with its QR code")
    p.add_argument("booking", help="booking code or id")
    p.set_defaults(handler=_slip)
    p = print_sub.add_parser("shift", parents=[common, preview], help="print a shift's X report, or its Z report")
    p.add_argument("shift", help="shift id (station-edge shift list)")
    p.add_argument("--z", action="store_true", help="the Z report of a closed shift (default: the X report)")
    p.set_defaults(handler=_shift)
    p = print_sub.add_parser("test", parents=[common, preview], help="print a test page")
    p.set_defaults(handler=_test_page)
    p = print_sub.add_parser("queue", parents=[common], help="print jobs, newest first, and their state")
    p.add_argument("--state", choices=printing.STATES, help="only jobs in this state")
    p.add_argument("--limit", type=int, default=20, help="how many jobs (default 20)")
    p.set_defaults(handler=_queue)


def add_reprint(receipt_sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add `reprint` to the `receipt` group."""
    p = receipt_sub.add_parser("reprint", parents=[common, _preview_option()],
                               help="print a receipt again (marked COPY when printed before)")
    p.add_argument("number", help="receipt number or id")
    p.set_defaults(handler=_reprint)


def _reprint(args: argparse.Namespace) -> None:
    _queued(args, printing.print_receipt(open_station(args.data_dir), args.number))


def _slip(args: argparse.Namespace) -> None:
    _queued(args, printing.print_booking_slip(open_station(args.data_dir), args.booking))


def _shift(args: argparse.Namespace) -> None:
    _queued(args, printing.print_shift_report(open_station(args.data_dir), args.shift, final=args.z))


def _test_page(args: argparse.Namespace) -> None:
    _queued(args, printing.print_test_page(open_station(args.data_dir)))


def _queued(args: argparse.Namespace, job: PrintJob) -> None:
    if args.json:
        emit_json(job.to_json() | ({"preview": job.document.plain_text()} if args.preview else {}))
        return
    print(f"queued {job.kind} {job.reference} for the printer (job {job.id})")
    if args.preview:
        print(job.document.plain_text())


def _queue(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    found = printing.jobs(station, state=args.state, limit=args.limit)
    if args.json:
        emit_json([job.to_json() for job in found])
        return
    if not found:
        print("no print jobs")
        return
    print(table(("queued at", "kind", "reference", "state", "attempts", "last error"),
                [(station.local(job.created_at).strftime("%m-%d %H:%M:%S"), job.kind, job.reference, job.state,
                  job.attempts, job.last_error or "") for job in found]))
