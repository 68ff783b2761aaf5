"""What HQ decides and sends down, applied at the station: catalogue versions, member
snapshots and enterprise accounts with their rules. Each function runs inside the downlink
message's transaction (`conn`)."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from edge.domain import catalog as domain
from edge.domain.enterprise import ApprovalRule, EnterpriseAccount, FleetPackage
from edge.errors import RuleViolation
from edge.services import enterprise
from edge.services.ledgers import ensure_balance_row
from edge.services.station import Station
from edge.store.catalog import load_catalog, price_rules_from_json, save_catalog, sizes_from_json
from edge.store.types import to_db_time


def apply_catalog(station: Station, conn: sqlite3.Connection, message_type: str, body: dict[str, Any],
                  now: datetime) -> None:
    """`catalog.version`: HQ's services and packages with their prices and price calendar replace the station's;
    bays and technicians stay local. Bookings made from now on record the new price version
    (the caller reloads the station's catalogue after the commit)."""
    if message_type != "catalog.version":
        raise RuleViolation(f"unknown catalog message {message_type!r}")
    version = _text(body, "version")
    current = load_catalog(conn)
    if current.version == version:
        return
    services = {s["code"]: _service(s) for s in body["services"]}
    packages = {p["code"]: domain.Package(code=p["code"], name_zh=p["name_zh"], name_en=p["name_en"],
                                          services=tuple(p["services"]), price_minor=int(p["price_minor"]))
                for p in body.get("packages", [])}
    save_catalog(conn, domain.Catalog(version=version, services=services, packages=packages,
                                      bays=current.bays, technicians=current.technicians,
                                      price_rules=price_rules_from_json(body.get("price_rules", []))))


def _service(raw: dict[str, Any]) -> domain.ServiceItem:
    return domain.ServiceItem(
        code=raw["code"], name_zh=raw["name_zh"], name_en=raw["name_en"], category=raw["category"],
        duration_minutes=int(raw["duration_minutes"]), buffer_minutes=int(raw.get("buffer_minutes", 0)),
        price_minor=int(raw["price_minor"]), skill=raw.get("skill"), bay_kinds=frozenset(raw["bay_kinds"]),
        materials=tuple(sorted(raw.get("materials", {}).items())), interval_days=raw.get("interval_days"),
        interval_km=raw.get("interval_km"), by_size=sizes_from_json(raw.get("by_size", {})),
    )


def apply_member(station: Station, conn: sqlite3.Connection, message_type: str, body: dict[str, Any],
                 now: datetime) -> None:
    """`member.snapshot`: HQ's balances for a member and the station ledger entries they
    already count. Local balance = this snapshot + the entries HQ has not counted yet."""
    if message_type != "member.snapshot":
        raise RuleViolation(f"unknown member message {message_type!r}")
    member_id = _text(body, "member_id")
    stamp = to_db_time(now)
    conn.execute(
        "INSERT INTO member (id, phone, name, tier, credit_score, version, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name,"
        " tier = excluded.tier, updated_at = excluded.updated_at",
        (member_id, _text(body, "phone"), body.get("name", ""), _text(body, "tier"),
         station.settings.credit.initial, 1, stamp, stamp),
    )
    ensure_balance_row(conn, station, member_id, now)
    # the downlink applies a member's snapshots in HQ's order, so the latest one is the last one
    conn.execute(
        "UPDATE member_balance SET points_snapshot = ?, prepaid_snapshot_minor = ?, snapshot_at = ?"
        " WHERE member_id = ?",
        (int(body["points"]), int(body["prepaid_minor"]), stamp, member_id),
    )
    for table, key in (("points_entry", "counted_points"), ("prepaid_entry", "counted_prepaid")):
        ids = [str(i) for i in body.get(key, [])]
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            conn.execute(f"UPDATE {table} SET counted_by_hq = 1 WHERE member_id = ? AND id IN"
                         f" ({','.join('?' * len(chunk))})", (member_id, *chunk))


def apply_enterprise(station: Station, conn: sqlite3.Connection, message_type: str, body: dict[str, Any],
                     now: datetime) -> None:
    """HQ's enterprise data (accounts, sub-accounts, fleet vehicles, packages, approval rules)
    and HQ's figure of what a company owes. Written as HQ's (no outbox event goes back up)."""
    kind = message_type.removeprefix("enterprise.")
    if kind == "account":
        enterprise.upsert_account(conn, station, EnterpriseAccount(**body), now=now, from_hq=True)
    elif kind == "sub_account":
        enterprise.upsert_sub_account(
            conn, station, enterprise_id=body["enterprise_id"], phone=body["phone"], name=body.get("name", ""),
            role=body["role"], permissions=frozenset(body.get("permissions", [])),
            monthly_limit_minor=body.get("monthly_limit_minor"), active=body.get("active", True),
            sub_account_id=body.get("id"), now=now, from_hq=True)
    elif kind == "vehicle":
        enterprise.upsert_vehicle(conn, station, enterprise_id=body["enterprise_id"], plate=body["plate"],
                                  active=body.get("active", True), now=now, from_hq=True)
    elif kind == "package":
        package = FleetPackage(**{**body, "services": tuple(body["services"])})
        enterprise.upsert_package(conn, station, package, now=now, from_hq=True)
    elif kind == "rule":
        enterprise.upsert_rule(conn, station, ApprovalRule(**body), now=now, from_hq=True)
    elif kind == "balance":
        enterprise.apply_hq_balance(conn, enterprise_id=body["enterprise_id"],
                                    outstanding_minor=int(body["outstanding_minor"]),
                                    counted_charge_ids=[str(i) for i in body.get("counted_charges", [])], now=now)
    else:
        raise RuleViolation(f"unknown enterprise message {message_type!r}")


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise RuleViolation(f"{key} missing from HQ's message")
    return value
