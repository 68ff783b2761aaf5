"""`station-edge booking add-work | approve-work | refuse-work | show` and `hq decide-work`, through
the real command line (on the real clock: a booking in 2030, which a car may check in that early)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from edge.cli.main import main
from edge.services.station import open_station
from tests.stations import TEST_CONFIG
from tests.test_cli import cli


@pytest.fixture
def run(tmp_path, capsys):
    config = tmp_path / "station.toml"
    config.write_text(TEST_CONFIG.split("[booking.hot_slots]")[0].replace("horizon_days = 3\n", "horizon_days = 3650\n")
                      .replace("[booking]\n", "[booking]\nearly_arrival_minutes = 5256000\n"), encoding="utf-8")
    data = tmp_path / "data"
    assert cli(capsys, "--data-dir", data, "init", "--config", config)[0] == 0

    def run(*args: str, expect: int = 0) -> str:
        code, out, err = cli(capsys, "--data-dir", data, *args)
        assert code == expect, err
        return out if expect == 0 else err

    run.data, run.capsys = data, capsys
    return run


def usage_error(run, *args: str) -> str:
    """What argparse says of a bad command line (it exits 2 itself)."""
    with pytest.raises(SystemExit) as exited:
        main(["--data-dir", str(run.data), *[str(a) for a in args]])
    assert exited.value.code == 2
    return run.capsys.readouterr().err


def in_service(run, plate: str = "沪A12345") -> dict:
    booking = json.loads(run("book", "--start", "2030-01-07T09:00", "--services", "OIL", "--plate", plate,
                             "--bay", "L1", "--json"))
    run("checkin", "--booking", booking["code"])
    return booking


def test_the_desk_adds_work_and_the_customer_answers_at_the_counter(run):
    booking = in_service(run)
    out = run("booking", "add-work", booking["code"], "--services", "TYRE")
    assert "TYRE" in out and "pending" in out and "L1 (same leg)" in out and "01-07 10:00" in out
    shown = run("booking", "show", booking["code"])
    assert "TYRE" in shown and "pending" in shown
    data = json.loads(run("booking", "show", booking["code"], "--json"))
    assert [(w["service_code"], w["state"]) for w in data["added_work"]] == [("TYRE", "pending")]
    assert data["services"] == ["OIL"] and data["legs"][0]["services"] == ["OIL", "TYRE"]

    (approved,) = json.loads(run("booking", "approve-work", booking["code"], "--services", "TYRE", "--json"))
    assert approved["state"] == "approved" and approved["decided_by"] == "desk"
    data = json.loads(run("booking", "show", booking["code"], "--json"))
    assert data["services"] == ["OIL", "TYRE"] and data["price_minor"] == 37900
    assert "approved already" in run("booking", "refuse-work", booking["code"], "--services", "TYRE", expect=7)


def test_refused_work_is_not_billed_at_checkout(run):
    booking = in_service(run)
    run("booking", "add-work", booking["code"], "--services", "TYRE", "--by", "technician")
    out = run("booking", "refuse-work", booking["code"])
    assert "refused" in out
    receipt = json.loads(run("pay", "checkout", "--booking", booking["code"], "--pay", "bank_card=299.00", "--json"))
    assert [line["code"] for line in receipt["lines"]] == ["OIL"] and receipt["total_minor"] == 29900


def test_work_added_with_the_customer_present_is_approved_at_once(run):
    booking = in_service(run)
    (work,) = json.loads(run("booking", "add-work", booking["code"], "--services", "TYRE", "--customer-present",
                             "--json"))
    assert work["state"] == "approved" and work["decided_by"] == "customer"


def test_bad_requests_name_what_is_wrong(run):
    booking = json.loads(run("book", "--start", "2030-01-07T09:00", "--services", "OIL", "--plate", "沪A12345",
                             "--json"))
    assert "while the car is in" in run("booking", "add-work", booking["code"], "--services", "TYRE", expect=7)
    run("checkin", "--booking", booking["code"])
    assert "unknown service code 'NOPE'" in run("booking", "add-work", booking["code"], "--services", "NOPE",
                                                expect=4)
    assert "no work awaiting" in run("booking", "approve-work", booking["code"], expect=4)
    assert "argument --by" in usage_error(run, "booking", "add-work", booking["code"], "--services", "TYRE",
                                          "--by", "x")


def test_hq_sends_the_customers_answer_from_the_app_and_the_station_applies_it(run, tmp_path):
    from sync.hq.db import open_engine
    from sync.station.downlink import APPLIERS

    booking = in_service(run)
    run("booking", "add-work", booking["code"], "--services", "TYRE")
    hq_db = tmp_path / "hq.db"
    out = run("hq", "decide-work", "TST-001", "--booking", booking["id"], "--service", "TYRE", "--approve",
              "--db", hq_db)
    assert "TYRE approved" in out
    engine = open_engine(str(hq_db))
    with engine.connect() as conn:
        (message,) = conn.execute(text("SELECT stream, type, body FROM hq_downlink")).all()
    engine.dispose()
    body = message.body if isinstance(message.body, dict) else json.loads(message.body)
    assert (message.stream, message.type) == ("booking", "found_work.decided")
    station = open_station(run.data)
    try:
        with station.store.write() as conn:
            APPLIERS[message.stream](station, conn, message.type, body, station.clock())
    finally:
        station.store.close()
    data = json.loads(run("booking", "show", booking["code"], "--json"))
    assert [(w["state"], w["decided_by"]) for w in data["added_work"]] == [("approved", "hq")]
    assert data["services"] == ["OIL", "TYRE"]
    assert "one of the arguments --approve --refuse is required" in usage_error(
        run, "hq", "decide-work", "TST-001", "--booking", booking["id"], "--service", "TYRE", "--db", hq_db)
