"""Roster exceptions: one technician's day that differs from the weekly roster.

A technician has at most one exception per date; setting another replaces it.
- `leave`, `sick`: the whole day off (no hours);
- `extra`: an extra shift FROM-TO that day, added to the weekly shifts (overlaps merge);
- `hours`: holiday hours, that day's shifts replaced by FROM-TO.
Hours are minutes since local midnight; the end may be 24:00 (1440).
"""

from __future__ import annotations

from collections.abc import Sequence
import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from edge.errors import InvalidInput

DAY_MINUTES = 24 * 60
NOTE_MAX_CHARS = 200

Ranges = tuple[tuple[int, int], ...]


class ExceptionKind(StrEnum):
    LEAVE = "leave"
    SICK = "sick"
    EXTRA = "extra"
    HOURS = "hours"


# kinds that take the whole day off: they take no hours
DAY_OFF_KINDS = frozenset({ExceptionKind.LEAVE, ExceptionKind.SICK})


@dataclass(frozen=True, slots=True)
class RosterException:
    technician_id: str
    day: date
    kind: ExceptionKind
    start_minute: int | None  # None for a day off
    end_minute: int | None
    note: str = ""

    def hours_text(self) -> str:
        """'HH:MM-HH:MM' for an extra shift or holiday hours; '' for a day off."""
        if self.start_minute is None or self.end_minute is None:
            return ""
        return f"{clock_text(self.start_minute)}-{clock_text(self.end_minute)}"

    def to_json(self) -> dict[str, Any]:
        """The exception as scripts and HQ see it: the local date, hours as HH:MM (None for a day off)."""
        return {
            "technician_id": self.technician_id, "date": self.day.isoformat(), "kind": str(self.kind),
            "from": None if self.start_minute is None else clock_text(self.start_minute),
            "to": None if self.end_minute is None else clock_text(self.end_minute), "note": self.note,
        }


def exception_kind(text: str) -> ExceptionKind:
    """The kind named by `text`, or InvalidInput naming the choices."""
    try:
        return ExceptionKind(text.strip().lower())
    except ValueError:
        choices = "|".join(kind.value for kind in ExceptionKind)
        raise InvalidInput("kind", f"{text!r} is not a roster exception kind ({choices})") from None


def make_exception(
    technician_id: str, day: date, kind: ExceptionKind, *, start_minute: int | None, end_minute: int | None,
    note: str = "",
) -> RosterException:
    """A valid exception: a day off takes no hours; `extra` and `hours` take FROM < TO inside the day."""
    note = note.strip()
    if len(note) > NOTE_MAX_CHARS:
        raise InvalidInput("note", f"the note is {len(note)} characters; at most {NOTE_MAX_CHARS}")
    if kind in DAY_OFF_KINDS:
        if start_minute is not None or end_minute is not None:
            field = "from" if start_minute is not None else "to"
            raise InvalidInput(field, f"{kind} is the whole day off: give no --from/--to")
        return RosterException(technician_id, day, kind, None, None, note)
    if start_minute is None:
        raise InvalidInput("from", f"{kind} needs its hours: --from HH:MM --to HH:MM")
    if end_minute is None:
        raise InvalidInput("to", f"{kind} needs its hours: --from HH:MM --to HH:MM")
    if not 0 <= start_minute < DAY_MINUTES:
        raise InvalidInput("from", f"{clock_text(start_minute)} is not a time of that day")
    if not 0 < end_minute <= DAY_MINUTES:
        raise InvalidInput("to", f"{clock_text(end_minute)} is not a time of that day (the latest is 24:00)")
    if end_minute <= start_minute:
        raise InvalidInput("to", f"the end {clock_text(end_minute)} must be after the start {clock_text(start_minute)}")
    return RosterException(technician_id, day, kind, start_minute, end_minute, note)


def day_ranges(weekly: Sequence[tuple[int, int]], exception: RosterException | None) -> Ranges:
    """The day's shifts (local minutes, in time order) once its exception, if any, is applied."""
    if exception is None:
        return tuple(sorted(weekly))
    if exception.kind in DAY_OFF_KINDS:
        return ()
    span = (exception.start_minute or 0, exception.end_minute or 0)  # make_exception gave them their hours
    if exception.kind is ExceptionKind.HOURS:
        return (span,)
    return merge_ranges([*weekly, span])


def merge_ranges(ranges: Sequence[tuple[int, int]]) -> Ranges:
    """Ranges in time order, those that overlap or touch joined into one."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


def parse_clock(text: str, field: str) -> int:
    """'HH:MM' (24:00 allowed: a shift may end at midnight) -> minutes since local midnight;
    InvalidInput naming `field` otherwise."""
    match = re.fullmatch(r"([0-9]{1,2}):([0-5][0-9])", text.strip())
    minute = int(match[1]) * 60 + int(match[2]) if match else -1
    if not 0 <= minute <= DAY_MINUTES:
        raise InvalidInput(field, f"{text!r} is not a time of day HH:MM (or 24:00)")
    return minute


def clock_text(minute: int) -> str:
    """Minutes since midnight as HH:MM (1440 is 24:00)."""
    return f"{minute // 60:02d}:{minute % 60:02d}"
