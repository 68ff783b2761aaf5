"""The daemon's main loop: start the scheduler, tell systemd we are ready, stop cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import datetime

from apscheduler.events import EVENT_JOB_ERROR, JobExecutionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from drivers.errors import DriverError
from edge.daemon.devices import build_sources, run_devices
from edge.daemon.jobs import DAILY_GRACE, INTERVAL_GRACE, SCHEDULE
from edge.daemon.sync_link import run_sync
from edge.daemon.systemd import Notifier
from edge.domain.permissions import DAEMON
from edge.services.station import Station

log = logging.getLogger(__name__)


def build_scheduler(station: Station) -> AsyncIOScheduler:
    """Every job of SCHEDULE with its fixed id; interval jobs also run once at start."""
    scheduler = AsyncIOScheduler(timezone=station.tz, job_defaults={"coalesce": True, "max_instances": 1})
    now = datetime.now(station.tz)
    for job_id, function, trigger, trigger_args in SCHEDULE:
        grace = DAILY_GRACE if trigger == "cron" else INTERVAL_GRACE
        extra = {"next_run_time": now} if trigger == "interval" else {}
        scheduler.add_job(
            function, trigger, args=[station], id=job_id, name=job_id, replace_existing=True,
            misfire_grace_time=int(grace.total_seconds()), **trigger_args, **extra,
        )
    scheduler.add_listener(_log_job_error, EVENT_JOB_ERROR)
    _quiet_routine_job_runs()
    return scheduler


class _RoutineJobRuns(logging.Filter):
    """APScheduler's "Running job ..." and "Job ... executed successfully", twice every 5 s: DEBUG, not INFO.

    Its executors log nothing else at INFO; a missed run (WARNING) and a failed job (ERROR)
    pass unchanged.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO:
            return True
        record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
        return logging.getLogger().isEnabledFor(logging.DEBUG)


def _quiet_routine_job_runs() -> None:
    executors = logging.getLogger("apscheduler.executors.default")
    if not any(isinstance(f, _RoutineJobRuns) for f in executors.filters):
        executors.addFilter(_RoutineJobRuns())


def _log_job_error(event: JobExecutionEvent) -> None:
    # a failing job is logged with its traceback and runs again at its next time: the daemon stays up
    log.error("job failed job=%s error=%r", event.job_id, event.exception, exc_info=event.exception)


async def run(station: Station, *, notifier: Notifier | None = None) -> int:
    """Run until SIGTERM or SIGINT; returns the process exit code."""
    station.actor = DAEMON  # what the jobs and devices do is recorded as the daemon's
    notifier = notifier or Notifier()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        sources = build_sources(station)
    except DriverError as err:
        log.error("device configuration refused: %s", err)
        return 3
    scheduler = build_scheduler(station)
    scheduler.start()
    station_id = station.settings.station.id
    log.info("daemon ready station=%s jobs=%d", station_id, len(SCHEDULE))
    notifier.ready(f"station {station_id}: {len(SCHEDULE)} jobs scheduled")
    watchdog = asyncio.create_task(_keep_watchdog_fed(notifier)) if notifier.watchdog_interval() else None
    devices = asyncio.create_task(run_devices(station, sources, stop))
    syncing = asyncio.create_task(run_sync(station, stop))
    await stop.wait()
    await devices
    await syncing
    log.info("daemon stopping station=%s", station_id)
    notifier.stopping()
    if watchdog is not None:
        watchdog.cancel()
    scheduler.shutdown(wait=False)
    # jobs run in the loop's worker threads: wait for any still inside a transaction
    await loop.shutdown_default_executor()
    station.store.close()
    notifier.close()
    log.info("daemon stopped station=%s", station_id)
    return 0


async def _keep_watchdog_fed(notifier: Notifier) -> None:
    interval = notifier.watchdog_interval() or 10.0
    while True:
        notifier.watchdog()
        await asyncio.sleep(interval)
