"""The print queue as the desk uses it: reprint a receipt, a booking's slip, a test page, the queue's state;
and the daemon's printer worker draining it to a fake printer on a real TCP port, through paper out,
the printer switched off and a restart."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from drivers.printer_simulator import FakePrinter
from edge.cli.main import main
from edge.daemon.devices import build_sources, run_devices
from edge.domain.printout import Printout
from edge.services import bookings, checkout, live_state, printing, receipts, shifts
from edge.services.printing import FAILED, PRINTED, PRINTING, QUEUED
from tests.stations import MANAGER, TEST_CONFIG, make_station, open_drawer
from tests.test_doctor import doctor

TZ = ZoneInfo("Asia/Shanghai")
KEY = "TST-001-printing-key-0123"


def printer_config(url: str, paper_mm: int = 58) -> str:
    return TEST_CONFIG + f'''
[security]
token_key = "{KEY}"

[[devices]]
id = "desk-printer"
driver = "receipt_printer"
options = {{ url = "{url}", paper_mm = {paper_mm}, timeout = 0.5, status_interval = 0.1, reconnect_max = 0.3 }}
'''


@pytest.fixture
def fake():
    with FakePrinter() as printer:
        yield printer


@pytest.fixture
def desk(tmp_path, fake):
    station = make_station(tmp_path, config=printer_config(fake.url))
    yield station
    station.store.close()


def at(hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 11, 23, hh, mm, tzinfo=TZ)


def a_sale(station) -> str:
    return checkout.checkout(station, services=["WASH"], payments=[("wechat_pay", 3000)], now=at(10)).number


def cli(tmp_path, capsys, *argv: str) -> tuple[int, str]:
    code = main(["--data-dir", str(tmp_path / "data"), *argv])
    return code, capsys.readouterr().out


def test_a_receipt_reprinted_from_the_cli_is_queued_and_marked_copy_the_second_time(desk, tmp_path, capsys):
    number = a_sale(desk)
    code, out = cli(tmp_path, capsys, "receipt", "reprint", number, "--preview")
    assert code == 0 and f"queued receipt {number}" in out
    assert "收据 RECEIPT" in out and "COPY" not in out and "微信 WeChat Pay" in out and "30.00" in out
    code, out = cli(tmp_path, capsys, "--json", "receipt", "reprint", number, "--preview")
    job = json.loads(out)
    assert code == 0 and job["state"] == QUEUED and job["kind"] == "receipt" and "COPY" in job["preview"]
    lines = job["preview"].splitlines()
    assert max(len(line) for line in lines) <= 32  # 58 mm paper: 32 characters a line
    code, out = cli(tmp_path, capsys, "--json", "print", "queue")
    assert [(j["kind"], j["reference"], j["state"]) for j in json.loads(out)] == [("receipt", number, QUEUED)] * 2


def test_a_receipt_that_does_not_exist_is_not_found(desk, tmp_path, capsys):
    assert cli(tmp_path, capsys, "receipt", "reprint", "R-NOPE")[0] == 4


def test_a_booking_slip_carries_the_booking_and_its_token_as_a_qr(desk, tmp_path, capsys):
    booking = bookings.book(desk, services=["WASH"], start=at(9), plate="沪A12345")
    code, out = cli(tmp_path, capsys, "print", "slip", booking.code, "--preview")
    assert code == 0 and booking.code in out and "沪A12345" in out and "2026-11-23 09:00" in out and "Wash" in out
    job = printing.jobs(desk)[0]
    qr = [line for line in job.document.lines if line.kind == "qr"]
    assert [line.text for line in qr] == [bookings.booking_token(desk, booking.code)]


def test_a_test_page_and_the_queue_as_a_table(desk, tmp_path, capsys):
    assert cli(tmp_path, capsys, "print", "test")[0] == 0
    code, out = cli(tmp_path, capsys, "print", "queue")
    assert code == 0 and "test_page" in out and "desk-printer" in out and QUEUED in out


def test_without_a_printer_configured_printing_is_refused(tmp_path, capsys):
    station = make_station(tmp_path)
    try:
        assert cli(tmp_path, capsys, "print", "test")[0] == 6
    finally:
        station.store.close()


def test_a_cash_sale_partly_refunded_prints_its_change_and_refund_and_the_shift_its_drawer(desk):
    shift_id = open_drawer(desk, float_minor=20000, now=at(9))
    sale = checkout.checkout(desk, services=["WASH", "OIL"], payments=[("cash", 32900)], cash_tendered_minor=40000,
                             now=at(10))
    wash = next(line for line in receipts.get_receipt(desk, sale.number).lines if line.code == "WASH")
    checkout.refund(desk, sale.number, reason="wash skipped", lines=[(wash.line_code, 1)], manager=MANAGER,
                    now=at(11))
    text = printing.print_receipt(desk, sale.number).document.plain_text()
    assert "实收现金 Tendered" in text and "400.00" in text and "找零 Change" in text and "71.00" in text
    assert "已退 refunded x1" in text and "部分退款 PARTLY REFUNDED" in text and "329.00 CNY" in text

    x_report = printing.print_shift_report(desk, shift_id, final=False).document.plain_text()
    assert "X REPORT" in x_report and "Z REPORT" not in x_report
    assert "329.00" in x_report and "30.00" in x_report  # sales and refunds in cash
    assert "499.00 CNY" in x_report  # expected in the drawer: the 200.00 float and the cash kept


def test_the_z_report_prints_once_the_shift_is_closed(desk, tmp_path, capsys):
    desk.clock = lambda: at(9)
    shift = shifts.open_shift(desk, float_minor=20000)
    checkout.checkout(desk, services=["WASH"], payments=[("cash", 3000)], cash_tendered_minor=5000, now=at(10))
    assert cli(tmp_path, capsys, "print", "shift", shift.id, "--z")[0] == 6  # still open: no Z report yet
    code, out = cli(tmp_path, capsys, "print", "shift", shift.id, "--preview")
    assert code == 0 and "X REPORT" in out and "230.00 CNY" in out
    desk.clock = lambda: at(18)
    shifts.close_shift(desk, counted_minor=22500)
    z_report = printing.print_shift_report(desk, shift.id, final=True).document.plain_text()
    assert "Z REPORT" in z_report and "230.00 CNY" in z_report and "225.00" in z_report and "-5.00" in z_report


def test_doctor_warns_of_a_printer_out_of_paper(desk, fake, tmp_path, capsys):
    fake.paper_out = True
    code, checks = doctor(tmp_path, capsys)
    assert code == 0 and checks["device desk-printer (receipt_printer)"] == ("warn", "connected but paper out")
    fake.online = False
    code, checks = doctor(tmp_path, capsys)
    assert code == 9 and checks["device desk-printer (receipt_printer)"][0] == "FAIL"


# -- the daemon's printer worker ---------------------------------------------------------------


async def until(condition, what: str, timeout: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await asyncio.to_thread(condition):
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def printer_health(station) -> live_state.DeviceHealth | None:
    return next((h for h in live_state.device_health(station) if h.device_id == "desk-printer"), None)


def run_daemon_devices(station, scenario) -> None:
    """The daemon's device side (sources, health, printer worker) around `scenario`, on one event loop."""
    async def go() -> None:
        stop = asyncio.Event()
        devices = asyncio.create_task(run_devices(station, build_sources(station), stop))
        try:
            await scenario()
        finally:
            stop.set()
            await devices
    asyncio.run(go())


