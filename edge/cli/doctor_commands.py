"""`station-edge doctor`: check the config, the database, every device and the HQ broker, one verdict a line.

Verdicts: `ok`, `warn` (works, but look at it), `FAIL` (the station cannot do this part of
its job). The exit code is 9 when anything FAILs. Doctor only reads: it never migrates the
database. A device the running daemon reported on moments ago is judged from that report
(opening a serial port the daemon reads would steal its frames); otherwise doctor opens
the device itself, waits briefly for it to connect, and closes it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import socket
import sqlite3
import ssl
from collections.abc import Mapping
from contextlib import closing
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from edge.cli.output import emit_json
from edge.config import ConfigError, DeviceSettings, Settings, SyncSettings, load_settings
from edge.services.station import CONFIG_FILENAME, DB_FILENAME
from edge.store.types import from_db_time

EXIT_CHECK_FAILED = 9
DEVICE_WAIT = 2.0  # seconds a device gets to connect
BROKER_TIMEOUT = 3.0
DAEMON_FRESH = timedelta(seconds=15)  # device health the daemon wrote this recently is live


@dataclass(frozen=True)
class Check:
    item: str
    verdict: str  # ok, warn, FAIL
    detail: str


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add `doctor` to the station-edge parser."""
    p = sub.add_parser("doctor", parents=[common], help="check config, database, devices and the HQ broker",
                       description="One line per check with a verdict (ok, warn, FAIL); exit 9 if anything FAILs.")
    p.add_argument("--config", type=Path, help="config file to check (default: the station's copy in the data directory)")
    p.add_argument("--device-wait", type=_seconds, default=DEVICE_WAIT, metavar="SECONDS",
                   help=f"how long a device may take to connect (default {DEVICE_WAIT:g})")
    p.add_argument("--no-devices", action="store_true", help="do not open the devices")
    p.set_defaults(handler=doctor)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= 60:
        raise argparse.ArgumentTypeError(f"{text!r}: give between 0 and 60 seconds")
    return value


def doctor(args: argparse.Namespace) -> int:
    data_dir = Path(args.data_dir)
    checks, settings = check_config(args.config or data_dir / CONFIG_FILENAME)
    database = data_dir / DB_FILENAME
    db_checks, live_health = check_database(database)
    checks += db_checks
    if settings is not None and db_checks[0].verdict == "ok":  # the bays are read only from a current schema
        checks += check_bays(settings, database)
        checks.append(check_ledger(database))
    if settings is None:
        checks.append(Check("devices", "warn", "not checked: the config did not load"))
    elif args.no_devices:
        checks.append(Check("devices", "ok", f"{len(settings.devices)} configured, not opened (--no-devices)"))
    elif not settings.devices:
        checks.append(Check("devices", "ok", "none configured"))
    else:
        if not args.verbose:  # a device that is missing is this check's verdict, not a log line too
            logging.getLogger("drivers").setLevel(logging.CRITICAL)
        checks += asyncio.run(check_devices(settings.devices, live_health, wait=args.device_wait))
    if settings is not None:
        checks.append(check_sync(settings.sync, data_dir))
    if settings is not None and db_checks[0].verdict == "ok":
        checks.append(check_audit(settings, database))
    failed = any(c.verdict == "FAIL" for c in checks)
    if args.json:
        emit_json({"ok": not failed, "checks": [asdict(c) for c in checks]})
    else:
        for check in checks:
            print(f"{check.verdict:<4}  {check.item}: {check.detail}")
    return EXIT_CHECK_FAILED if failed else 0


def check_config(path: Path) -> tuple[list[Check], Settings | None]:
    try:
        settings = load_settings(path)
    except ConfigError as err:
        first, *more = str(err).splitlines()
        extra = f" (and {len(more)} more problems)" if more else ""
        return [Check("config", "FAIL", first + extra)], None
    warnings = []
    if settings.security.token_key is None and any(d.driver in ("qr_serial", "qr_camera", "sim_qr")
                                                   for d in settings.devices):
        warnings.append(Check("config", "warn", "QR scanners are configured but [security] token_key is not: "
                                                "every scan will be refused"))
    summary = (f"{path} (station {settings.station.id}, {len(settings.bays)} bays, "
               f"{len(settings.technicians)} technicians, {len(settings.devices)} devices)")
    return [Check("config", "ok", summary), *warnings], settings


