"""Schema migrations: a database made at the first revision upgrades to head with its data."""

from __future__ import annotations

import json
import sqlite3

from alembic.config import Config
from alembic.script import ScriptDirectory

from edge.store.db import Store
from edge.store.migrate import MIGRATIONS_DIR, current_revisions, migration_engine, script_heads, upgrade_to_head
from edge.store.models import TABLES


def test_heads_read_from_the_scripts_are_alembics_heads():
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert script_heads() == frozenset(ScriptDirectory.from_config(config).get_heads())


def test_a_first_revision_database_upgrades_to_head_keeping_its_data(tmp_path):
    path = tmp_path / "station.db"
    upgrade_to_head(path, revision="0001_initial")
    assert current_revisions(path) == {"0001_initial"}
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO node (id, station_id, epoch, created_at, catalog_version, hlc_wall_ms, hlc_logical)"
                     " VALUES (1, 'OLD-1', 'epoch-1', '2026-01-01T00:00:00Z', 'v0', 5, 0)")
        conn.execute("INSERT INTO bay (id, name, kind, services, position, in_service, active)"
                     " VALUES ('L1', 'Lift', 'lift', '[]', 0, 1, 1)")
        conn.execute(
            "INSERT INTO booking (id, code, plate, member_id, channel, state, progress, bay_id, technician_id,"
            " start_at, end_at, services, package_code, price_minor, currency, price_version, hold_until, notes,"
            " reason, version, created_at, updated_at) VALUES ('b1', 'ABC123', '沪A12345', NULL, 'phone',"
            " 'confirmed', NULL, 'L1', NULL, '2026-01-02T01:00:00Z', '2026-01-02T01:30:00Z', '[\"OIL\"]', NULL,"
            " 29900, 'CNY', 'v0', NULL, '', '', 1, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')"
        )
        conn.execute("INSERT INTO slot_claim (bay_id, slot_start, booking_id) VALUES ('L1', '2026-01-02T01:00:00Z', 'b1')")
        tables_before = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "waitlist_entry" not in tables_before

    Store(path).close()  # opening migrates

    assert current_revisions(path) == script_heads()
    assert list(tmp_path.glob("station.db.before-*"))  # the copy taken before upgrading
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT plate, price_minor FROM booking").fetchall() == [("沪A12345", 29900)]
        assert conn.execute("SELECT booking_id FROM slot_claim").fetchall() == [("b1",)]
        assert conn.execute("SELECT station_id, epoch FROM node").fetchall() == [("OLD-1", "epoch-1")]
        conn.execute("INSERT INTO waitlist_entry (id, plate, phone, services, day, window_start, window_end, state,"
                     " version, created_at, updated_at) VALUES ('w1', 'P', '', '[]', '2026-01-02',"
                     " '2026-01-02T00:00:00Z', '2026-01-02T10:00:00Z', 'waiting', 1, 'x', 'x')")


def test_migrated_schema_equals_the_models(tmp_path):
    """Alembic's autogenerate finds nothing to add: models and migrations agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    Store(tmp_path / "station.db").close()
    engine = migration_engine(tmp_path / "station.db")
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), TABLES)
    engine.dispose()
    assert diff == []


def test_opening_a_current_database_does_not_touch_it(tmp_path):
    path = tmp_path / "station.db"
    Store(path).close()
    Store(path).close()
    assert not list(tmp_path.glob("station.db.before-*"))


def test_old_receipts_and_payments_become_ledger_transactions(tmp_path):
    path = tmp_path / "station.db"
    upgrade_to_head(path, revision="0014_ledger")
    with sqlite3.connect(path) as conn:
        lines = [{"code": "OIL", "name": "Oil", "category": "maintenance", "quantity": 1, "unit_minor": 29900,
                  "gross_minor": 29900, "tier_discount_minor": 1495, "net_minor": 28405},
                 {"code": "FLUID", "name": "Fluid", "category": "goods", "quantity": 2, "unit_minor": 1500,
                  "gross_minor": 3000, "tier_discount_minor": 0, "net_minor": 3000}]
        receipt = ("INSERT INTO receipt (id, number, booking_id, member_id, lines, subtotal_minor, tier_discount_minor,"
                   " coupon_code, coupon_discount_minor, points_redeemed, points_minor, prepaid_minor, remainder_minor,"
                   " total_minor, currency, price_version, state, version, created_at) VALUES"
                   " (?, ?, NULL, NULL, ?, 32900, 1495, 'C1', 1000, 100, 100, 0, 30305, 30405, 'CNY', 'v1', ?, ?, ?)")
        conn.execute(receipt, ("r1", "TST-261123-AAAAA", json.dumps(lines), "paid", 1, "2026-11-23T02:00:00Z"))
        conn.execute(receipt, ("r2", "TST-261123-BBBBB", json.dumps(lines), "refunded", 2, "2026-11-23T03:00:00Z"))
        payment = ("INSERT INTO payment (id, receipt_id, booking_id, method, amount_minor, reference, created_at)"
                   " VALUES (?, ?, NULL, ?, ?, ?, ?)")
        conn.executemany(payment, [
            ("p1", "r1", "wechat_pay", 20000, "42000001", "2026-11-23T02:00:00Z"),
            ("p2", "r1", "cash", 10305, "", "2026-11-23T02:00:00Z"),
            ("p3", "r2", "alipay", 30305, "", "2026-11-23T03:00:00Z"),
            ("p4", "r2", "alipay", -30305, "wrong car", "2026-11-23T04:00:00Z"),
        ])
    Store(path).close()  # opening migrates
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'payment'").fetchone() is None
        per_txn = conn.execute("SELECT receipt_id, kind, sum(amount_minor) FROM ledger_entry"
                               " GROUP BY txn_id ORDER BY receipt_id, kind DESC").fetchall()
        assert per_txn == [("r1", "sale", 0), ("r2", "sale", 0), ("r2", "refund", 0)]
        tenders = conn.execute("SELECT receipt_id, kind, detail, amount_minor, reference FROM ledger_entry"
                               " WHERE account = 'tender' ORDER BY receipt_id, kind DESC, detail DESC").fetchall()
        assert tenders == [("r1", "sale", "wechat_pay", 20000, "42000001"), ("r1", "sale", "cash", 10305, ""),
                           ("r2", "sale", "alipay", 30305, ""), ("r2", "refund", "alipay", -30305, "")]
        revenue = conn.execute("SELECT account, detail, amount_minor FROM ledger_entry WHERE receipt_id = 'r1'"
                               " AND account IN ('sales', 'goods', 'discount', 'points') ORDER BY rowid").fetchall()
        assert revenue == [("sales", "maintenance", -29900), ("discount", "tier", 1495),
                           ("discount", "coupon", 904), ("goods", "FLUID", -3000), ("discount", "coupon", 96),
                           ("points", "", 100)]
