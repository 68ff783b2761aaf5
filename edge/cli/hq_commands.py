"""`station-edge hq` subcommands: HQ's side of sync. `hq init` makes HQ's database, `hq run` is
one HQ worker, `hq publish-catalog` sends a catalogue version down, `hq lag` shows each station,
`hq decide-work` sends a customer's answer about work found during service.

Every subcommand takes `--db` (a SQLite path or a database URL, default $STATION_EDGE_HQ_DB or
hq.db); add one with `sub.add_parser(..., parents=[hq_parent(common)])` and `open_hq(args)`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import threading
import tomllib
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from edge.cli import arguments
from edge.cli.main import CliUsageError
from edge.cli.output import emit_json, table
from edge.cli.sync_commands import fail
from edge.config import PackageSettings, ServiceSettings
from edge.store.catalog import sizes_json
from sync.envelope import MAX_PACKET_BYTES
from sync.errors import SyncError


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add the `hq` subcommands to the station-edge parser."""
    p = sub.add_parser("hq", help="HQ's sync service and its database (runs at HQ, not at a station)")
    hq_sub = p.add_subparsers(dest="hq_command", required=True, metavar="ACTION")
    parent = hq_parent(common)

    q = hq_sub.add_parser("init", parents=[parent], help="create HQ's tables (safe to re-run)")
    q.set_defaults(handler=hq_init)

    q = hq_sub.add_parser("run", parents=[parent], help="one HQ worker until SIGTERM; run several to share the load")
    q.add_argument("--broker", default="127.0.0.1:8883", help="broker HOST:PORT (default 127.0.0.1:8883)")
    q.add_argument("--ca-file", help="CA of the broker's certificate (TLS on when given)")
    q.add_argument("--cert-file", help="HQ's client certificate")
    q.add_argument("--key-file", help="HQ's client certificate key")
    q.add_argument("--station-keys", type=Path, required=True, help="directory of the stations' public keys (*.pub)")
    q.add_argument("--signing-key", type=Path, required=True, help="HQ's Ed25519 key KID.key (signs the downlink)")
    q.add_argument("--worker", default="1", help="this worker's name, unique among HQ's workers (default 1)")
    q.add_argument("--log-keep", type=arguments.positive, default=10_000,
                   help="downlink messages kept per station stream before compaction (default 10000)")
    q.add_argument("--resend-after", type=arguments.positive, default=5,
                   help="seconds before unapplied downlink is sent again (default 5)")
    q.add_argument("--max-packet-bytes", type=arguments.positive, default=MAX_PACKET_BYTES,
                   help="the broker's max_packet_size: every message HQ sends stays within it "
                        f"(default {MAX_PACKET_BYTES}, as in deploy/mosquitto/mosquitto.conf)")
    q.set_defaults(handler=hq_run)

    q = hq_sub.add_parser("publish-catalog", parents=[parent], help="send a catalogue version to stations")
    q.add_argument("file", type=Path, help="TOML or JSON: version, [[services]] and [[packages]] as in the config")
    q.add_argument("--station", action="append", default=[], help="only this station (repeatable; default all)")
    q.set_defaults(handler=hq_publish_catalog)

    q = hq_sub.add_parser("lag", parents=[parent], help="each station: presence, last seen, backlog both ways")
    q.set_defaults(handler=hq_lag)

    q = hq_sub.add_parser("decide-work", parents=[parent],
                          help="send a customer's answer about work found during service to the station")
    q.add_argument("station", help="station id")
    q.add_argument("--booking", required=True, help="the booking's id (as in the station's found_work.added event)")
    q.add_argument("--service", required=True, help="the service code added")
    answer = q.add_mutually_exclusive_group(required=True)
    answer.add_argument("--approve", dest="decision", action="store_const", const="approved", help="the customer agrees")
    answer.add_argument("--refuse", dest="decision", action="store_const", const="refused", help="the customer declines")
    q.set_defaults(handler=hq_decide_work)

    from edge.cli.escrow_commands import register_hq  # slot escrow: hq book, hq lease ...

    register_hq(hq_sub, parent)

    from edge.cli.hq_member_commands import register_hq as register_members  # hq member show, hq member snapshot

    register_members(hq_sub, parent)

    from edge.cli.hq_staff_commands import register_hq as register_staff  # hq staff set|push, hq audit verify

    register_staff(hq_sub, parent)


def hq_parent(common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False, parents=[common])
    parent.add_argument("--db", default=os.environ.get("STATION_EDGE_HQ_DB", "hq.db"),
                        help="HQ database: a SQLite file or a URL such as postgresql+psycopg://user@host/db "
                             "(default $STATION_EDGE_HQ_DB or hq.db)")
    return parent


def open_hq(args: argparse.Namespace) -> Any:
    """HQ's engine with its tables in place (SyncError if the database cannot be opened)."""
    from sync.hq.db import create_schema, open_engine

    engine = open_engine(args.db)
    create_schema(engine)
    return engine