def check_database(path: Path) -> tuple[list[Check], dict[str, sqlite3.Row]]:
    """Integrity, schema revision, and the daemon's recent device health (read-only)."""
    from edge.store.migrate import current_revisions, script_heads

    if not path.is_file():
        return [Check("database", "FAIL", f"{path} does not exist: run `station-edge init --config FILE`")], {}
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as conn:
            conn.row_factory = sqlite3.Row
            verdict = conn.execute("PRAGMA quick_check").fetchone()[0]
            revisions = current_revisions(path)
            health = _recent_health(conn)
    except sqlite3.Error as err:
        return [Check("database", "FAIL", f"{path}: {err}")], {}
    if verdict != "ok":
        return [Check("database", "FAIL", f"{path}: integrity check: {verdict}")], {}
    heads = script_heads()
    if revisions == heads:
        return [Check("database", "ok", f"{path}: integrity ok, schema current ({', '.join(sorted(heads))})")], health
    behind = ", ".join(sorted(heads - revisions)) or "?"
    return [Check("database", "warn", f"{path}: integrity ok, schema behind (missing {behind}): "
                                      "`station-edge db upgrade`, or the daemon upgrades it on start")], health


def check_ledger(database: Path) -> Check:
    """Every money-ledger transaction's postings add up to zero (receipts, drawer and reports rely on it)."""
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)) as conn:
        count = conn.execute("SELECT count(DISTINCT txn_id) FROM ledger_entry").fetchone()[0]
        unbalanced = conn.execute(
            "SELECT txn_id, kind, sum(amount_minor) FROM ledger_entry GROUP BY txn_id, kind"
            " HAVING sum(amount_minor) != 0 ORDER BY min(created_at) LIMIT 3").fetchall()
    if unbalanced:
        first = ", ".join(f"{txn} ({kind}) off by {total}" for txn, kind, total in unbalanced)
        return Check("ledger", "FAIL", f"transactions whose postings do not add up to zero: {first}")
    return Check("ledger", "ok", f"{count} transactions, every one balanced")


def check_bays(settings: Settings, database: Path) -> list[Check]:
    """What is in each bay against its sensor, by the board's own model: one warning per bay in doubt."""
    from edge.errors import EdgeError
    from edge.services.bay_now import bays_now
    from edge.services.station import Station
    from edge.store.db import Store

    store = Store(database, migrate=False)
    try:
        bays = bays_now(Station(settings=settings, store=store))
    except EdgeError as err:
        return [Check("bays", "warn", f"not read: {err}")]
    finally:
        store.close()
    doubts = {"stuck": "sensor stuck: its reading is not trusted", "unknown": "sensor silent: state unknown"}
    checks = [Check(f"bay {b.bay_id}", "warn", b.disagreement_text() or doubts[b.sensor])
              for b in bays if b.disagreement or b.sensor in doubts]
    if checks:
        return checks
    summary = ", ".join(f"{b.bay_id} {b.state}" + (f" ({b.in_bay.code} {b.in_bay.plate})" if b.in_bay else "")
                        for b in bays)
    return [Check("bays", "ok", f"sensors and bookings agree: {summary}")]


def check_audit(settings: Settings, database: Path) -> Check:
    """The audit trail's hash chain, walked from its first entry: FAIL names the first entry that breaks it."""
    from edge.services import audit
    from edge.services.station import Station
    from edge.store.db import Store

    store = Store(database, migrate=False)
    try:
        count, broken = audit.verify(Station(settings=settings, store=store))
    finally:
        store.close()
    if broken is not None:
        return Check("audit", "FAIL", f"hash chain broken at seq {broken.seq}: {broken.problem} "
                                      f"({count} entries; the trail was changed outside the station)")
    return Check("audit", "ok", f"hash chain verified ({count} entries)")


