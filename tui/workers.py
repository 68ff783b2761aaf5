"""Running station calls off the UI thread: every call is a short SQLite transaction in a thread worker.

The result comes back to the asking widget as a ServiceDone or ServiceFailed message; an
error never reaches the screen as a traceback (unexpected ones are logged with it).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from typing import Any

from textual.dom import DOMNode
from textual.worker import Worker, get_current_worker

from edge.errors import EdgeError, InvalidTransition, NotFound, PermissionDenied, RuleViolation, SlotTaken, StoreError
from tui.i18n import N_, _
from tui.messages import ServiceDone, ServiceFailed, StoreChanged

log = logging.getLogger(__name__)

_KINDS: tuple[tuple[type[Exception], str, str], ...] = (
    (SlotTaken, "slot_taken", N_("Slot taken")),
    (NotFound, "not_found", N_("Not found")),
    (RuleViolation, "refused", N_("Refused")),
    (InvalidTransition, "not_now", N_("Not allowed now")),
    (PermissionDenied, "denied", N_("Needs a manager")),
    (StoreError, "busy", N_("Database busy")),
    (sqlite3.Error, "busy", N_("Database busy")),
    (EdgeError, "refused", N_("Refused")),
)


def describe_error(err: Exception) -> tuple[str, str]:
    """(kind, text for the attendant) of an error raised by a station call."""
    for error_type, kind, title in _KINDS:
        if isinstance(err, error_type):
            return kind, f"{_(title)}: {err}"
    return "internal", _("Internal error ({name}); details are in the log").format(name=type(err).__name__)


def call_in_thread(node: DOMNode, request: str, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Worker:
    """Run `fn(*args, **kwargs)` in a thread worker; the answer is posted to `node`."""

    def run() -> None:
        try:
            result = fn(*args, **kwargs)
        except Exception as err:  # the outer edge of a worker: report, never crash the UI
            kind, text = describe_error(err)
            if kind == "internal":
                log.exception("request=%s failed", request)
            else:
                log.info("request=%s refused: %s", request, err)
            node.post_message(ServiceFailed(request, text, kind))
        else:
            node.post_message(ServiceDone(request, result))

    return node.run_worker(run, name=request, group=request, thread=True, exit_on_error=False)


def watch_store(node: DOMNode, data_version: Callable[[], int], interval: float, stop: threading.Event) -> None:
    """Post StoreChanged to `node` whenever the database's data_version moves (runs in a thread worker).

    Commits between two polls collapse into one message: a burst of writes is one refresh.
    """
    worker = get_current_worker()
    last: int | None = None
    failing = False
    while not (stop.is_set() or worker.is_cancelled):
        try:
            version = data_version()
        except (sqlite3.Error, EdgeError) as err:  # a locked or briefly missing file: keep watching
            if not failing:
                log.warning("store watch failed: %s", err)
                failing = True
        else:
            if failing:
                log.info("store watch back")
                failing = False
            if last is not None and version != last:
                node.post_message(StoreChanged())
            last = version
        stop.wait(interval)
