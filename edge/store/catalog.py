"""Reading and replacing the stored catalogue: service items, packages, bays, technicians, roster."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections import defaultdict
from dataclasses import asdict
from datetime import date
from typing import Any

from edge.domain import catalog as domain
from edge.domain.roster import clock_text, parse_clock
from edge.domain.tiers import WEEKDAYS
from edge.store.types import dumps


def catalog_fingerprint(catalog: domain.Catalog) -> str:
    """A short content hash: the price version every booking records."""
    payload = {
        # an item without size classes hashes as it did before there were any
        "services": [_without_empty_sizes(asdict(s) | {"bay_kinds": sorted(s.bay_kinds)})
                     for s in catalog.services.values()],
        "packages": [asdict(p) for p in catalog.packages.values()],
    }
    if catalog.price_rules:  # a catalogue without a price calendar hashes as it did before there was one
        payload["price_rules"] = price_rules_json(catalog.price_rules)
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]


def _without_empty_sizes(item: dict) -> dict:
    return item if item["by_size"] else {key: value for key, value in item.items() if key != "by_size"}


def sizes_json(by_size: tuple[domain.SizeTerms, ...]) -> dict[str, dict[str, int]]:
    """A service's size terms as stored and sent to stations: class -> duration and price."""
    return {t.size_class: {"duration_minutes": t.duration_minutes, "price_minor": t.price_minor} for t in by_size}


def sizes_from_json(raw: dict[str, dict[str, int]]) -> tuple[domain.SizeTerms, ...]:
    return tuple(domain.SizeTerms(name, int(terms["duration_minutes"]), int(terms["price_minor"]))
                 for name, terms in sorted(raw.items()))


def price_rules_json(rules: tuple[domain.PriceRule, ...]) -> list[dict[str, Any]]:
    """The price calendar as stored and sent to stations, in its order."""
    return [{"services": sorted(r.services), "dates": sorted(d.isoformat() for d in r.dates),
             "weekdays": [WEEKDAYS[d] for d in sorted(r.weekdays)],
             "hours": None if r.hours is None else f"{clock_text(r.hours[0])}-{clock_text(r.hours[1])}",
             "price_minor": r.price_minor, "discount_pct": r.discount_pct} for r in rules]


def price_rules_from_json(raw: list[dict[str, Any]]) -> tuple[domain.PriceRule, ...]:
    """The price calendar from its stored or sent form."""
    rules = []
    for r in raw:
        hours = r.get("hours")
        start, _, end = hours.partition("-") if hours else ("", "", "")
        rules.append(domain.PriceRule(
            services=frozenset(r["services"]), dates=frozenset(date.fromisoformat(d) for d in r.get("dates", ())),
            weekdays=frozenset(WEEKDAYS.index(d) for d in r.get("weekdays", ())),
            hours=(parse_clock(start, "hours"), parse_clock(end, "hours")) if hours else None,
            price_minor=r.get("price_minor"), discount_pct=r.get("discount_pct")))
    return tuple(rules)


