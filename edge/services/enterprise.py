"""Enterprise accounts as the station keeps them: companies, sub-accounts, fleet vehicles, packages, approval rules.

HQ is the authority for all of these (docs/protocol.md, "Authority"). Each `upsert_*` works inside the
caller's write transaction, so the CLI today and HQ's downlink handler later call the same
functions; a change made here is announced to HQ with an `enterprise.updated` event
(`from_hq=True` skips it: HQ does not need its own change echoed back). Every change bumps
the account's version, which keys the event's idem_key.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from sqlite3 import Connection, Row
from typing import Any

from edge.domain.enterprise import ApprovalRule, EnterpriseAccount, FleetPackage, SubAccount
from edge.domain.ids import uuid7
from edge.domain.phones import normalize_phone
from edge.domain.plates import normalize_plate, validate_plate
from edge.errors import NotFound, RuleViolation
from edge.services.members import typed_phone
from edge.services.station import Station
from edge.store.outbox import append_event
from edge.store.types import dumps, to_db_time

_ACCOUNT_COLUMNS = "id, name, tax_id, credit_limit_minor, verified, approval_hours, active"
_SUB_COLUMNS = "id, enterprise_id, phone, name, role, permissions, monthly_limit_minor, active"
_PACKAGE_COLUMNS = "enterprise_id, code, name, services, price_minor, max_uses, period, active"
_RULE_COLUMNS = "id, enterprise_id, category, above_minor, approver_role, expiry_hours, active"


# -- reading -------------------------------------------------------------------------


def get_account(conn: Connection, enterprise_id: str) -> EnterpriseAccount:
    row = conn.execute(f"SELECT {_ACCOUNT_COLUMNS} FROM enterprise_account WHERE id = ?", (enterprise_id,)).fetchone()
    if row is None:
        raise NotFound(f"no enterprise {enterprise_id!r}")
    return _account(row)


def find_account(conn: Connection, enterprise_id: str) -> EnterpriseAccount | None:
    row = conn.execute(f"SELECT {_ACCOUNT_COLUMNS} FROM enterprise_account WHERE id = ?", (enterprise_id,)).fetchone()
    return None if row is None else _account(row)


def accounts(conn: Connection) -> list[EnterpriseAccount]:
    return [_account(row) for row in conn.execute(f"SELECT {_ACCOUNT_COLUMNS} FROM enterprise_account ORDER BY id")]


def get_sub_account(conn: Connection, sub_account_id: str) -> SubAccount:
    row = conn.execute(f"SELECT {_SUB_COLUMNS} FROM enterprise_sub_account WHERE id = ?", (sub_account_id,)).fetchone()
    if row is None:
        raise NotFound(f"no enterprise sub-account {sub_account_id!r}")
    return _sub_account(row)


def sub_account_by_phone(conn: Connection, enterprise_id: str, phone: str) -> SubAccount:
    """The sub-account of `enterprise_id` with this phone; NotFound names both."""
    get_account(conn, enterprise_id)
    row = conn.execute(
        f"SELECT {_SUB_COLUMNS} FROM enterprise_sub_account WHERE enterprise_id = ? AND phone = ?",
        (enterprise_id, normalize_phone(phone, foreign_allowed=True)),
    ).fetchone()
    if row is None:
        raise NotFound(f"no sub-account with phone {phone} in enterprise {enterprise_id}")
    return _sub_account(row)


def sub_accounts(conn: Connection, enterprise_id: str) -> list[SubAccount]:
    rows = conn.execute(
        f"SELECT {_SUB_COLUMNS} FROM enterprise_sub_account WHERE enterprise_id = ? ORDER BY phone", (enterprise_id,)
    )
    return [_sub_account(row) for row in rows]


def fleet_plates(conn: Connection, enterprise_id: str) -> list[str]:
    rows = conn.execute(
        "SELECT plate FROM enterprise_vehicle WHERE enterprise_id = ? AND active ORDER BY plate", (enterprise_id,)
    )
    return [row[0] for row in rows]


def is_fleet_vehicle(conn: Connection, enterprise_id: str, plate: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM enterprise_vehicle WHERE plate = ? AND enterprise_id = ? AND active", (plate, enterprise_id)
    ).fetchone()
    return row is not None


def find_package(conn: Connection, enterprise_id: str, code: str) -> FleetPackage | None:
    row = conn.execute(
        f"SELECT {_PACKAGE_COLUMNS} FROM enterprise_package WHERE enterprise_id = ? AND code = ?",
        (enterprise_id, code),
    ).fetchone()
    return None if row is None else _package(row)


def packages(conn: Connection, enterprise_id: str) -> list[FleetPackage]:
    rows = conn.execute(
        f"SELECT {_PACKAGE_COLUMNS} FROM enterprise_package WHERE enterprise_id = ? ORDER BY code", (enterprise_id,)
    )
    return [_package(row) for row in rows]


def rules(conn: Connection, enterprise_id: str) -> list[ApprovalRule]:
    rows = conn.execute(
        f"SELECT {_RULE_COLUMNS} FROM approval_rule WHERE enterprise_id = ? ORDER BY above_minor, approver_role, id",
        (enterprise_id,),
    )
    return [_rule(row) for row in rows]


def outstanding_minor(conn: Connection, enterprise_id: str) -> int:
    """What the company owes: HQ's last figure plus this station's charges HQ has not counted yet."""
    row = conn.execute(
        "SELECT coalesce((SELECT outstanding_snapshot_minor FROM enterprise_account WHERE id = ?), 0)"
        " + coalesce((SELECT sum(amount_minor) FROM enterprise_charge"
        " WHERE enterprise_id = ? AND NOT counted_by_hq), 0)",
        (enterprise_id, enterprise_id),
    ).fetchone()
    return row[0]


@dataclass(frozen=True, slots=True)
class EnterpriseProfile:
    """An account with everything hanging off it, for `fleet show`."""

    account: EnterpriseAccount
    outstanding_minor: int
    sub_accounts: tuple[SubAccount, ...]
    plates: tuple[str, ...]
    packages: tuple[FleetPackage, ...]
    rules: tuple[ApprovalRule, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            **as_json(self.account), "outstanding_minor": self.outstanding_minor,
            "sub_accounts": [as_json(s) for s in self.sub_accounts], "vehicles": list(self.plates),
            "packages": [as_json(p) for p in self.packages], "rules": [as_json(r) for r in self.rules],
        }


def profile(station: Station, enterprise_id: str) -> EnterpriseProfile:
    with station.store.read() as conn:
        return EnterpriseProfile(
            get_account(conn, enterprise_id), outstanding_minor(conn, enterprise_id),
            tuple(sub_accounts(conn, enterprise_id)), tuple(fleet_plates(conn, enterprise_id)),
            tuple(packages(conn, enterprise_id)), tuple(rules(conn, enterprise_id)),
        )


def as_json(record: Any) -> dict[str, Any]:
    """A domain record of this module as JSON (permission sets as sorted lists)."""
    data = asdict(record)
    for key, value in data.items():
        if isinstance(value, (frozenset, set, tuple)):
            data[key] = sorted(value) if isinstance(value, (frozenset, set)) else list(value)
    return data


# -- upserts (HQ's data; the CLI edits the station's copy until HQ sends it) --------------


def upsert_account(
    conn: Connection, station: Station, account: EnterpriseAccount, *, now: datetime, from_hq: bool = False
) -> EnterpriseAccount:
    conn.execute(
        "INSERT INTO enterprise_account (id, name, tax_id, verified, credit_limit_minor, approval_hours,"
        " outstanding_snapshot_minor, active, version, updated_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?, 0, ?)"
        " ON CONFLICT (id) DO UPDATE SET name = excluded.name, tax_id = excluded.tax_id,"
        " verified = excluded.verified, credit_limit_minor = excluded.credit_limit_minor,"
        " approval_hours = excluded.approval_hours, active = excluded.active",
        (account.id, account.name, account.tax_id, account.verified, account.credit_limit_minor,
         account.approval_hours, account.active, to_db_time(now)),
    )
    _changed(conn, station, account.id, "account", as_json(account), now=now, from_hq=from_hq)
    return account


def upsert_sub_account(
    conn: Connection, station: Station, *, enterprise_id: str, phone: str, name: str, role: str,
    permissions: frozenset[str], monthly_limit_minor: int | None, active: bool = True,
    sub_account_id: str | None = None, now: datetime, from_hq: bool = False,
) -> SubAccount:
    """Add or replace the sub-account with this phone in the enterprise (keeping its id)."""
    get_account(conn, enterprise_id)
    phone = normalize_phone(phone, foreign_allowed=True) if from_hq else typed_phone(station, phone)
    row = conn.execute(
        "SELECT id FROM enterprise_sub_account WHERE enterprise_id = ? AND phone = ?", (enterprise_id, phone)
    ).fetchone()
    sub = SubAccount(
        id=row[0] if row else sub_account_id or uuid7(), enterprise_id=enterprise_id, phone=phone, name=name,
        role=role.strip(), permissions=frozenset(permissions), monthly_limit_minor=monthly_limit_minor, active=active,
    )
    conn.execute(
        f"INSERT INTO enterprise_sub_account ({_SUB_COLUMNS}, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (id) DO UPDATE SET name = excluded.name, role = excluded.role,"
        " permissions = excluded.permissions, monthly_limit_minor = excluded.monthly_limit_minor,"
        " active = excluded.active, updated_at = excluded.updated_at",
        (sub.id, enterprise_id, phone, name, sub.role, dumps(sorted(sub.permissions)), monthly_limit_minor,
         active, to_db_time(now)),
    )
    _changed(conn, station, enterprise_id, "sub_account", as_json(sub), now=now, from_hq=from_hq)
    return sub


def upsert_vehicle(
    conn: Connection, station: Station, *, enterprise_id: str, plate: str, active: bool = True, now: datetime,
    from_hq: bool = False, foreign_plate: bool = False,
) -> str:
    """Put a plate in the enterprise's fleet (taking it from another fleet), or take it out; the normalised plate.

    A plate typed at the station must have a mainland format unless `foreign_plate`; HQ's is kept as sent."""
    plate = normalize_plate(plate) if from_hq or not active else validate_plate(plate, foreign=foreign_plate)
    get_account(conn, enterprise_id)
    conn.execute(
        "INSERT INTO enterprise_vehicle (plate, enterprise_id, active, updated_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (plate) DO UPDATE SET enterprise_id = excluded.enterprise_id, active = excluded.active,"
        " updated_at = excluded.updated_at",
        (plate, enterprise_id, active, to_db_time(now)),
    )
    _changed(conn, station, enterprise_id, "vehicle", {"plate": plate, "active": active}, now=now, from_hq=from_hq)
    return plate


