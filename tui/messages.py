"""The messages the UI's parts send each other: store changes and the results of worker calls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message


@dataclass
class StoreChanged(Message):
    """Someone (this UI, the daemon, the CLI, sync) committed to the station database."""


@dataclass
class ServiceDone(Message):
    """A call made in a worker thread returned; `request` names what was asked."""

    request: str
    result: Any


@dataclass
class ServiceFailed(Message):
    """A call made in a worker thread was refused or failed; `message` is for the attendant."""

    request: str
    message: str
    kind: str  # refused, slot_taken, not_found, not_now, denied, busy, internal


@dataclass
class BookingChosen(Message):
    """A booking was picked in a table (by code): open its detail."""

    code: str


@dataclass
class SlotChosen(Message):
    """A free cell was picked in a slot picker."""

    bay_id: str
    start: Any  # datetime (UTC)


@dataclass
class ReceiptPrintAsked(Message):
    """The attendant asked for a receipt to be printed (by its number)."""

    number: str
