"""Which booking is this car? One answer for every arrival: a QR at the entrance or a bay reader, a camera's
plate read, a plate or code typed at the terminal, `station-edge checkin`.

`arrive` decides and acts in one write transaction and returns an outcome the caller only
shows: `CheckedIn`, `MovedInBay`, `Prompt` (look-alike plates, or several bookings of one
plate: the attendant picks), `Refused` (with a `Refusal` reason) or `NoMatch`. `preview`
answers what `arrive` would do now, writing nothing (the terminal's hint and list).

The rule, in order: the booking's state (edge.domain.arrivals), a token's generation (a
rescheduled booking's earlier QR codes are stale), then the arrival window: from
[booking] early_arrival_minutes before the start until no_show_minutes after it. A plate
checks a car in only on an exact, unambiguous match among the bookings expected now.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from sqlite3 import Connection

from edge.domain.arrivals import (
    STATE_REFUSALS,
    TOKEN_REASONS,
    ArrivalWindow,
    Refusal,
    describe,
    state_refusal,
    time_refusal,
)
from edge.domain.booking_state import BookingState, Progress, advance_progress, check_transition
from edge.domain.plates import CONFUSION_COST, REGION_COST, match_plate, normalize_plate, plate_distance
from edge.domain.tokens import PREFIX, TokenClaim, TokenRejected, read_token
from edge.errors import BookingError, EdgeError, InvalidTransition, NotFound, RuleViolation
from edge.services import bookings, live_state
from edge.services.booking_store import BookingRecord, firm_up_claims, get_booking, query_bookings, update_booking
from edge.services.one_car_per_bay import move_booking
from edge.services.station import Station
from edge.store.types import to_db_time

log = logging.getLogger(__name__)

# one OCR look-alike (8/B, 0/D, 5/S ...) away, even without the province character: a camera
# drops it, and a forecourt keyboard often has no Chinese input method ("A1234B" finds 沪A12348)
PLAUSIBLE_DISTANCE = REGION_COST + CONFUSION_COST
MAX_CANDIDATES = 3
# a plate booked outside the arrival window is looked for this far around now, to say when it is booked
PLATE_LOOKAROUND = timedelta(days=7)


class By(StrEnum):
    QR = "qr"  # a scanned booking token
    PLATE = "plate"  # a plate read by a camera or typed
    BOOKING = "booking"  # a booking id or code
    TYPED = "typed"  # what the attendant typed: a token, a booking code or a plate


@dataclass(frozen=True, slots=True)
class Refused:
    reason: Refusal
    message: str  # in English, for logs and the CLI; the terminal words `reason` in its language
    booking: BookingRecord | None = None
    bay: str | None = None  # the bay reader's bay, for WRONG_BAY and BAY_TAKEN

    def error(self) -> BookingError:
        """The refusal as the exception a raising caller reports."""
        if self.reason == Refusal.UNKNOWN_BOOKING:
            return NotFound(self.message)
        return (InvalidTransition if self.reason in STATE_REFUSALS else RuleViolation)(self.message)


@dataclass(frozen=True, slots=True)
class CheckedIn:
    booking: BookingRecord
    not_in_bay: Refused | None = None  # scanned at a bay reader, checked in but not moved in bay: why


@dataclass(frozen=True, slots=True)
class MovedInBay:
    booking: BookingRecord
    checked_in: bool  # this arrival also checked the car in


@dataclass(frozen=True, slots=True)
class Candidate:
    booking: BookingRecord
    distance: float  # 0 = the plate as read
    best: bool  # the match edge.domain.plates.match_plate would put to the attendant


@dataclass(frozen=True, slots=True)
class Prompt:
    read: str
    candidates: tuple[Candidate, ...]  # closest first
    prompt_id: str | None = None  # the plate prompt opened for the terminal (a camera's read)


@dataclass(frozen=True, slots=True)
class NoMatch:
    read: str
    message: str
    is_plate: bool = True  # False: what was read is neither a plate nor a booking code


Outcome = CheckedIn | MovedInBay | Prompt | Refused | NoMatch


def arrival_window(station: Station) -> ArrivalWindow:
    booking = station.settings.booking
    return ArrivalWindow(timedelta(minutes=booking.early_arrival_minutes), timedelta(minutes=booking.no_show_minutes))


def arrive(station: Station, text: str, *, by: By, bay: str | None = None, device: str | None = None,
           confidence: float = 1.0, now: datetime | None = None) -> Outcome:
    """Decide which booking this arrival is and act on it, in one write transaction.

    `bay` is set for a bay reader: a checked-in car there moves in bay. `device` is set for
    a camera: a look-alike read opens a plate prompt for the terminal. An arrival with
    nothing to write (a refusal, a plate nobody booked) takes no write lock: a camera on a
    busy road or a scanner reading price labels must not hold up the counter.
    """
    now = now or station.clock()
    with station.store.read() as conn:
        outcome = _decide(conn, station, text, by, bay, now)
    if not (isinstance(outcome, CheckedIn | MovedInBay) or (isinstance(outcome, Prompt) and device is not None)):
        return outcome
    with station.store.write() as conn:  # decided again: another writer may have moved the booking since
        return _act(conn, station, _decide(conn, station, text, by, bay, now), bay=bay, device=device,
                    confidence=confidence, now=now)


def preview(station: Station, text: str, *, by: By = By.TYPED, now: datetime | None = None) -> Outcome:
    """What `arrive` would answer now, nothing written (a CheckedIn's booking is as it is before check-in)."""
    now = now or station.clock()
    with station.store.read() as conn:
        return _decide(conn, station, text, by, None, now)


# -- deciding ---------------------------------------------------------------------------


def _decide(conn: Connection, station: Station, text: str, by: By, bay: str | None, now: datetime) -> Outcome:
    text = text.strip()
    if by == By.TYPED:
        by = _typed_kind(conn, text)
    if by == By.QR:
        return _by_token(conn, station, text, bay, now)
    if by == By.BOOKING:
        try:
            booking = get_booking(conn, text)
        except NotFound:
            return _refused(station, Refusal.UNKNOWN_BOOKING, detail=repr(text))
        return _judge(conn, station, booking, now, bay=bay)
    return _by_plate(conn, station, text, now)


def _typed_kind(conn: Connection, text: str) -> By:
    if text.startswith(f"{PREFIX}."):
        return By.QR
    try:
        get_booking(conn, text)
    except NotFound:
        return By.PLATE
    return By.BOOKING


def _by_token(conn: Connection, station: Station, text: str, bay: str | None, now: datetime) -> Outcome:
    key = station.settings.security.token_key
    if key is None:
        return _refused(station, Refusal.NO_TOKEN_KEY)
    try:
        claim = read_token(text, station.settings.station.id, key.encode())
    except TokenRejected as err:
        return _refused(station, TOKEN_REASONS[err.reason], detail=str(err))
    try:
        booking = get_booking(conn, claim.booking_id)
    except NotFound:
        return _refused(station, Refusal.UNKNOWN_BOOKING, detail=claim.booking_id)
    return _judge(conn, station, booking, now, bay=bay, claim=claim)


def _judge(conn: Connection, station: Station, booking: BookingRecord, now: datetime, *, bay: str | None = None,
           claim: TokenClaim | None = None) -> Outcome:
    """The outcome for an arrival known to be `booking`: state, token generation, window, then the bay."""
    at_bay = bay is not None and booking.state == BookingState.CHECKED_IN
    refusal = state_refusal(booking.state, booking.hold_until, now)
    if refusal is not None and not at_bay:
        return _refused(station, refusal, booking)
    if claim is not None and claim.generation != bookings.token_generation(conn, booking.id):
        return _refused(station, Refusal.TOKEN_STALE, booking)
    if not at_bay:
        late_or_early = time_refusal(booking.start_at, now, arrival_window(station))
        if late_or_early is None and claim is not None and not claim.covers(now):
            late_or_early = Refusal.TOO_EARLY if now < claim.valid_from else Refusal.TOO_LATE
        if late_or_early is not None:
            return _refused(station, late_or_early, booking)
    if bay is None:
        return CheckedIn(booking)
    if booking.bay_id != bay:
        wrong = _refused(station, Refusal.WRONG_BAY, booking, bay=bay)
        return wrong if at_bay else CheckedIn(booking, not_in_bay=wrong)
    if booking.progress not in (None, Progress.RECEIVED):
        return _refused(station, Refusal.ALREADY_IN_BAY, booking, bay=bay)
    return MovedInBay(booking, checked_in=not at_bay)


def _by_plate(conn: Connection, station: Station, text: str, now: datetime) -> Outcome:
    try:
        read = normalize_plate(text)
    except EdgeError:
        return NoMatch(text, f"{text!r} is not a plate or a booking code", is_plate=False)
    expected = _expected(conn, station, now)
    verdict = match_plate(read, [b.plate for b in expected], max_distance=PLAUSIBLE_DISTANCE)
    exact = [b for b in expected if b.plate == read]
    if verdict.kind == "exact" and len(exact) == 1:
        return _judge(conn, station, exact[0], now)
    candidates = _plausible(read, expected, verdict.plate if verdict.kind != "none" else None, now)
    if candidates:
        return Prompt(read, candidates)
    elsewhen = _plate_booked_elsewhen(conn, read, now)
    if elsewhen is not None:
        return _judge(conn, station, elsewhen, now)  # says when it is booked, or why it cannot come
    return NoMatch(read, f"no booking expected now for plate {read}")


def _expected(conn: Connection, station: Station, now: datetime) -> list[BookingRecord]:
    """The bookings whose car may arrive now: firm or held, with `now` in their arrival window."""
    window = arrival_window(station)
    found = query_bookings(
        conn, "start_at > ? AND start_at <= ? AND state IN (?, ?)",
        (to_db_time(now - window.late), to_db_time(now + window.early), BookingState.CONFIRMED, BookingState.HELD),
    )
    return [b for b in found if state_refusal(b.state, b.hold_until, now) is None]


def _plausible(read: str, expected: list[BookingRecord], best: str | None, now: datetime) -> tuple[Candidate, ...]:
    """The expected bookings whose plate is within PLAUSIBLE_DISTANCE of the read: closest, then soonest, first."""
    scored = []
    for booking in expected:
        try:
            distance = plate_distance(read, normalize_plate(booking.plate))
        except EdgeError:
            continue
        if distance <= PLAUSIBLE_DISTANCE:
            scored.append(Candidate(booking, distance, booking.plate == best))
    scored.sort(key=lambda c: (c.distance, abs((c.booking.start_at - now).total_seconds()), c.booking.code))
    return tuple(scored[:MAX_CANDIDATES])


def _plate_booked_elsewhen(conn: Connection, plate: str, now: datetime) -> BookingRecord | None:
    """The plate's live booking nearest to now outside the window (through the plate index)."""
    found = query_bookings(
        conn, "plate = ? AND start_at >= ? AND start_at <= ? AND state IN (?, ?)",
        (plate, to_db_time(now - PLATE_LOOKAROUND), to_db_time(now + PLATE_LOOKAROUND),
         BookingState.CONFIRMED, BookingState.HELD),
    )
    return min(found, key=lambda b: abs((b.start_at - now).total_seconds()), default=None)


def _refused(station: Station, reason: Refusal, booking: BookingRecord | None = None, *, bay: str | None = None,
             detail: str = "") -> Refused:
    facts: dict = {"detail": detail, "bay": bay or ""}
    if booking is not None:
        facts.update(code=booking.code, state=str(booking.state), booked_for=station.local(booking.start_at),
                     opens=station.local(arrival_window(station).opens(booking.start_at)), booked_bay=booking.bay_id)
    return Refused(reason, describe(reason, **facts), booking, bay)


# -- acting -----------------------------------------------------------------------------


def _act(conn: Connection, station: Station, outcome: Outcome, *, bay: str | None, device: str | None,
         confidence: float, now: datetime) -> Outcome:
    if isinstance(outcome, CheckedIn):
        return replace(outcome, booking=_check_in(conn, station, outcome.booking, now))
    if isinstance(outcome, MovedInBay):
        booking = _check_in(conn, station, outcome.booking, now) if outcome.checked_in else outcome.booking
        return _move_in_bay(conn, station, booking, outcome.checked_in, bay or booking.bay_id, now)
    if isinstance(outcome, Prompt) and device is not None:
        prompt = live_state.open_plate_prompt(
            conn, outcome.read, confidence, device,
            [live_state.PromptCandidate(c.booking.id, c.booking.code, c.booking.plate, round(c.distance, 3))
             for c in outcome.candidates], now=now)
        return replace(outcome, prompt_id=prompt.id)
    return outcome


def _check_in(conn: Connection, station: Station, booking: BookingRecord, now: datetime) -> BookingRecord:
    check_transition(booking.code, booking.state, BookingState.CHECKED_IN)
    firm_up_claims(conn, booking)
    return update_booking(conn, station, booking, "booking.checked_in", now=now,
                          state=BookingState.CHECKED_IN, progress=str(Progress.RECEIVED), hold_until=None)


def _move_in_bay(conn: Connection, station: Station, booking: BookingRecord, checked_in: bool, bay: str,
                 now: datetime) -> Outcome:
    """In bay, or, when the bay refuses a second car, the check-in alone (the refusal said)."""
    conn.execute("SAVEPOINT arrival_in_bay")
    try:
        state = advance_progress(booking.code, booking.state, Progress.RECEIVED, Progress.IN_BAY)
        moved = move_booking(conn, station, booking, now=now, state=state, progress=Progress.IN_BAY)
    except (RuleViolation, InvalidTransition) as err:
        conn.execute("ROLLBACK TO arrival_in_bay")
        conn.execute("RELEASE arrival_in_bay")
        refused = _refused(station, Refusal.BAY_TAKEN, booking, bay=bay, detail=str(err))
        return CheckedIn(booking, not_in_bay=refused) if checked_in else refused
    conn.execute("RELEASE arrival_in_bay")
    return MovedInBay(moved, checked_in)
