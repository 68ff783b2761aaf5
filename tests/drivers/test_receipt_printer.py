"""The ESC/POS receipt printer driver against a fake printer on a real TCP port and through a real pty (socat).

The fake keeps the bytes it is sent and answers the real-time status queries; its switches
play the paper running out, the printer switched off and a printer that stops answering.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Callable

import pytest

from drivers.printer_simulator import FakePrinter
from drivers.receipt_printer import (
    CHINESE_OFF, CHINESE_ON, PrinterNotReady, ReceiptPrinter, is_status_answer, render,
)
from drivers.registry import create_source
from edge.domain.printout import Line, Printout

FAST = {"timeout": 0.5, "status_interval": 0.1, "reconnect_max": 0.3}

DOCUMENT = Printout(48, (
    Line("text", "TEST FORECOURT", bold=True, double_height=True, centred=True),
    Line("text", "收据 精洗 沪A12345"),
    Line("qr", "K7Q2XM-token", count=6),
    Line("feed", count=3),
    Line("cut"),
)).to_json()


async def until(condition: Callable[[], object], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


def run(test):
    """An async test body run on its own event loop (the driver opens on a running loop)."""
    @functools.wraps(test)
    def wrapper(*args, **kwargs):
        return asyncio.run(test(*args, **kwargs))
    return wrapper


@pytest.fixture
def fake():
    with FakePrinter() as printer:
        yield printer


def printer_for(url: str, **options) -> ReceiptPrinter:
    source = create_source("desk-printer", "receipt_printer", {"url": url, **FAST, **options})
    assert isinstance(source, ReceiptPrinter)
    return source


@contextlib.asynccontextmanager
async def ready_printer(url: str, **options):
    """The driver opened on `url` and answering with paper; closed afterwards."""
    printer = printer_for(url, **options)
    await printer.open()
    try:
        await until(lambda: printer.ready, "the printer ready")
        yield printer
    finally:
        await printer.close()


def test_a_document_is_escpos_with_chinese_in_gb18030_a_native_qr_and_a_cut():
    data = render(DOCUMENT)
    assert data.startswith(b"\x1b@")  # ESC @ initialises the printer
    assert b"TEST FORECOURT\n" in data  # plain ASCII in the default code page
    assert b"\x1bE\x01" in data and b"\x1b!\x10" in data and b"\x1ba\x01" in data  # bold, double height, centred
    assert CHINESE_ON + "收据 精洗 沪A12345".encode("gb18030") + CHINESE_OFF in data  # FS & ... FS .
    qr = b"\x1d(k" + (len(b"K7Q2XM-token") + 3).to_bytes(2, "little") + b"1P0K7Q2XM-token"
    assert qr in data and b"\x1d(k\x03\x001Q0" in data  # GS ( k: store the data, print it
    assert data.endswith(b"\x1bd\x03\x1dVB\x00")  # feed 3 lines, cut (GS V B 0)


def test_status_answers_have_their_fixed_bits():
    assert is_status_answer(0x12) and is_status_answer(0x12 | 0x60) and is_status_answer(0x12 | 0x08)
    assert not is_status_answer(0x00) and not is_status_answer(0xFF) and not is_status_answer(ord("A"))


@run
async def test_the_driver_prints_over_tcp_and_reports_health(fake):
    async with ready_printer(fake.url) as printer:
        assert printer.health().connected and printer.health().condition is None
        await asyncio.to_thread(printer.print_document, DOCUMENT)
        await until(lambda: len(fake.received) >= len(render(DOCUMENT)), "the document received")
        assert fake.received == render(DOCUMENT)  # status queries are answered, not printed
        assert fake.status_queries >= 2 and printer.health().accepted == 1


@run
async def test_paper_out_is_a_condition_and_the_document_waits_for_paper(fake):
    async with ready_printer(fake.url) as printer:
        fake.paper_out = True
        await until(lambda: printer.health().condition == "paper_out", "paper out in the health")
        assert printer.health().connected and not printer.ready
        with pytest.raises(PrinterNotReady) as refused:
            await asyncio.to_thread(printer.print_document, DOCUMENT)
        assert refused.value.condition == "paper_out"
        assert fake.received == b""  # nothing was sent to a printer without paper
        fake.paper_out = False
        await until(lambda: printer.ready, "paper loaded")
        await asyncio.to_thread(printer.print_document, DOCUMENT)
        await until(lambda: fake.received == render(DOCUMENT), "the document printed")


@run
async def test_a_printer_switched_off_or_mute_is_offline_and_comes_back(fake):
    async with ready_printer(fake.url) as printer:
        fake.online = False  # switched off: the connection drops, new ones are refused
        await until(lambda: not printer.health().connected, "offline")
        assert printer.health().last_error
        with pytest.raises(PrinterNotReady) as refused:
            await asyncio.to_thread(printer.print_document, DOCUMENT)
        assert refused.value.condition == "offline"
        fake.online = True
        await until(lambda: printer.ready, "the printer back")
        assert printer.health().reconnects >= 1

        fake.answering = False  # connected, but no status answer: a timeout is offline too
        await until(lambda: not printer.health().connected, "offline by timeout")
        assert "no answer to a status query" in printer.health().last_error
        fake.answering = True
        await until(lambda: printer.ready, "answering again")
        await asyncio.to_thread(printer.print_document, DOCUMENT)
        await until(lambda: fake.received.endswith(render(DOCUMENT)), "printed after the outage")


@run
async def test_a_printer_that_is_not_there_is_offline_not_an_error(tmp_path):
    printer = printer_for(str(tmp_path / "no-such-port"))
    await printer.open()
    try:
        await until(lambda: printer.health().last_error is not None, "the failed open recorded")
        assert not printer.health().connected
        with pytest.raises(PrinterNotReady):
            printer.print_document(DOCUMENT)
    finally:
        await printer.close()


@run
async def test_the_driver_prints_through_a_serial_pty(fake, tmp_path):
    port = fake.serial_port(tmp_path / "ttyPRINTER")
    async with ready_printer(str(port), baudrate=9600, paper_mm=58) as printer:
        fake.paper_out = True
        await until(lambda: printer.health().condition == "paper_out", "paper out through the pty")
        fake.paper_out = False
        await until(lambda: printer.ready, "paper loaded")
        await asyncio.to_thread(printer.print_document, DOCUMENT)
        await until(lambda: fake.received == render(DOCUMENT), "the document through the pty")
