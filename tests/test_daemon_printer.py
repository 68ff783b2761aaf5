"""`station-edge run` on a station with a receipt printer: a real daemon process prints a queued receipt
on a fake ESC/POS printer listening on a real TCP port, waits out the paper running out, and stops cleanly."""

from __future__ import annotations

from datetime import UTC, datetime

from drivers.printer_simulator import FakePrinter
from edge.services import checkout, live_state, printing
from edge.services.printing import PRINTED, QUEUED
from tests.stations import make_station
from tests.test_daemon import _receive
from tests.test_daemon_e2e import WAIT, running_daemon, stop_daemon, until
from tests.test_printing import printer_config


def test_the_daemon_prints_a_queued_receipt_and_waits_for_paper(tmp_path):
    with FakePrinter() as fake:
        station = make_station(tmp_path, config=printer_config(fake.url, paper_mm=80), now=datetime.now(UTC))
        station.clock = lambda: datetime.now(UTC)
        sale = checkout.checkout(station, services=["WASH"], payments=[("alipay", 3000)])
        first = printing.print_receipt(station, sale.number)  # queued while no daemon runs

        with running_daemon(tmp_path) as (notify, daemon):
            _receive(notify, "READY=1", timeout=WAIT)
            until(lambda: printing.job(station, first.id).state == PRINTED, "the queued receipt printed")
            assert sale.number.encode() in fake.received and b"\x1b@" in fake.received

            fake.paper_out = True
            until(lambda: any(h.condition == "paper_out" for h in printing_health(station)), "paper out")
            second = printing.print_receipt(station, sale.number)  # a reprint: the COPY
            assert printing.job(station, second.id).state == QUEUED
            fake.paper_out = False
            until(lambda: printing.job(station, second.id).state == PRINTED, "the copy printed on new paper")
            assert "COPY".encode() in fake.received

            stderr = stop_daemon(notify, daemon)
        assert "printed job=" in stderr and "daemon stopped" in stderr
        station.store.close()


def printing_health(station) -> list[live_state.DeviceHealth]:
    return [h for h in live_state.device_health(station) if h.driver == printing.PRINTER_DRIVER]
