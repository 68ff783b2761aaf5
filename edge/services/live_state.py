"""Live station state from the bay hardware: bay occupancy, technicians clocked in, device health, plate prompts.

The daemon writes it as devices report; the terminal shows it and resolves the prompts.
Rules (docs/devices-and-daemon.md):
- A car entering a bay whose booking is checked in and only `received` moves that booking
  to `in_bay`; a car leaving a bay after its booking completed frees the bay for the next
  car (the occupancy event names the booking that left). Occupancy never checks a car in.
- A card toggles its technician in or out; the same card again within CARD_REPEAT is the
  same presentation (a hand waved twice) and changes nothing. An unknown card changes nothing.
- A plate read that only looks like an expected car opens a prompt; only the attendant's
  choice checks that booking in.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from sqlite3 import Connection

from edge.domain.booking_state import TRANSITIONS, BookingState, Progress, advance_progress
from edge.domain.ids import uuid7
from edge.domain.slots import day_bounds
from edge.errors import InvalidTransition, NotFound, RuleViolation
from edge.services import bookings
from edge.services.booking_store import BookingRecord, query_bookings
from edge.services.one_car_per_bay import car_in_bay, move_booking
from edge.services.station import Station
from edge.store.outbox import append_event
from edge.store.types import dumps, from_db_time, to_db_time

log = logging.getLogger(__name__)

OCCUPANCY = ("free", "occupied", "unknown")
CARD_REPEAT = timedelta(seconds=5)  # a second presentation of a card within this is the same one (a double wave)
PROMPT_REPEAT = timedelta(minutes=2)  # the camera reading the same car again does not open a second prompt
# an unanswered prompt this old is about a car that has long left the forecourt camera
PROMPT_LIFETIME = timedelta(hours=2)
_CHECKABLE = frozenset(state for state, targets in TRANSITIONS.items() if BookingState.CHECKED_IN in targets)
# a car entering or leaving a bay belongs to a booking on that bay within this much of now
BAY_BOOKING_WINDOW = timedelta(hours=12)
# drivers that read what a customer shows (a booking QR, a number plate): a read missed while one is away is lost
CUSTOMER_SCANNERS = frozenset({"qr_serial", "qr_camera", "anpr", "sim_qr", "sim_anpr"})


@dataclass(frozen=True, slots=True)
class BayLive:
    bay_id: str
    occupancy: str  # free | occupied | unknown
    since: datetime | None
    stuck: bool
    source: str | None  # the sensor that reported it; None when the bay has no sensor data


@dataclass(frozen=True, slots=True)
class TechnicianPresence:
    technician_id: str
    name: str
    clocked_in_at: datetime
    clocked_out_at: datetime | None = None  # set when the presentation clocked the technician out


@dataclass(frozen=True, slots=True)
class DeviceHealth:
    device_id: str
    driver: str
    role: str
    connected: bool
    last_event_at: datetime | None
    last_error: str | None
    accepted: int
    rejected: int
    updated_at: datetime | None = None
    rejects_by_reason: dict[str, int] = field(default_factory=dict)  # the rejected count by reason
    reconnected_at: datetime | None = None  # back after a loss or a daemon restart: what it read meanwhile is lost
    condition: str | None = None  # connected but unfit for work: a printer's paper_out


@dataclass(frozen=True, slots=True)
class PromptCandidate:
    booking_id: str
    code: str
    plate: str
    distance: float


@dataclass(frozen=True, slots=True)
class PlatePrompt:
    id: str
    plate_read: str
    confidence: float
    device: str
    candidates: tuple[PromptCandidate, ...]
    created_at: datetime


# -- bays -----------------------------------------------------------------------------


def bay_states(station: Station) -> dict[str, BayLive]:
    """Every bay of the station by id; a bay with no sensor data is free with source None."""
    with station.store.read() as conn:
        rows = {r["bay_id"]: r for r in conn.execute("SELECT * FROM bay_live")}
    states = {}
    for bay_id in station.catalog().bays:
        row = rows.get(bay_id)
        states[bay_id] = BayLive(bay_id, "free", None, False, None) if row is None else _bay_live(row)
    return states


def _bay_live(row) -> BayLive:
    since = from_db_time(row["since"]) if row["since"] else None
    return BayLive(row["bay_id"], row["occupancy"], since, bool(row["stuck"]), row["source"])


def record_occupancy(station: Station, bay_id: str, occupancy: str, *, source: str, now: datetime) -> None:
    """A sensor's debounced verdict on a bay; a change is an outbox event and may move a booking's progress."""
    if occupancy not in OCCUPANCY:
        raise RuleViolation(f"occupancy must be one of {', '.join(OCCUPANCY)}, not {occupancy!r}")
    _known_bay(station, bay_id)
    with station.store.write() as conn:
        row = conn.execute("SELECT * FROM bay_live WHERE bay_id = ?", (bay_id,)).fetchone()
        if row is not None and row["occupancy"] == occupancy:
            conn.execute("UPDATE bay_live SET source = ?, updated_at = ? WHERE bay_id = ?",
                         (source, to_db_time(now), bay_id))
            return
        conn.execute(
            "INSERT INTO bay_live (bay_id, occupancy, since, source, stuck, stuck_since, updated_at)"
            " VALUES (?, ?, ?, ?, 0, NULL, ?) ON CONFLICT (bay_id) DO UPDATE SET occupancy = excluded.occupancy,"
            " since = excluded.since, source = excluded.source, updated_at = excluded.updated_at",
            (bay_id, occupancy, to_db_time(now), source, to_db_time(now)),
        )
        moved = _progress_on_occupancy(conn, station, bay_id, occupancy, now)
        stuck = bool(row["stuck"]) if row is not None else False
        _bay_event(conn, station, bay_id, occupancy, stuck=stuck, source=source, now=now,
                   booking_id=moved.id if moved else None)


def _progress_on_occupancy(
    conn: Connection, station: Station, bay_id: str, occupancy: str, now: datetime
) -> BookingRecord | None:
    """The booking that drove in (moved to in_bay) or drove out (completed), if any."""
    around = (to_db_time(now - BAY_BOOKING_WINDOW), to_db_time(now + BAY_BOOKING_WINDOW))
    if occupancy == "occupied":
        arrived = query_bookings(
            conn, "bay_id = ? AND state = ? AND start_at >= ? AND start_at <= ? AND"
            " (progress IS NULL OR progress = ?)",
            (bay_id, BookingState.CHECKED_IN, *around, Progress.RECEIVED),
        )
        if not arrived:
            log.info("car in bay without a checked-in booking bay=%s", bay_id)
            return None
        booking = min(arrived, key=lambda b: abs((b.start_at - now).total_seconds()))
        there = car_in_bay(conn, bay_id)
        if there is not None:  # the sensor cannot tell which car it sees: the attendant sorts it out
            log.warning("car sensed in bay with another booking in it bay=%s in_bay=%s waiting=%s",
                        bay_id, there.code, booking.code)
            return None
        state = advance_progress(booking.code, booking.state, Progress.RECEIVED, Progress.IN_BAY)
        log.info("in bay by sensor bay=%s booking=%s", bay_id, booking.code)
        return move_booking(conn, station, booking, now=now, state=state, progress=Progress.IN_BAY)
    if occupancy == "free":
        done = query_bookings(
            conn, "bay_id = ? AND state = ? AND updated_at >= ? ORDER BY updated_at DESC LIMIT 1",
            (bay_id, BookingState.COMPLETED, around[0]),
        )
        serving = query_bookings(
            conn, "bay_id = ? AND state IN (?, ?) AND start_at >= ? AND start_at <= ? AND progress != ?",
            (bay_id, BookingState.CHECKED_IN, BookingState.IN_SERVICE, *around, Progress.RECEIVED),
        )
        if serving:
            log.warning("car left bay before its service was done bay=%s booking=%s", bay_id, serving[0].code)
            return None
        if done:
            log.info("bay ready after completed booking bay=%s booking=%s", bay_id, done[0].code)
            return done[0]
    return None


def record_stuck(station: Station, bay_id: str, stuck: bool, *, source: str, now: datetime) -> None:
    """A sensor's stuck alarm raised (`stuck`) or cleared on a bay."""
    _known_bay(station, bay_id)
    with station.store.write() as conn:
        row = conn.execute("SELECT * FROM bay_live WHERE bay_id = ?", (bay_id,)).fetchone()
        if row is not None and bool(row["stuck"]) == stuck:
            return
        occupancy = row["occupancy"] if row is not None else "unknown"
        conn.execute(
            "INSERT INTO bay_live (bay_id, occupancy, since, source, stuck, stuck_since, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (bay_id) DO UPDATE SET stuck = excluded.stuck,"
            " stuck_since = excluded.stuck_since, source = excluded.source, updated_at = excluded.updated_at",
            (bay_id, occupancy, to_db_time(now), source, int(stuck), to_db_time(now) if stuck else None,
             to_db_time(now)),
        )
        _bay_event(conn, station, bay_id, occupancy, stuck=stuck, source=source, now=now, booking_id=None)
    log.warning("bay sensor %s bay=%s device=%s", "stuck" if stuck else "no longer stuck", bay_id, source)


