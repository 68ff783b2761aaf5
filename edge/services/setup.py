"""Creating a station from its config: the data directory, the database, identity and catalogue."""

from __future__ import annotations

import logging
import shutil
from dataclasses import replace
from pathlib import Path

from edge.config import Settings, load_settings
from edge.domain import catalog as domain
from edge.domain.ids import uuid7
from edge.errors import StoreError
from edge.services.station import CONFIG_FILENAME, DB_FILENAME, Station, utc_now
from edge.store.catalog import catalog_fingerprint, save_catalog
from edge.store.db import Store
from edge.store.inventory import save_materials
from edge.services.staff import save_config_staff
from edge.store.types import to_db_time

log = logging.getLogger(__name__)


def catalog_from_settings(settings: Settings) -> domain.Catalog:
    """The catalogue, bays and technicians the config describes, as a domain snapshot."""
    services = {
        s.code: domain.ServiceItem(
            code=s.code, name_zh=s.name_zh, name_en=s.name_en, category=s.category,
            duration_minutes=s.duration_minutes, buffer_minutes=s.buffer_minutes, price_minor=s.price,
            skill=s.skill, bay_kinds=frozenset(s.bay_kinds), materials=tuple(sorted(s.materials.items())),
            interval_days=s.interval_days, interval_km=s.interval_km, by_size=s.size_terms(),
        )
        for s in settings.services
    }
    packages = {
        p.code: domain.Package(code=p.code, name_zh=p.name_zh, name_en=p.name_en,
                               services=tuple(p.services), price_minor=p.price)
        for p in settings.packages
    }
    bays = {
        b.id: domain.Bay(
            id=b.id, name=b.name, kind=b.kind,
            services=frozenset(b.services) if b.services
            else frozenset(code for code, item in services.items() if b.kind in item.bay_kinds),
        )
        for b in settings.bays
    }
    technicians = {
        t.id: domain.Technician(
            id=t.id, name=t.name, skills=frozenset(t.skills),
            shifts={day: tuple(ranges) for day, ranges in t.roster.weekly().items()}, card_id=t.card_id,
        )
        for t in settings.technicians
    }
    catalog = domain.Catalog(version="", services=services, packages=packages, bays=bays, technicians=technicians,
                             price_rules=tuple(rule.rule() for rule in settings.price_rules))
    return replace(catalog, version=catalog_fingerprint(catalog))


def init_station(config_path: str | Path, data_dir: str | Path) -> Station:
    """Create (or bring up to date) the station in `data_dir` from the config file.

    The config is validated before anything is written. Re-running keeps every booking and
    applies the config's catalogue, bays and roster; a data directory that belongs to another
    station is refused.
    """
    settings = load_settings(config_path)
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(data_dir / DB_FILENAME)
    now = utc_now()
    with store.write() as conn:
        row = conn.execute("SELECT station_id FROM node WHERE id = 1").fetchone()
        if row is None:
            conn.execute(
                "INSERT INTO node (id, station_id, epoch, created_at, catalog_version, hlc_wall_ms, hlc_logical)"
                " VALUES (1, ?, ?, ?, '', 0, 0)",
                (settings.station.id, uuid7(), to_db_time(now)),
            )
            log.info("station created station=%s dir=%s", settings.station.id, data_dir)
        elif row["station_id"] != settings.station.id:
            raise StoreError(
                f"{data_dir} holds station {row['station_id']}; the config {config_path} is for {settings.station.id}"
            )
        save_catalog(conn, catalog_from_settings(settings))
        save_materials(conn, settings.materials, now=now)
        save_config_staff(conn, settings.staff, now=now)
    target = data_dir / CONFIG_FILENAME
    if Path(config_path).resolve() != target.resolve():
        shutil.copyfile(config_path, target)
    return Station(settings=settings, store=store)
