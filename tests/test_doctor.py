"""`station-edge doctor` on real stations: config, database, devices (real ptys), the HQ broker (real Mosquitto)."""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import UTC, datetime

import pytest

from edge.cli.main import main
from edge.services import bookings, checkout, live_state
from edge.services.live_state import DeviceHealth
from edge.store.migrate import script_heads
from tests.drivers.conftest import Broker, pty_pair  # noqa: F401  (the pty_pair fixture)
from tests.stations import NOW, TEST_CONFIG, make_station
from tests.tui.sample import local

SYSTEM_CAS = "/etc/ssl/certs/ca-certificates.crt"
KEYED = TEST_CONFIG + '\n[security]\ntoken_key = "TST-001-test-signing-key"\n'


def device(device_id: str, driver: str, options: str) -> str:
    return f'\n[[devices]]\nid = "{device_id}"\ndriver = "{driver}"\noptions = {{ {options} }}\n'


def sync(port: int) -> str:
    return (f'\n[sync]\nbroker_host = "127.0.0.1"\nbroker_port = {port}\n'
            'signing_key = "keys/TST-001.key"\nhq_keys = "keys/hq"\n')


def doctor(tmp_path, capsys, *extra: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main(["--data-dir", str(tmp_path / "data"), "doctor", "--json", "--device-wait", "5", *extra])
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] == (code == 0)
    return code, {c["item"]: (c["verdict"], c["detail"]) for c in report["checks"]}


def station_with(tmp_path, config: str) -> None:
    make_station(tmp_path, config=config).store.close()


def test_a_healthy_station_passes_every_check_with_one_line_each(tmp_path, capsys, pty_pair):
    station_with(tmp_path, KEYED + device("entrance-qr", "qr_serial", f'url = "{pty_pair.device}"')
                 + device("cards", "sim_clock_in", "interval = 0"))
    code = main(["--data-dir", str(tmp_path / "data"), "doctor"])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0, lines
    assert [line.split()[0] for line in lines] == ["ok"] * 8
    assert lines[0].startswith("ok    config: ") and "station TST-001, 3 bays" in lines[0]
    assert "integrity ok, schema current" in lines[1]
    assert lines[2] == "ok    bays: sensors and bookings agree: W1 free, L1 free, L2 free"
    assert lines[3] == "ok    ledger: 0 transactions, every one balanced"
    assert lines[4].startswith("ok    device entrance-qr (qr_serial): connected")
    assert lines[6] == "ok    sync: not configured (no [sync] section: the station runs alone)"


def test_a_ledger_transaction_that_does_not_balance_fails(tmp_path, capsys):
    station = make_station(tmp_path, config=TEST_CONFIG)
    checkout.checkout(station, services=["WASH"], payments=[("wechat_pay", 3000)])
    code, checks = doctor(tmp_path, capsys, "--no-devices")
    assert code == 0 and checks["ledger"] == ("ok", "1 transactions, every one balanced")
    with station.store.write() as conn:  # a posting altered behind the ledger's back
        conn.execute("UPDATE ledger_entry SET amount_minor = amount_minor + 1 WHERE account = 'tender'")
    station.store.close()
    code, checks = doctor(tmp_path, capsys, "--no-devices")
    assert code == 9 and checks["ledger"][0] == "FAIL" and "off by 1" in checks["ledger"][1]


def test_a_bay_whose_sensor_and_booking_disagree_is_a_warning_naming_the_booking(tmp_path, capsys):
    station = make_station(tmp_path, config=TEST_CONFIG)
    booking = bookings.book(station, services=["OIL"], start=local(9), plate="沪A11111", bay_id="L1", now=NOW)
    bookings.set_progress(station, bookings.check_in(station, booking.code, now=NOW).code, "in_bay", now=NOW)
    live_state.record_occupancy(station, "L1", "free", source="bay-sensors", now=NOW)
    live_state.record_occupancy(station, "W1", "occupied", source="bay-sensors", now=NOW)
    live_state.record_stuck(station, "L2", True, source="bay-sensors", now=NOW)
    station.store.close()

    code, checks = doctor(tmp_path, capsys, "--no-devices")

    assert code == 0  # a warning: the station works, the attendant looks
    assert checks["bay L1"] == ("warn", f"sensor says free, booking {booking.code} (沪A11111) says in bay")
    assert checks["bay W1"] == ("warn", "sensor says occupied, no booking in bay")
    assert checks["bay L2"] == ("warn", "sensor stuck: its reading is not trusted")


def test_a_missing_device_path_fails_its_line_and_the_exit_code(tmp_path, capsys):
    station_with(tmp_path, KEYED + device("entrance-qr", "qr_serial", f'url = "{tmp_path}/ttyUSB9"')
                 + device("cards", "sim_clock_in", "interval = 0"))
    code, checks = doctor(tmp_path, capsys, "--device-wait", "0.5")
    assert code == 9
    verdict, detail = checks["device entrance-qr (qr_serial)"]
    assert verdict == "FAIL" and "not connected after 0.5 s" in detail and "ttyUSB9" in detail
    assert checks["device cards (sim_clock_in)"][0] == "ok" and checks["config"][0] == "ok"


def test_a_misconfigured_device_names_the_option(tmp_path, capsys):
    station_with(tmp_path, KEYED + device("entrance-qr", "qr_serial", 'url = "loop://", baud = 9600'))
    code, checks = doctor(tmp_path, capsys)
    assert code == 9
    verdict, detail = checks["device entrance-qr (qr_serial)"]
    assert verdict == "FAIL" and "unknown option(s) baud" in detail