def _bay_event(conn: Connection, station: Station, bay_id: str, occupancy: str, *, stuck: bool, source: str,
               now: datetime, booking_id: str | None) -> None:
    body = {"bay_id": bay_id, "occupancy": occupancy, "stuck": stuck, "source": source, "at": to_db_time(now),
            "booking_id": booking_id, "station": station.settings.station.id}
    append_event(conn, event_type="bay.occupancy", entity_id=bay_id,
                 idem_key=f"bay_live:{bay_id}:{uuid7()}", body=body, now=now)


def _known_bay(station: Station, bay_id: str) -> None:
    if bay_id not in station.catalog().bays:
        raise NotFound(f"no bay {bay_id!r} (bays: {', '.join(station.catalog().bays)})")


# -- technicians ------------------------------------------------------------------------


def technicians_on_shift(station: Station) -> list[TechnicianPresence]:
    """Technicians clocked in now (an open presence since today began), first arrived first."""
    first, _ = day_bounds(station.local(station.clock()).date(), station.tz)
    with station.store.read() as conn:
        rows = conn.execute(
            "SELECT p.technician_id, t.name, p.clocked_in_at FROM technician_presence p"
            " JOIN technician t ON t.id = p.technician_id"
            " WHERE p.clocked_out_at IS NULL AND p.clocked_in_at >= ? ORDER BY p.clocked_in_at, p.technician_id",
            (to_db_time(first),),
        ).fetchall()
    return [TechnicianPresence(r["technician_id"], r["name"], from_db_time(r["clocked_in_at"])) for r in rows]