def _recent_health(conn: sqlite3.Connection) -> dict[str, sqlite3.Row]:
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'device_health'").fetchone():
        return {}
    fresh_after = datetime.now(UTC) - DAEMON_FRESH
    return {row["device_id"]: row for row in conn.execute("SELECT * FROM device_health")
            if from_db_time(row["updated_at"]) >= fresh_after}


async def check_devices(devices: tuple[DeviceSettings, ...], live: dict[str, sqlite3.Row], *,
                        wait: float) -> list[Check]:
    opened = [device for device in devices if device.id not in live]
    results = dict(zip([d.id for d in opened],
                       await asyncio.gather(*(_probe(device, wait) for device in opened)), strict=True))
    checks = []
    for device in devices:
        item = f"device {device.id} ({device.driver})"
        if device.id in live:
            row = live[device.id]
            if row["connected"]:
                reasons = json.loads(row["rejects_by_reason"] or "{}") if "rejects_by_reason" in row.keys() else {}
                checks.append(Check(item, "ok", f"connected (the running daemon reports; {row['accepted']} accepted, "
                                                f"{row['rejected']} rejected{_by_reason(reasons)})"))
            else:
                checks.append(Check(item, "FAIL", f"not connected (the running daemon reports): {row['last_error']}"))
        else:
            checks.append(Check(item, *results[device.id]))
    return checks


async def _probe(device: DeviceSettings, wait: float) -> tuple[str, str]:
    """Open the device, give it `wait` seconds to connect, close it: (verdict, detail)."""
    from drivers.errors import DriverError
    from drivers.registry import create_source

    try:
        source = create_source(device.id, device.driver, device.options)
        await source.open()
    except DriverError as err:
        return "FAIL", f"misconfigured: {err}"
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while not source.health().connected and loop.time() < deadline:
            await asyncio.sleep(0.05)
        health = source.health()
    finally:
        await source.close()
    if health.connected:
        return "ok", f"connected ({health.rejected} frames rejected while checked{_by_reason(health.rejects_by_reason)})"
    return "FAIL", f"not connected after {wait:g} s: {health.last_error or 'no answer'}"


def _by_reason(counts: Mapping[str, int]) -> str:
    """The counts by reason after a colon, most first (": not_text 312, token_expired 2"); "" for none."""
    if not counts:
        return ""
    return ": " + ", ".join(f"{reason} {n}" for reason, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def check_sync(sync: SyncSettings | None, data_dir: Path) -> Check:
    if sync is None:
        return Check("sync", "ok", "not configured (no [sync] section: the station runs alone)")
    if not sync.enabled:
        return Check("sync", "ok", "configured but disabled")
    where = f"{sync.broker_host}:{sync.broker_port}"
    try:
        raw = socket.create_connection((sync.broker_host, sync.broker_port), timeout=BROKER_TIMEOUT)
    except OSError as err:
        return Check("sync", "FAIL", f"broker {where} unreachable: {err.strerror or err}")
    with raw:
        if sync.ca_file is None:
            return Check("sync", "ok", f"broker {where} reachable (plain TCP)")
        try:
            context = ssl.create_default_context(cafile=str(data_dir / sync.ca_file))
            if sync.cert_file and sync.key_file:
                context.load_cert_chain(str(data_dir / sync.cert_file), str(data_dir / sync.key_file))
            with context.wrap_socket(raw, server_hostname=sync.broker_host) as tls:
                return Check("sync", "ok", f"broker {where} reachable, TLS verified ({tls.version()})")
        except ssl.SSLError as err:
            return Check("sync", "FAIL", f"broker {where} reachable, but TLS failed: {err.reason or err}")
        except OSError as err:
            return Check("sync", "FAIL", f"broker {where} reachable, but TLS failed: {err.strerror or err}")
