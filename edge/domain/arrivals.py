"""When an arriving car's booking may be checked in: its state, its hold, its token and the arrival window.

Pure rules over a booking's facts; `edge.services.arrivals` decides which booking a car is
and applies them. Each refusal is a `Refusal` the attendant is shown, with the booking's
local start where it explains it ("booked for 2026-12-05 09:30").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from edge.domain.booking_state import BookingState


class Refusal(StrEnum):
    NO_TOKEN_KEY = "no_token_key"  # a QR was scanned but the station cannot check signatures
    TOKEN_MALFORMED = "token_malformed"
    TOKEN_ALTERED = "token_altered"
    TOKEN_WRONG_STATION = "token_wrong_station"
    TOKEN_STALE = "token_stale"  # the booking was rescheduled after this token was issued
    UNKNOWN_BOOKING = "unknown_booking"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"
    COMPLETED = "completed"
    EXPIRED = "expired"  # the hold lapsed
    REJECTED = "rejected"
    AWAITING_DECISION = "awaiting_decision"  # pending approval, or tentative until HQ decides
    ALREADY_CHECKED_IN = "already_checked_in"
    TOO_EARLY = "too_early"
    TOO_LATE = "too_late"
    WRONG_BAY = "wrong_bay"  # scanned at a bay reader of another bay
    ALREADY_IN_BAY = "already_in_bay"
    BAY_TAKEN = "bay_taken"  # the bay refuses a second car in bay


# refusals because of the booking's state (InvalidTransition to a caller that raises), the rest are rules
STATE_REFUSALS = frozenset({
    Refusal.CANCELLED, Refusal.NO_SHOW, Refusal.COMPLETED, Refusal.EXPIRED, Refusal.REJECTED,
    Refusal.AWAITING_DECISION, Refusal.ALREADY_CHECKED_IN, Refusal.ALREADY_IN_BAY,
})
TOKEN_REASONS = {"malformed": Refusal.TOKEN_MALFORMED, "altered": Refusal.TOKEN_ALTERED,
                 "wrong_station": Refusal.TOKEN_WRONG_STATION}

_OF_STATE = {
    BookingState.CANCELLED: Refusal.CANCELLED,
    BookingState.NO_SHOW: Refusal.NO_SHOW,
    BookingState.COMPLETED: Refusal.COMPLETED,
    BookingState.EXPIRED: Refusal.EXPIRED,
    BookingState.REJECTED: Refusal.REJECTED,
    BookingState.PENDING_APPROVAL: Refusal.AWAITING_DECISION,
    BookingState.TENTATIVE: Refusal.AWAITING_DECISION,
    BookingState.CHECKED_IN: Refusal.ALREADY_CHECKED_IN,
    BookingState.IN_SERVICE: Refusal.ALREADY_CHECKED_IN,
}


@dataclass(frozen=True, slots=True)
class ArrivalWindow:
    """A booking's car is expected from `early` before its start until `late` after it (then it is a no-show)."""

    early: timedelta
    late: timedelta

    def opens(self, start: datetime) -> datetime:
        return start - self.early

    def closes(self, start: datetime) -> datetime:
        return start + self.late

    def covers(self, start: datetime, now: datetime) -> bool:
        return self.opens(start) <= now < self.closes(start)


def state_refusal(state: BookingState, hold_until: datetime | None, now: datetime) -> Refusal | None:
    """Why a booking in `state` cannot be checked in now; None for a firm or still-held booking."""
    if state == BookingState.HELD and hold_until is not None and hold_until <= now:
        return Refusal.EXPIRED  # lapsed, not yet swept: the cells may already be someone else's
    return _OF_STATE.get(state)


def time_refusal(start: datetime, now: datetime, window: ArrivalWindow) -> Refusal | None:
    """TOO_EARLY or TOO_LATE when `now` is outside the booking's arrival window."""
    if now < window.opens(start):
        return Refusal.TOO_EARLY
    if now >= window.closes(start):
        return Refusal.TOO_LATE
    return None


def describe(refusal: Refusal, *, code: str = "", state: str = "", booked_for: datetime | None = None,
             opens: datetime | None = None, bay: str = "", booked_bay: str = "", detail: str = "") -> str:
    """The refusal in English, for logs and the CLI; local times (`booked_for`, `opens`) as the station's wall clock."""
    when = f"{booked_for:%Y-%m-%d %H:%M}" if booked_for else ""
    texts = {
        Refusal.NO_TOKEN_KEY: "QR code not checked: no [security] token_key is configured",
        Refusal.TOKEN_MALFORMED: f"not a booking QR code ({detail})",
        Refusal.TOKEN_ALTERED: f"forged or altered QR code ({detail})",
        Refusal.TOKEN_WRONG_STATION: f"QR code of another station ({detail})",
        Refusal.TOKEN_STALE: f"outdated QR code of booking {code}: the booking was rescheduled to {when}; "
                             "the customer has been sent a new one",
        Refusal.UNKNOWN_BOOKING: f"no booking {detail or code} at this station",
        Refusal.CANCELLED: f"booking {code} was cancelled",
        Refusal.NO_SHOW: f"booking {code} was released as a no-show (booked for {when})",
        Refusal.COMPLETED: f"booking {code} is already completed",
        Refusal.EXPIRED: f"booking {code} expired: its hold lapsed",
        Refusal.REJECTED: f"booking {code} was rejected",
        Refusal.AWAITING_DECISION: f"booking {code} is {state}: it is not firm yet",
        Refusal.ALREADY_CHECKED_IN: f"booking {code} is already checked in ({state})",
        Refusal.TOO_EARLY: f"booking {code} is booked for {when}; check-in opens at "
                           f"{opens:%Y-%m-%d %H:%M}" if opens else f"booking {code} is booked for {when}",
        Refusal.TOO_LATE: f"booking {code} was booked for {when}; too late to check in",
        Refusal.WRONG_BAY: f"booking {code} is booked on bay {booked_bay}, not bay {bay}",
        Refusal.ALREADY_IN_BAY: f"booking {code} is already past check-in ({state})",
        Refusal.BAY_TAKEN: f"booking {code} cannot go in bay {bay}: {detail}",
    }
    return texts[refusal]