def upsert_package(
    conn: Connection, station: Station, package: FleetPackage, *, now: datetime, from_hq: bool = False
) -> FleetPackage:
    get_account(conn, package.enterprise_id)
    catalog = station.catalog()
    if package.code in catalog.services or package.code in catalog.packages:
        raise RuleViolation(f"package code {package.code} is a catalogue code; give the enterprise package its own")
    catalog.plan(package.services)  # unknown service codes fail here, not at the first booking
    conn.execute(
        f"INSERT INTO enterprise_package ({_PACKAGE_COLUMNS}, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (enterprise_id, code) DO UPDATE SET name = excluded.name, services = excluded.services,"
        " price_minor = excluded.price_minor, max_uses = excluded.max_uses, period = excluded.period,"
        " active = excluded.active, updated_at = excluded.updated_at",
        (package.enterprise_id, package.code, package.name, dumps(list(package.services)), package.price_minor,
         package.max_uses, package.period, package.active, to_db_time(now)),
    )
    _changed(conn, station, package.enterprise_id, "package", as_json(package), now=now, from_hq=from_hq)
    return package


def upsert_rule(
    conn: Connection, station: Station, rule: ApprovalRule, *, now: datetime, from_hq: bool = False
) -> ApprovalRule:
    get_account(conn, rule.enterprise_id)
    owner = conn.execute("SELECT enterprise_id FROM approval_rule WHERE id = ?", (rule.id,)).fetchone()
    if owner is not None and owner[0] != rule.enterprise_id:
        raise RuleViolation(f"approval rule {rule.id} belongs to enterprise {owner[0]}, not {rule.enterprise_id}")
    conn.execute(
        f"INSERT INTO approval_rule ({_RULE_COLUMNS}, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (id) DO UPDATE SET category = excluded.category, above_minor = excluded.above_minor,"
        " approver_role = excluded.approver_role, expiry_hours = excluded.expiry_hours,"
        " active = excluded.active, updated_at = excluded.updated_at",
        (rule.id, rule.enterprise_id, rule.category, rule.above_minor, rule.approver_role, rule.expiry_hours,
         rule.active, to_db_time(now)),
    )
    _changed(conn, station, rule.enterprise_id, "rule", as_json(rule), now=now, from_hq=from_hq)
    return rule