def save_catalog(conn: sqlite3.Connection, catalog: domain.Catalog) -> None:
    """Make the stored catalogue equal `catalog`; items that vanished are deactivated, not
    deleted, because old bookings still point at them."""
    conn.execute("UPDATE service_item SET active = 0")
    conn.execute("UPDATE package SET active = 0")
    conn.execute("UPDATE technician SET active = 0")
    conn.execute("UPDATE bay SET active = 0")
    for s in catalog.services.values():
        conn.execute(
            "INSERT INTO service_item (code, name_zh, name_en, category, duration_minutes, buffer_minutes,"
            " price_minor, skill, bay_kinds, materials, interval_days, interval_km, by_size, active)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)"
            " ON CONFLICT (code) DO UPDATE SET name_zh = excluded.name_zh, name_en = excluded.name_en,"
            " category = excluded.category, duration_minutes = excluded.duration_minutes,"
            " buffer_minutes = excluded.buffer_minutes, price_minor = excluded.price_minor,"
            " skill = excluded.skill, bay_kinds = excluded.bay_kinds, materials = excluded.materials,"
            " interval_days = excluded.interval_days, interval_km = excluded.interval_km,"
            " by_size = excluded.by_size, active = 1",
            (s.code, s.name_zh, s.name_en, s.category, s.duration_minutes, s.buffer_minutes,
             s.price_minor, s.skill, dumps(sorted(s.bay_kinds)), dumps(dict(s.materials)),
             s.interval_days, s.interval_km, dumps(sizes_json(s.by_size))),
        )
    for p in catalog.packages.values():
        conn.execute(
            "INSERT INTO package (code, name_zh, name_en, services, price_minor, active)"
            " VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT (code) DO UPDATE SET name_zh = excluded.name_zh,"
            " name_en = excluded.name_en, services = excluded.services,"
            " price_minor = excluded.price_minor, active = 1",
            (p.code, p.name_zh, p.name_en, dumps(list(p.services)), p.price_minor),
        )
    for position, b in enumerate(catalog.bays.values()):
        conn.execute(
            "INSERT INTO bay (id, name, kind, services, position, in_service, active) VALUES (?, ?, ?, ?, ?, ?, 1)"
            " ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind,"
            " services = excluded.services, position = excluded.position, active = 1",
            (b.id, b.name, b.kind, dumps(sorted(b.services)), position, b.in_service),
        )
    conn.execute("DELETE FROM roster_shift")
    for t in catalog.technicians.values():
        conn.execute(
            "INSERT INTO technician (id, name, skills, card_id, active) VALUES (?, ?, ?, ?, 1)"
            " ON CONFLICT (id) DO UPDATE SET name = excluded.name, skills = excluded.skills,"
            " card_id = excluded.card_id, active = 1",
            (t.id, t.name, dumps(sorted(t.skills)), t.card_id),
        )
        for weekday, ranges in t.shifts.items():
            for start, end in ranges:
                conn.execute(
                    "INSERT INTO roster_shift (technician_id, weekday, start_minute, end_minute)"
                    " VALUES (?, ?, ?, ?)",
                    (t.id, weekday, start, end),
                )
    conn.execute("DELETE FROM price_rule")
    conn.executemany("INSERT INTO price_rule (position, rule) VALUES (?, ?)",
                     list(enumerate(dumps(rule) for rule in price_rules_json(catalog.price_rules))))
    conn.execute("UPDATE node SET catalog_version = ? WHERE id = 1", (catalog.version,))


def load_catalog(conn: sqlite3.Connection) -> domain.Catalog:
    """The active catalogue as a domain snapshot."""
    services = {
        r["code"]: domain.ServiceItem(
            code=r["code"], name_zh=r["name_zh"], name_en=r["name_en"], category=r["category"],
            duration_minutes=r["duration_minutes"], buffer_minutes=r["buffer_minutes"],
            price_minor=r["price_minor"], skill=r["skill"], bay_kinds=frozenset(json.loads(r["bay_kinds"])),
            materials=tuple(sorted(json.loads(r["materials"]).items())),
            interval_days=r["interval_days"], interval_km=r["interval_km"],
            by_size=sizes_from_json(json.loads(r["by_size"])),
        )
        for r in conn.execute("SELECT * FROM service_item WHERE active = 1 ORDER BY code")
    }
    packages = {
        r["code"]: domain.Package(
            code=r["code"], name_zh=r["name_zh"], name_en=r["name_en"],
            services=tuple(json.loads(r["services"])), price_minor=r["price_minor"],
        )
        for r in conn.execute("SELECT * FROM package WHERE active = 1 ORDER BY code")
    }
    bays = {
        r["id"]: domain.Bay(
            id=r["id"], name=r["name"], kind=r["kind"], services=frozenset(json.loads(r["services"])),
            in_service=bool(r["in_service"]),
        )
        for r in conn.execute("SELECT * FROM bay WHERE active = 1 ORDER BY position, id")
    }
    shifts: dict[str, dict[int, list[tuple[int, int]]]] = defaultdict(lambda: defaultdict(list))
    for r in conn.execute(
        "SELECT technician_id, weekday, start_minute, end_minute FROM roster_shift"
        " ORDER BY technician_id, weekday, start_minute"
    ):
        shifts[r["technician_id"]][r["weekday"]].append((r["start_minute"], r["end_minute"]))
    technicians = {
        r["id"]: domain.Technician(
            id=r["id"], name=r["name"], skills=frozenset(json.loads(r["skills"])),
            shifts={day: tuple(ranges) for day, ranges in shifts[r["id"]].items()}, card_id=r["card_id"],
        )
        for r in conn.execute("SELECT * FROM technician WHERE active = 1 ORDER BY id")
    }
    row = conn.execute("SELECT catalog_version FROM node WHERE id = 1").fetchone()
    version = row[0] if row else ""
    price_rules = price_rules_from_json([json.loads(r[0]) for r in
                                         conn.execute("SELECT rule FROM price_rule ORDER BY position")])
    return domain.Catalog(version=version, services=services, packages=packages, bays=bays, technicians=technicians,
                          price_rules=price_rules)