def test_paper_out_keeps_the_job_queued_until_paper_is_loaded(desk, fake):
    fake.paper_out = True
    number = a_sale(desk)

    async def scenario() -> None:
        await until(lambda: (h := printer_health(desk)) is not None and h.condition == "paper_out", "paper out")
        job = printing.print_receipt(desk, number)
        await asyncio.sleep(0.5)  # the worker looks at the queue every half second: it must leave the job be
        assert printing.job(desk, job.id).state == QUEUED and fake.received == b""
        fake.paper_out = False
        await until(lambda: printing.job(desk, job.id).state == PRINTED, "the receipt printed")
        health = printer_health(desk)
        assert health.connected and health.condition is None

    run_daemon_devices(desk, scenario)
    assert number.encode() in fake.received and "收据".encode("gb18030") in fake.received
    assert fake.received.startswith(b"\x1b@")


def test_a_printer_switched_off_is_offline_and_prints_when_it_returns(desk, fake):
    number = a_sale(desk)

    async def scenario() -> None:
        await until(lambda: (h := printer_health(desk)) is not None and h.connected, "the printer connected")
        fake.online = False
        await until(lambda: not printer_health(desk).connected, "the printer offline in its health")
        assert printer_health(desk).last_error
        job = printing.print_receipt(desk, number)
        await asyncio.sleep(0.5)
        assert printing.job(desk, job.id).state == QUEUED
        fake.online = True
        await until(lambda: printing.job(desk, job.id).state == PRINTED, "printed once the printer is back")

    run_daemon_devices(desk, scenario)
    assert number.encode() in fake.received
    with desk.store.read() as conn:
        changes = [json.loads(r["body"]) for r in conn.execute(
            "SELECT body FROM outbox WHERE type = 'device.health' ORDER BY seq")]
    connected = [c["connected"] for c in changes if c["device_id"] == "desk-printer"]
    assert connected[connected.index(True):][:3] == [True, False, True]  # up, switched off, back


def test_a_job_interrupted_by_a_stop_is_printed_after_the_restart(desk, fake):
    job = printing.print_test_page(desk)
    with desk.store.write() as conn:  # the daemon stopped while sending it
        conn.execute("UPDATE print_job SET state = ?, attempts = 1 WHERE id = ?", (PRINTING, job.id))

    async def scenario() -> None:
        await until(lambda: printing.job(desk, job.id).state == PRINTED, "the interrupted job printed")

    run_daemon_devices(desk, scenario)
    assert printing.job(desk, job.id).attempts == 2 and "TEST PAGE".encode() in fake.received


def test_a_document_the_printer_cannot_render_fails_and_the_next_one_prints(desk, fake):
    broken = printing.enqueue(desk, "test_page", "broken", Printout.from_json(
        {"columns": 32, "lines": [{"kind": "barcode", "text": "123"}]}))
    too_big = printing.enqueue(desk, "test_page", "too big", Printout.from_json(  # QR modules of 1-16 dots only
        {"columns": 32, "lines": [{"kind": "qr", "text": "K7Q2XM", "count": 40}]}))
    good = printing.print_test_page(desk)

    async def scenario() -> None:
        await until(lambda: printing.job(desk, good.id).state == PRINTED, "the good job printed")

    run_daemon_devices(desk, scenario)
    failed = printing.job(desk, broken.id)
    assert failed.state == FAILED and "barcode" in failed.last_error
    assert printing.job(desk, too_big.id).state == FAILED