def in_hq_transaction(args: argparse.Namespace, work: Any) -> Any:
    """`work(session, now)` in one transaction of HQ's database (`--db`)."""
    from sync.hq.db import transaction

    engine = open_hq(args)
    try:
        with transaction(engine) as session:
            return work(session, datetime.now(UTC))
    finally:
        engine.dispose()


def hq_init(args: argparse.Namespace) -> int:
    from sync.hq.db import masked_url

    try:
        open_hq(args).dispose()
    except SyncError as err:
        return fail(err)
    print(f"HQ database ready: {masked_url(args.db)}")
    return 0


def hq_run(args: argparse.Namespace) -> int:
    from sync.hq.service import HqService
    from sync.mqtt import BrokerSettings
    from sync.signing import Keyring, Signer

    host, _, port = args.broker.rpartition(":")
    if not host or not port.isdigit():
        raise CliUsageError(f"--broker {args.broker!r} is not HOST:PORT")
    logging.getLogger().setLevel(logging.INFO)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        engine = open_hq(args)
        broker = BrokerSettings(host=host, port=int(port), ca_file=args.ca_file, cert_file=args.cert_file,
                                key_file=args.key_file, max_packet_bytes=args.max_packet_bytes)
        service = HqService(engine, Keyring.load(args.station_keys), Signer.load(args.signing_key), broker,
                            worker=args.worker, log_keep=args.log_keep,
                            resend_after=timedelta(seconds=args.resend_after))
        service.run(stop)
    except SyncError as err:
        return fail(err)
    return 0


def load_catalog_file(path: Path) -> dict[str, Any]:
    """The body of a `catalog.version` message from a TOML or JSON file (each entry checked
    like the station config's [[services]] and [[packages]])."""
    try:
        text = path.read_text(encoding="utf-8")
        raw = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except OSError as err:
        raise CliUsageError(f"cannot read {path}: {err.strerror}") from err
    except (ValueError, tomllib.TOMLDecodeError) as err:
        raise CliUsageError(f"{path} is not valid {'JSON' if path.suffix == '.json' else 'TOML'}: {err}") from err
    version = raw.get("version")
    if not isinstance(version, str) or not version:
        raise CliUsageError(f"{path}: 'version' (text) is missing")
    services, packages = [], []
    for section, model, out in (("services", ServiceSettings, services), ("packages", PackageSettings, packages)):
        for index, entry in enumerate(raw.get(section, [])):
            try:
                item = model.model_validate(entry)
            except ValidationError as err:
                problem = err.errors()[0]
                where = ".".join(str(p) for p in problem["loc"])
                raise CliUsageError(f"{path}: {section}[{index}].{where}: {problem['msg']}") from None
            out.append(_entry(item))
    if not services:
        raise CliUsageError(f"{path}: no [[services]]")
    return {"version": version, "services": services, "packages": packages}


def _entry(item: ServiceSettings | PackageSettings) -> dict[str, Any]:
    data = item.model_dump(mode="json")
    data["price_minor"] = data.pop("price")
    if isinstance(item, ServiceSettings):
        data["by_size"] = sizes_json(item.size_terms())  # each class's duration and price in full
    return data


def hq_publish_catalog(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from sync.hq.db import insert_ignore, transaction
    from sync.hq.downlink import enqueue_downlink
    from sync.hq.tables import HqCatalog, HqStation

    body = load_catalog_file(args.file)
    now = datetime.now(UTC)
    try:
        engine = open_hq(args)
        with transaction(engine) as session:
            stations = args.station or [r[0] for r in session.execute(select(HqStation.station_id))]
            insert_ignore(session, HqCatalog.__table__, [{"version": body["version"], "body": body,
                                                           "published_at": now}])
            seqs = {sid: enqueue_downlink(session, sid, "catalog", "catalog.version", body["version"], body, now)
                    for sid in stations}
    except SyncError as err:
        return fail(err)
    if args.json:
        emit_json({"version": body["version"], "stations": seqs})
    else:
        print(f"catalogue {body['version']} queued for {len(seqs)} station(s)")
    return 0


def hq_decide_work(args: argparse.Namespace) -> int:
    from sync.hq.found_work import send_decision

    try:
        seq = in_hq_transaction(args, lambda session, now: send_decision(
            session, args.station, booking_id=args.booking, service=args.service, decision=args.decision, now=now))
    except SyncError as err:
        return fail(err)
    if args.json:
        emit_json({"station": args.station, "booking_id": args.booking, "service": args.service,
                   "decision": args.decision, "seq": seq})
    else:
        print(f"{args.service} {args.decision} for booking {args.booking}: queued for {args.station} (booking #{seq})")
    return 0


def hq_lag(args: argparse.Namespace) -> int:
    from sync.hq.lag import station_lag
    from sync.hq.db import transaction

    try:
        engine = open_hq(args)
        with transaction(engine) as session:
            rows = station_lag(session)
    except SyncError as err:
        return fail(err)
    if args.json:
        emit_json([asdict(row) for row in rows])
        return 0
    print(table(("station", "presence", "last seen", "uplink backlog", "downlink pending"),
                [(r.station_id, r.presence, r.last_seen_at or "never", r.uplink_backlog, r.downlink_pending)
                 for r in rows]))
    return 0
