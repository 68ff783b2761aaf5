"""Shift closes reach HQ over a real Mosquitto: HQ keeps each Z report once per (station, shift), and
`station-edge hq shifts` lists the variances for an operator."""

from __future__ import annotations

import json

from edge.cli.main import main
from edge.services import shifts
from edge.services.station import utc_now
from sync.hq import effects
from sync.hq.db import transaction
from tests.sync.conftest import STATION_ID, backlog, hq_rows, start_hq, start_station_sync, sync_settings, wait_until


def test_a_closed_shift_reaches_hq_once_and_its_variance_is_listed(station, broker, keys, hq_engine, runners,
                                                                   capsys):
    start_hq(runners, hq_engine, keys, broker)
    start_station_sync(runners, station, sync_settings(broker, keys))

    shifts.open_shift(station, float_minor=20000)
    shifts.cash_movement(station, direction="in", amount_minor=5000, reason="change from the safe")
    z = shifts.close_shift(station, denominations={"100": 2, "20": 2, "5": 1}, note="5 yuan short")
    wait_until(lambda: backlog(station) == 0 and hq_rows(hq_engine, "SELECT count(*) FROM hq_shift_close") == [(1,)],
               what="the shift close at HQ")
    assert hq_rows(hq_engine, "SELECT station_id, shift_id, terminal, expected_minor, counted_minor, variance_minor,"
                              " note FROM hq_shift_close") == [
        (STATION_ID, z.shift_id, "desk", 25000, 24500, -500, "5 yuan short")]

    # the same event applied again (a resend after a lost ack) keeps the one row
    with station.store.read() as conn:
        row = conn.execute("SELECT type, entity_id, idem_key, hlc, body FROM outbox WHERE type = 'shift.closed'"
                           ).fetchone()
    event = {"type": row["type"], "entity_id": row["entity_id"], "idem_key": row["idem_key"], "hlc": row["hlc"],
             "body": json.loads(row["body"])}
    with transaction(hq_engine) as session:
        effects.on_station_event(session, STATION_ID, event, utc_now())
    assert hq_rows(hq_engine, "SELECT count(*) FROM hq_shift_close") == [(1,)]

    url = str(hq_engine.url.render_as_string(hide_password=False))
    assert main(["hq", "shifts", "--db", url, "--station", STATION_ID, "--json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert listed["variance_minor"] == -500 and listed["counted_minor"] == 24500 and listed["terminal"] == "desk"
    assert main(["hq", "shifts", "--db", url]) == 0
    out = capsys.readouterr().out
    assert "-5.00 CNY" in out and "5 yuan short" in out and STATION_ID in out
    assert main(["hq", "shifts", "--db", url, "--station", "OTHER", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