def apply_hq_balance(
    conn: Connection, *, enterprise_id: str, outstanding_minor: int, counted_charge_ids: list[str], now: datetime
) -> None:
    """HQ's word on what the company owes, and which of this station's charges that figure includes."""
    get_account(conn, enterprise_id)
    conn.execute(
        "UPDATE enterprise_account SET outstanding_snapshot_minor = ?, snapshot_at = ? WHERE id = ?",
        (outstanding_minor, to_db_time(now), enterprise_id),
    )
    conn.executemany("UPDATE enterprise_charge SET counted_by_hq = 1 WHERE id = ? AND enterprise_id = ?",
                     [(charge_id, enterprise_id) for charge_id in counted_charge_ids])


def _changed(
    conn: Connection, station: Station, enterprise_id: str, kind: str, item: dict[str, Any], *, now: datetime,
    from_hq: bool,
) -> None:
    version = conn.execute(
        "UPDATE enterprise_account SET version = version + 1, updated_at = ? WHERE id = ? RETURNING version",
        (to_db_time(now), enterprise_id),
    ).fetchone()[0]
    if from_hq:
        return
    account = get_account(conn, enterprise_id)
    append_event(
        conn, event_type="enterprise.updated", entity_id=enterprise_id,
        idem_key=f"enterprise:{enterprise_id}:{version}",
        body={"enterprise": {**as_json(account), "version": version}, "change": kind, kind: item}, now=now,
    )


# -- rows to records -----------------------------------------------------------------


def _account(row: Row) -> EnterpriseAccount:
    data = dict(row)
    data["verified"], data["active"] = bool(data["verified"]), bool(data["active"])
    return EnterpriseAccount(**data)


def _sub_account(row: Row) -> SubAccount:
    data = dict(row)
    data["permissions"] = frozenset(json.loads(data["permissions"]))
    data["active"] = bool(data["active"])
    return SubAccount(**data)


def _package(row: Row) -> FleetPackage:
    data = dict(row)
    data["services"] = tuple(json.loads(data["services"]))
    data["active"] = bool(data["active"])
    return FleetPackage(**data)


def _rule(row: Row) -> ApprovalRule:
    data = dict(row)
    data["active"] = bool(data["active"])
    return ApprovalRule(**data)