def clock_card(station: Station, card_id: str, *, now: datetime, device: str = "terminal") -> TechnicianPresence | None:
    """Clock the card's technician in, or out if in; None (and a log line) for a card nobody holds."""
    key = _card_key(card_id)
    with station.store.write() as conn:
        technician = next(
            (r for r in conn.execute("SELECT id, name, card_id FROM technician WHERE active = 1 AND card_id IS NOT NULL")
             if _card_key(r["card_id"]) == key),
            None,
        )
        if technician is None:
            log.warning("unknown card presented device=%s card=%s", device, card_id)
            return None
        tech_id, name = technician["id"], technician["name"]
        first, _ = day_bounds(station.local(now).date(), station.tz)
        last = conn.execute(
            "SELECT id, clocked_in_at, clocked_out_at FROM technician_presence WHERE technician_id = ?"
            " ORDER BY clocked_in_at DESC, id DESC LIMIT 1", (tech_id,),
        ).fetchone()
        if last is not None:
            latest = from_db_time(last["clocked_out_at"] or last["clocked_in_at"])
            if now - latest < CARD_REPEAT:
                out = from_db_time(last["clocked_out_at"]) if last["clocked_out_at"] else None
                return TechnicianPresence(tech_id, name, from_db_time(last["clocked_in_at"]), out)
        # an open stay from an earlier day was never closed: it ends there, and this card clocks in
        is_in = last is not None and last["clocked_out_at"] is None and last["clocked_in_at"] >= to_db_time(first)
        if is_in:
            conn.execute("UPDATE technician_presence SET clocked_out_at = ? WHERE id = ?", (to_db_time(now), last["id"]))
            presence = TechnicianPresence(tech_id, name, from_db_time(last["clocked_in_at"]), now)
        else:
            if last is not None and last["clocked_out_at"] is None:
                conn.execute("UPDATE technician_presence SET clocked_out_at = clocked_in_at WHERE id = ?", (last["id"],))
            conn.execute(
                "INSERT INTO technician_presence (technician_id, card_id, device, clocked_in_at) VALUES (?, ?, ?, ?)",
                (tech_id, card_id, device, to_db_time(now)),
            )
            presence = TechnicianPresence(tech_id, name, now)
        event = "technician.clocked_out" if is_in else "technician.clocked_in"
        append_event(conn, event_type=event, entity_id=tech_id,
                     idem_key=f"presence:{tech_id}:{to_db_time(now)}:{event}",
                     body={"technician_id": tech_id, "device": device, "at": to_db_time(now),
                           "station": station.settings.station.id}, now=now)
    log.info("%s technician=%s device=%s", event.replace("technician.", "technician "), tech_id, device)
    return presence


def _card_key(card_id: str) -> str:
    # readers print the same card with or without leading zeros, in upper or lower case hex
    return card_id.strip().upper().lstrip("0") or "0"