def test_a_bad_config_fails_with_file_line_and_key_and_devices_are_not_opened(tmp_path, capsys):
    station_with(tmp_path, KEYED)
    config = tmp_path / "data" / "station.toml"
    config.write_text(config.read_text(encoding="utf-8").replace("slot_minutes = 30", "slot_minutes = 45"),
                      encoding="utf-8")
    code, checks = doctor(tmp_path, capsys)
    assert code == 9
    verdict, detail = checks["config"]
    line = next(i for i, text in enumerate(config.read_text(encoding="utf-8").splitlines(), 1)
                if text.startswith("slot_minutes"))
    assert verdict == "FAIL" and f"station.toml:{line}: station.slot_minutes" in detail
    assert checks["database"][0] == "ok"
    assert checks["devices"] == ("warn", "not checked: the config did not load")


def test_a_missing_or_damaged_database_fails(tmp_path, capsys):
    station_with(tmp_path, KEYED)
    database = tmp_path / "data" / "station.db"
    for suffix in ("-wal", "-shm"):
        if os.path.exists(f"{database}{suffix}"):
            os.unlink(f"{database}{suffix}")
    database.write_bytes(b"this is not a database" * 100)
    code, checks = doctor(tmp_path, capsys)
    assert code == 9 and checks["database"][0] == "FAIL" and "not a database" in checks["database"][1]
    database.unlink()
    code, checks = doctor(tmp_path, capsys)
    assert code == 9 and "does not exist" in checks["database"][1]


def test_an_old_schema_is_a_warning_not_a_failure(tmp_path, capsys):
    station_with(tmp_path, KEYED)
    newest = max(script_heads())  # revisions are numbered: the newest one is the trunk's head
    with sqlite3.connect(tmp_path / "data" / "station.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0009_link_heard' WHERE version_num = ?", (newest,))
    code, checks = doctor(tmp_path, capsys)
    assert code == 0
    assert checks["database"][0] == "warn" and f"missing {newest}" in checks["database"][1]


def test_a_device_the_running_daemon_reports_on_is_not_opened_again(tmp_path, capsys):
    # the port does not exist: opening it would fail; the daemon's fresh report is what counts
    station = make_station(tmp_path, config=KEYED + device("entrance-qr", "qr_serial", f'url = "{tmp_path}/gone"'))
    live_state.record_device_health(
        station, [DeviceHealth("entrance-qr", "qr_serial", "entrance", True, None, None, 12, 1)],
        now=datetime.now(UTC))
    station.store.close()
    code, checks = doctor(tmp_path, capsys)
    assert code == 0
    assert checks["device entrance-qr (qr_serial)"] == (
        "ok", "connected (the running daemon reports; 12 accepted, 1 rejected)")


def test_the_daemons_report_gives_the_rejected_count_by_reason(tmp_path, capsys):
    station = make_station(tmp_path, config=KEYED + device("entrance-qr", "qr_serial", f'url = "{tmp_path}/gone"'))
    live_state.record_device_health(
        station, [DeviceHealth("entrance-qr", "qr_serial", "entrance", True, None, None, 12, 5014,
                               rejects_by_reason={"not_text": 5000, "token_expired": 2, "empty": 12})],
        now=datetime.now(UTC))
    station.store.close()
    code, checks = doctor(tmp_path, capsys)
    assert code == 0
    assert checks["device entrance-qr (qr_serial)"] == (
        "ok", "connected (the running daemon reports; 12 accepted, 5014 rejected: not_text 5000, empty 12, "
              "token_expired 2)")


def test_the_hq_broker_is_reached_or_reported_unreachable(tmp_path, capsys):
    if not os.path.exists("/usr/sbin/mosquitto"):
        pytest.skip("mosquitto is not installed")
    broker = Broker(tmp_path)
    broker.start()
    try:
        station_with(tmp_path, KEYED + sync(broker.port))
        code, checks = doctor(tmp_path, capsys)
        assert code == 0 and checks["sync"] == ("ok", f"broker 127.0.0.1:{broker.port} reachable (plain TCP)")
    finally:
        broker.stop()
    code, checks = doctor(tmp_path, capsys)
    assert code == 9 and checks["sync"][0] == "FAIL" and "unreachable" in checks["sync"][1]


def test_a_broker_that_does_not_speak_tls_fails_the_tls_check(tmp_path, capsys):
    if not os.path.exists("/usr/sbin/mosquitto") or not os.path.exists(SYSTEM_CAS):
        pytest.skip("mosquitto or the system CA bundle is missing")
    broker = Broker(tmp_path)  # a plain listener: the TLS handshake cannot succeed
    broker.start()
    try:
        station_with(tmp_path, KEYED + sync(broker.port).replace("broker_port", f'ca_file = "{SYSTEM_CAS}"\nbroker_port'))
        code, checks = doctor(tmp_path, capsys)
    finally:
        broker.stop()
    assert code == 9
    verdict, detail = checks["sync"]
    assert verdict == "FAIL" and detail.startswith(f"broker 127.0.0.1:{broker.port} reachable, but TLS failed"), detail


def test_a_bad_device_wait_is_a_usage_error(tmp_path, capsys):
    station_with(tmp_path, KEYED)
    with pytest.raises(SystemExit) as exit_info:
        main(["--data-dir", str(tmp_path / "data"), "doctor", "--device-wait", "soon"])
    assert exit_info.value.code == 2
    assert "argument --device-wait: 'soon' is not a number of seconds" in capsys.readouterr().err
