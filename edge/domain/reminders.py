"""Which reminders a booking gets, from how far ahead it was made.

A reminder is worth sending only if the customer may have forgotten: one arriving soon after
they booked (or moved the booking) repeats the confirmation they have just read. So a
booking gets a reminder only when it was made at least one and a half times the reminder's
lead before its start; the reminder then comes at least half its lead after the booking:

| reminder | sent | only for a booking made at least |
|---|---|---|
| `reminder_day_before` | 24 h before the start | 36 h before the start |
| `reminder_2h` | 2 h before the start | 3 h before the start |

Exactly at the threshold is ahead enough. A booking is "made" when it was created or, if it
was later moved to another time, when it was last moved: the customer chose the new time
then, and was told it then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Reminder:
    kind: str
    lead: timedelta  # sent this long before the start

    @property
    def booked_ahead(self) -> timedelta:
        """How far ahead of the start a booking must have been made to get this reminder."""
        return self.lead * 3 / 2


REMINDERS = (
    Reminder("reminder_day_before", timedelta(hours=24)),
    Reminder("reminder_2h", timedelta(hours=2)),
)


def reminders_for(start_at: datetime, made_at: datetime) -> list[tuple[str, datetime]]:
    """(kind, time to send it) of each reminder a booking starting at `start_at`, made at `made_at`, gets."""
    ahead = start_at - made_at
    return [(r.kind, start_at - r.lead) for r in REMINDERS if ahead >= r.booked_ahead]