def clocked_in_ids(station: Station, day: date) -> set[str]:
    """Technicians who clocked in on the local `day` and have not clocked out since (today: present now)."""
    with station.store.read() as conn:
        return open_presence_ids(conn, station, day)


def open_presence_ids(conn: Connection, station: Station, day: date) -> set[str]:
    first, last = day_bounds(day, station.tz)
    rows = conn.execute(
        "SELECT DISTINCT technician_id FROM technician_presence"
        " WHERE clocked_in_at >= ? AND clocked_in_at < ? AND clocked_out_at IS NULL",
        (to_db_time(first), to_db_time(last)),
    )
    return {row[0] for row in rows}


# -- devices ----------------------------------------------------------------------------


def device_health(station: Station) -> list[DeviceHealth]:
    with station.store.read() as conn:
        rows = conn.execute("SELECT * FROM device_health ORDER BY device_id").fetchall()
    return [
        DeviceHealth(
            r["device_id"], r["driver"], r["role"], bool(r["connected"]), _instant(r["last_event_at"]),
            r["last_error"], r["accepted"], r["rejected"], from_db_time(r["updated_at"]),
            rejects_by_reason=json.loads(r["rejects_by_reason"] or "{}"), reconnected_at=_instant(r["reconnected_at"]),
            condition=r["condition"],
        )
        for r in rows
    ]


def record_device_health(station: Station, rows: list[DeviceHealth], *, now: datetime) -> None:
    """Store the daemon's snapshot of its devices; a device connecting or disconnecting, or its condition
    changing (a printer's paper out, paper loaded), is an outbox event.

    The last reconnection is kept until a later one replaces it (a snapshot without one does not erase it).
    """
    with station.store.write() as conn:
        before = {r["device_id"]: (bool(r["connected"]), _instant(r["reconnected_at"]), r["condition"])
                  for r in conn.execute("SELECT device_id, connected, reconnected_at, condition FROM device_health")}
        for row in rows:
            was_connected, stored_reconnection, condition = before.get(row.device_id, (None, None, None))
            reconnected_at = max((t for t in (stored_reconnection, row.reconnected_at) if t is not None), default=None)
            conn.execute(
                "INSERT INTO device_health (device_id, driver, role, connected, last_event_at, last_error,"
                " accepted, rejected, rejects_by_reason, reconnected_at, condition, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (device_id) DO UPDATE"
                " SET driver = excluded.driver, role = excluded.role, connected = excluded.connected,"
                " last_event_at = excluded.last_event_at, last_error = excluded.last_error,"
                " accepted = excluded.accepted, rejected = excluded.rejected,"
                " rejects_by_reason = excluded.rejects_by_reason, reconnected_at = excluded.reconnected_at,"
                " condition = excluded.condition, updated_at = excluded.updated_at",
                (row.device_id, row.driver, row.role, int(row.connected), _db_instant(row.last_event_at),
                 row.last_error, row.accepted, row.rejected, dumps(row.rejects_by_reason),
                 _db_instant(reconnected_at), row.condition, to_db_time(now)),
            )
            if was_connected != row.connected or condition != row.condition:
                append_event(
                    conn, event_type="device.health", entity_id=row.device_id,
                    idem_key=f"device_health:{row.device_id}:{uuid7()}",
                    body={"device_id": row.device_id, "driver": row.driver, "role": row.role,
                          "connected": row.connected, "last_error": row.last_error, "condition": row.condition,
                          "at": to_db_time(now),
                          "station": station.settings.station.id},
                    now=now,
                )


def _instant(value: str | None) -> datetime | None:
    return from_db_time(value) if value else None


def _db_instant(value: datetime | None) -> str | None:
    return to_db_time(value) if value else None


# -- plate prompts ----------------------------------------------------------------------


def open_prompts(station: Station) -> list[PlatePrompt]:
    """Prompts the attendant has not answered yet, oldest first."""
    with station.store.read() as conn:
        rows = conn.execute("SELECT * FROM plate_prompt WHERE resolved_at IS NULL ORDER BY created_at, id").fetchall()
    return [_prompt(row) for row in rows]


def _prompt(row) -> PlatePrompt:
    candidates = tuple(PromptCandidate(*item) for item in json.loads(row["candidates"]))
    return PlatePrompt(row["id"], row["plate_read"], row["confidence"], row["device"], candidates,
                       from_db_time(row["created_at"]))


