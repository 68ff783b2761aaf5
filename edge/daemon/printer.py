"""The daemon's printer worker: drains the print queue to the configured receipt printer.

It sends the oldest queued job whenever the printer is ready (connected, online, with
paper, by its last status answer, refreshed every few seconds by the driver) and marks it
printed. A job the printer cannot take (paper out, offline) goes back to the queue with the
reason and waits for the printer's return; jobs left `printing` by an earlier run are queued
again at start, so no job is lost across a restart (edge/services/printing.py).
"""

from __future__ import annotations

import asyncio
import logging

from drivers.errors import DriverError
from drivers.receipt_printer import PrinterNotReady, ReceiptPrinter
from edge.errors import EdgeError
from edge.services import printing
from edge.services.station import Station

log = logging.getLogger(__name__)

QUEUE_POLL = 0.5  # seconds between two looks at the queue


def find_printer(devices: list) -> tuple[str, ReceiptPrinter] | None:
    """The first configured receipt printer among the daemon's devices, with its device id."""
    for device in devices:
        if isinstance(device.source, ReceiptPrinter):
            return device.settings.id, device.source
    return None


async def run_printer(station: Station, device_id: str, printer: ReceiptPrinter) -> None:
    """Print queued jobs as the printer allows, until cancelled."""
    requeued = await asyncio.to_thread(printing.requeue_interrupted, station)
    if requeued:
        log.warning("print jobs interrupted by a stop queued again count=%d", requeued)
    while True:
        try:
            printed = True
            while printed and printer.ready:  # the queue drained while the printer takes jobs
                printed = await asyncio.to_thread(print_next, station, device_id, printer)
        except EdgeError as err:  # a busy store: the queue is still there next time
            log.warning("print queue not read error=%s", err)
        except Exception:  # a bug must not stop the printing for good: log it, look again later
            log.exception("print queue failed")
        await asyncio.sleep(QUEUE_POLL)


def print_next(station: Station, device_id: str, printer: ReceiptPrinter) -> bool:
    """Send the oldest queued job; False when there was none or the printer could not take it."""
    job = printing.take_next(station, device_id)
    if job is None:
        return False
    try:
        printer.print_document(job.document.to_json())
    except PrinterNotReady as err:
        printing.mark_waiting(station, job.id, f"{err.condition}: {err}")
        log.warning("print job waits for the printer job=%s kind=%s reference=%s reason=%s", job.id, job.kind,
                    job.reference, err.condition)
        return False
    except DriverError as err:
        printing.mark_failed(station, job.id, str(err))
        log.error("print job failed job=%s kind=%s reference=%s error=%s", job.id, job.kind, job.reference, err)
        return True
    printing.mark_printed(station, job.id)
    log.info("printed job=%s kind=%s reference=%s device=%s", job.id, job.kind, job.reference, device_id)
    return True
