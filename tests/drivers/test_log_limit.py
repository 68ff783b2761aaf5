"""The per-device log limiter: the first occurrence in full, then one count a minute per device and reason."""

from __future__ import annotations

import logging

from drivers.log_limit import SUMMARY_INTERVAL, RateLimitedLog
from tests.drivers.conftest import FakeClock

log = logging.getLogger("drivers.test_log_limit")


def lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == log.name]


def test_first_occurrence_then_one_summary_a_minute_with_the_exact_count(caplog, fake_clock: FakeClock):
    limited = RateLimitedLog(log, "garbage frames", clock=fake_clock)
    with caplog.at_level(logging.WARNING, logger=log.name):
        for i in range(313):
            limited.occurred("qr-1", "bad checksum", "frame rejected device=%s n=%d", "qr-1", i)
            fake_clock.advance(0.125)  # 313 frames over 39 s: all inside the first minute
        limited.flush()
        assert lines(caplog) == ["frame rejected device=qr-1 n=0"]  # nothing due yet
        fake_clock.advance(SUMMARY_INTERVAL - 313 * 0.125)
        limited.flush()
        limited.flush()  # the count was written: a second flush has nothing to say
    assert lines(caplog) == ["frame rejected device=qr-1 n=0",
                             "device qr-1: 312 more garbage frames (reason=bad checksum) in the last 60 s"]


def test_devices_and_reasons_are_limited_separately(caplog, fake_clock: FakeClock):
    limited = RateLimitedLog(log, "frames rejected", clock=fake_clock)
    with caplog.at_level(logging.WARNING, logger=log.name):
        for _ in range(3):
            limited.occurred("qr-1", "not_text", "first qr-1 not_text")
            limited.occurred("qr-1", "too_long", "first qr-1 too_long")
            limited.occurred("qr-2", "not_text", "first qr-2 not_text")
        limited.flush(everything=True)  # as when the devices close: every count not yet written
    assert lines(caplog) == [
        "first qr-1 not_text", "first qr-1 too_long", "first qr-2 not_text",
        "device qr-1: 2 more frames rejected (reason=not_text) in the last 0 s",
        "device qr-1: 2 more frames rejected (reason=too_long) in the last 0 s",
        "device qr-2: 2 more frames rejected (reason=not_text) in the last 0 s",
    ]


def test_an_occurrence_after_the_minute_carries_the_summary_and_a_quiet_minute_logs_in_full_again(
        caplog, fake_clock: FakeClock):
    limited = RateLimitedLog(log, "frames rejected", clock=fake_clock)
    with caplog.at_level(logging.WARNING, logger=log.name):
        limited.occurred("qr-1", "empty", "empty frame")
        fake_clock.advance(30)
        limited.occurred("qr-1", "empty", "empty frame")
        fake_clock.advance(31)
        limited.occurred("qr-1", "empty", "empty frame")  # 61 s after the first line: the summary, with itself
        fake_clock.advance(SUMMARY_INTERVAL + 5)  # a whole quiet minute
        limited.occurred("qr-1", "empty", "empty frame")
    assert lines(caplog) == ["empty frame", "device qr-1: 2 more frames rejected (reason=empty) in the last 61 s",
                             "empty frame"]