def create_plate_prompt(
    station: Station, plate_read: str, confidence: float, device: str, candidates: list[PromptCandidate] | tuple,
    *, now: datetime,
) -> PlatePrompt:
    """Ask the attendant which expected car (if any) this read is; the same read again soon reuses the prompt."""
    with station.store.write() as conn:
        return open_plate_prompt(conn, plate_read, confidence, device, candidates, now=now)


def open_plate_prompt(
    conn: Connection, plate_read: str, confidence: float, device: str, candidates: list[PromptCandidate] | tuple,
    *, now: datetime,
) -> PlatePrompt:
    """`create_plate_prompt` inside the caller's write transaction."""
    candidates = tuple(PromptCandidate(*c) if not isinstance(c, PromptCandidate) else c for c in candidates)
    if not candidates:
        raise RuleViolation("a plate prompt needs at least one candidate booking")
    repeat = conn.execute(
        "SELECT * FROM plate_prompt WHERE resolved_at IS NULL AND plate_read = ? AND device = ? AND created_at >= ?",
        (plate_read, device, to_db_time(now - PROMPT_REPEAT)),
    ).fetchone()
    if repeat is not None:
        return _prompt(repeat)
    prompt = PlatePrompt(uuid7(), plate_read, float(confidence), device, candidates, now)
    conn.execute(
        "INSERT INTO plate_prompt (id, plate_read, confidence, device, candidates, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (prompt.id, plate_read, prompt.confidence, device,
         dumps([[c.booking_id, c.code, c.plate, c.distance] for c in candidates]), to_db_time(now)),
    )
    log.info("plate prompt opened device=%s read=%s candidates=%s", device, plate_read,
             ",".join(c.plate for c in candidates))
    return prompt


def resolve_prompt(
    station: Station, prompt_id: str, booking_id: str | None, *, now: datetime
) -> BookingRecord | None:
    """The attendant's answer: a candidate's booking id checks that booking in; None dismisses the prompt."""
    with station.store.read() as conn:
        row = conn.execute("SELECT * FROM plate_prompt WHERE id = ?", (prompt_id,)).fetchone()
    if row is None:
        raise NotFound(f"no plate prompt {prompt_id!r}")
    if row["resolved_at"] is not None:
        raise InvalidTransition(f"plate prompt {prompt_id} was already answered ({row['resolution']})")
    prompt = _prompt(row)
    checked_in = None
    if booking_id is not None:
        if booking_id not in {c.booking_id for c in prompt.candidates}:
            raise RuleViolation(f"booking {booking_id} is not one of the prompt's candidates")
        current = bookings.booking(station, booking_id)
        # answered twice at once, or checked in by its QR meanwhile: the answer still holds
        checked_in = current if current.state == BookingState.CHECKED_IN else bookings.check_in(
            station, booking_id, now=now)
    with station.store.write() as conn:
        conn.execute(
            "UPDATE plate_prompt SET resolved_at = ?, resolution = ?, booking_id = ? WHERE id = ? AND resolved_at IS NULL",
            (to_db_time(now), "checked_in" if booking_id else "dismissed", booking_id, prompt_id),
        )
    log.info("plate prompt %s prompt=%s booking=%s", "confirmed" if booking_id else "dismissed", prompt_id,
             checked_in.code if checked_in else "-")
    return checked_in


def close_stale_prompts(station: Station, *, now: datetime | None = None) -> list[tuple[str, str]]:
    """Close the open prompts nobody needs to answer any more, as (prompt id, resolution):

    - "moot": none of its candidate bookings can still be checked in (the car's QR did it,
      another prompt did, or the booking was cancelled or released as a no-show);
    - "expired": it has waited longer than PROMPT_LIFETIME.
    """
    now = now or station.clock()
    closed: list[tuple[str, str]] = []
    with station.store.write() as conn:
        for row in conn.execute("SELECT * FROM plate_prompt WHERE resolved_at IS NULL").fetchall():
            prompt = _prompt(row)
            ids = [c.booking_id for c in prompt.candidates]
            states = {r[0] for r in conn.execute(
                f"SELECT state FROM booking WHERE id IN ({', '.join('?' * len(ids))})", ids)}
            if not states & _CHECKABLE:
                resolution = "moot"
            elif prompt.created_at <= now - PROMPT_LIFETIME:
                resolution = "expired"
            else:
                continue
            conn.execute("UPDATE plate_prompt SET resolved_at = ?, resolution = ? WHERE id = ?",
                         (to_db_time(now), resolution, prompt.id))
            closed.append((prompt.id, resolution))
    for prompt_id, resolution in closed:
        log.info("plate prompt closed prompt=%s resolution=%s", prompt_id, resolution)
    return closed
