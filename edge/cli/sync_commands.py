"""`station-edge sync ...`: run the station's sync with HQ, show its state and the events waiting for HQ,
start a new epoch, sort out conflicts."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from edge.cli import arguments, commands, conflict_commands
from edge.cli.output import emit_json, table
from edge.config import ConfigError
from edge.domain.events import STREAM_PRIORITY
from edge.services.station import Station
from edge.cli.session import open_station
from edge.services.sync_status import sync_status
from edge.store.outbox import last_seq
from sync.errors import SyncError

EXIT_SYNC = 9  # the sync link, a key file or HQ's database failed (docs/cli.md)


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add `sync` (run, status, new-epoch, outbox, conflicts) to the station-edge parser."""
    p = sub.add_parser("sync", help="the link to HQ: run it alone, its state, events waiting, conflicts to sort out")
    sync_sub = p.add_subparsers(dest="sync_command", required=True, metavar="ACTION")
    q = sync_sub.add_parser("run", parents=[common], help="sync with HQ until SIGTERM (the daemon does this too)")
    q.set_defaults(handler=sync_run)
    q = sync_sub.add_parser("status", parents=[common], help="link state, events waiting for HQ, ack marks")
    q.set_defaults(handler=sync_show)
    q = sync_sub.add_parser("new-epoch", parents=[common],
                            help="number events afresh under a new epoch (after restoring the database by hand)")
    q.set_defaults(handler=sync_new_epoch)
    q = sync_sub.add_parser("outbox", parents=[common], help="events not yet acknowledged by HQ")
    q.add_argument("--limit", type=arguments.positive, default=50, help="how many to show (default 50)")
    q.set_defaults(handler=commands.outbox)
    conflict_commands.register_sync(sync_sub, common)


def fail(err: SyncError) -> int:
    print(f"station-edge: sync error: {err}", file=sys.stderr)
    return EXIT_SYNC


def sync_run(args: argparse.Namespace) -> int:
    from sync.station.client import StationSync

    station = open_station(args.data_dir)
    settings = station.settings.sync
    config = station.store.path.parent / "station.toml"
    if settings is None or not settings.enabled:
        raise ConfigError(str(config), None, "sync", "no enabled [sync] section: nothing to sync with")
    logging.getLogger().setLevel(logging.INFO)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        StationSync(station, settings).run(stop)
    except SyncError as err:
        return fail(err)
    finally:
        station.store.close()
    return 0


def sync_show(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    status = sync_status(station)
    marks = _marks(station)
    if args.json:
        emit_json({"link": status.link, "backlog": status.backlog, "last_ack_at": status.last_ack_at,
                   "heard_at": status.heard_at, **marks})
        return
    print(f"link {status.link}, {status.backlog} events waiting for HQ, last ack {status.last_ack_at or 'never'}, "
          f"HQ last heard {status.heard_at or 'never'}")
    print(f"epoch {marks['epoch']}")
    rows = [(s, m["written"], m["acked_upto"]) for s, m in marks["uplink"].items()]
    if rows:
        print(table(("uplink stream", "written", "acked by HQ"), rows))
    rows = [(s, n) for s, n in marks["downlink"].items()]
    if rows:
        print(table(("downlink stream", "applied"), rows))


def _marks(station: Station) -> dict:
    with station.store.read() as conn:
        epoch = conn.execute("SELECT epoch FROM node WHERE id = 1").fetchone()[0]
        acked = dict(conn.execute("SELECT stream, acked_upto FROM sync_uplink WHERE epoch = ?", (epoch,)).fetchall())
        uplink = {str(stream): {"written": written, "acked_upto": acked.get(stream, 0)}
                  for stream in sorted(STREAM_PRIORITY) if (written := last_seq(conn, epoch, stream))}
        downlink = {r["stream"]: r["applied_upto"] for r in conn.execute(
            "SELECT stream, applied_upto FROM sync_downlink ORDER BY stream")}
    return {"epoch": epoch, "uplink": uplink, "downlink": downlink}


def sync_new_epoch(args: argparse.Namespace) -> None:
    from sync.station.epoch import start_new_epoch

    station = open_station(args.data_dir)
    with station.store.write() as conn:
        epoch = start_new_epoch(conn)
    if args.json:
        emit_json({"epoch": epoch})
    else:
        print(f"new epoch {epoch}: events HQ has not acknowledged are numbered afresh under it")
