"""The demo station's day: its config (from config.example.toml, with simulated devices) and a realistic morning.

The demo runs whenever a newcomer tries it, so the station's time zone is chosen to put its
clock at mid-morning now: the early bookings are done, cars are in the bays, some are late,
and the next hour's arrivals come through the simulated gate camera and QR scanner while
the attendant watches. Everything is booked through the same services the counter uses,
"as of" the hour it would have happened, so every rule (cells, skills, rosters) holds.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from edge.config import Settings
from edge.domain.plates import normalize_plate
from edge.errors import EdgeError
from edge.services import bookings, checkout, members, shifts
from edge.services.booking_store import BookingRecord
from edge.services.station import Station

log = logging.getLogger(__name__)

LOCAL_HOUR = 10  # the demo station's clock reads 10:xx when the demo starts
DEMO_FLOAT_MINOR = 20000  # the cash in the desk's drawer when the demo's day opened
DEMO_PRINTER = "desk-printer"
# a header line of a TOML table or array of tables
_TABLE = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.\-]+)\s*\]\]?")

MEMBERS = (  # phone, name, tier, plates
    ("13800138000", "张伟", "gold", ("沪F33333",)),
    ("13900139000", "李娜", "silver", ("沪B66666", "沪BD1234")),
    ("13700137000", "王芳", "regular", ("苏E5S820",)),
)

# (minutes from the slot holding now, services, plate, bay, what has happened to it by now)
MORNING = (
    (-180, ["WASH-STD"], "沪G44444", "W1", "done"),
    (-150, ["WASH-STD"], "沪D11111", "W1", "no_show"),
    (-150, ["OIL-STD"], "沪K70001", "L1", "done"),
    (-120, ["WASH-PREM"], "沪H52018", "W1", "done"),
    (-120, ["PKG-INSP"], "浙A3Q771", "I1", "done"),
    (-60, ["BRAKE-CHK"], "沪N90210", "L1", "done"),
    (-60, ["GLASS-CLEAN"], "沪P11811", "W1", "done"),
    (-30, ["OIL-STD"], "沪B66666", "L2", "working"),
    (-30, ["INSP-SAFE"], "沪M20230", "I1", "in_bay"),
    (0, ["WASH-PREM"], "沪A12345", "W1", "arrived"),
    (0, ["INSP-EMIS"], "沪C88888", "I1", "expected"),  # late by the time the demo has run a while
    (30, ["TYRE-ROT"], "沪A12348", "L1", "expected"),
    (30, ["INSP-SAFE"], "苏E5S820", "I1", "expected"),
    (60, ["OIL-STD"], "沪F33333", "L1", "expected"),
    (60, ["WASH-STD"], "沪E22222", "W1", "expected"),
    (90, ["WASH-STD"], "沪BD1234", "W1", "held"),  # a silver member's hold: it lapses during the demo
    (120, ["BRAKE-CHK"], "粤B8G3N7", "L1", "expected"),
    (150, ["TYRE-PRESS"], "沪J66120", "L2", "expected"),
    (180, ["PKG-CARE"], "沪L30888", "L1", "expected"),
    (300, ["WASH-STD"], "沪Q80503", "W1", "expected"),  # after PKG-CARE's wash leg
    (300, ["FILM-FULL"], "沪R12000", "F1", "expected"),
    (330, ["INSP-SAFE"], "沪T55501", "I1", "expected"),
)


def demo_zone(now: datetime) -> str:
    """A fixed-offset zone whose clock reads LOCAL_HOUR:xx at `now` (Etc/GMT-8 is UTC+8)."""
    offset = LOCAL_HOUR - now.astimezone(UTC).hour
    if offset < -12:  # Etc/GMT zones run from UTC-12 to UTC+14
        offset += 24
    return "Etc/GMT" + (f"{-offset:+d}" if offset else "+0")


def demo_config(example: str, zone: str, devices: str = "") -> str:
    """The example config with the demo's time zone and `devices` in place of the example's hardware and HQ link."""
    text = drop_tables(example, ("devices", "sync"))
    text, count = re.subn(r'(?m)^timezone\s*=\s*"[^"]*"', f'timezone = "{zone}"', text, count=1)
    if count != 1:
        raise ValueError("the example config has no [station] timezone line")
    return text + ("\n" + devices if devices else "")


def drop_tables(text: str, names: tuple[str, ...]) -> str:
    """A TOML text without the tables (and arrays of tables) `names` and their sub-tables."""
    kept, skipping = [], False
    for line in text.splitlines():
        header = _TABLE.match(line)
        if header:
            skipping = header.group(1).split(".")[0] in names
        if not skipping:
            kept.append(line)
    return "\n".join(kept).rstrip() + "\n"


@dataclass
class DemoDay:
    """What was booked, and what the simulated devices will bring in."""

    booked: list[BookingRecord] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # plates the station's rules refused today
    arriving: list[BookingRecord] = field(default_factory=list)  # expected within the hour, in start order
    on_shift: list[str] = field(default_factory=list)  # staff cards of technicians rostered now


def seed_day(station: Station, now: datetime) -> DemoDay:
    """Members, the morning's bookings moved on to where they would be at `now`."""
    day = DemoDay()
    slot = timedelta(minutes=station.slot_minutes)
    local_now = station.local(now)
    first = local_now.replace(minute=0, second=0, microsecond=0)
    t0 = (first + (local_now - first) // slot * slot).astimezone(UTC)
    opened = t0 - timedelta(hours=4)
    for phone, name, tier, plates in MEMBERS:
        members.enroll(station, phone=phone, name=name, tier=tier, plates=plates, now=opened)
    phones = {plate: phone for phone, _name, _tier, plates in MEMBERS for plate in plates}
    for minutes, services, plate, bay, fate in MORNING:
        start = t0 + timedelta(minutes=minutes)
        try:
            booking = bookings.book(station, services=services, start=start, plate=plate, bay_id=bay,
                                    phone=phones.get(plate), hold=fate == "held",
                                    channel="phone" if plate in phones else "walk_in",
                                    now=now - timedelta(minutes=3) if fate == "held" else opened)
            booking = _move_on(station, booking, fate, now)
        except EdgeError as err:  # the roster or the hours of this weekday do not allow it
            log.info("demo booking skipped plate=%s reason=%s", plate, err)
            day.skipped.append(plate)
            continue
        day.booked.append(booking)
    shifts.open_shift(station, float_minor=DEMO_FLOAT_MINOR, now=opened)  # the desk's drawer, counted at opening
    window = now + timedelta(hours=1)
    day.arriving = sorted((b for b in day.booked if b.state == "confirmed" and now <= b.start_at <= window),
                          key=lambda b: b.start_at)
    catalog = station.catalog()
    day.on_shift = [t.card_id for t in catalog.technicians.values()
                    if t.card_id and any(s <= now < e for s, e in station.shifts(t, local_now.date()))]
    return day


def _move_on(station: Station, booking: BookingRecord, fate: str, now: datetime) -> BookingRecord:
    """Replay what happened to the booking between its start and `now`."""
    start = booking.start_at
    at = lambda minutes: min(now, start + timedelta(minutes=minutes))  # noqa: E731
    code = booking.code
    if fate == "no_show":
        return bookings.mark_no_show(station, code, now=at(31))
    if fate in ("done", "working", "in_bay", "arrived"):
        booking = bookings.check_in(station, code, now=at(-6))
    steps = {"done": ("in_bay", "in_service", "quality_check", "done"), "working": ("in_bay", "in_service"),
             "in_bay": ("in_bay",)}.get(fate, ())
    for minute, stage in enumerate(steps):
        booking = bookings.set_progress(station, code, stage, now=at(2 + 8 * minute))
    return booking


def misread(plate: str) -> str:
    """The plate as a tired camera reads it: one look-alike character swapped (8→B, 0→D, 5→S ...)."""
    swaps = {"8": "B", "0": "D", "5": "S", "2": "Z", "1": "7", "6": "G"}
    normal = normalize_plate(plate)
    for i in range(len(normal) - 1, 1, -1):
        if normal[i] in swaps:
            return normal[:i] + swaps[normal[i]] + normal[i + 1:]
    return normal


def devices_toml(day: DemoDay, tokens: dict[str, str], bays: list[str], printer_port: int) -> str:
    """The simulated hardware of the demo, feeding on the day's arrivals, and the receipt printer (a fake one on
    `printer_port`, started by the demo)."""
    plates = [b.plate for b in day.arriving[0::2]]
    if day.arriving[1:2]:
        plates.insert(1, misread(day.arriving[1].plate))  # a look-alike: the attendant confirms it
    plates.append("沪Z00000")  # a car with no booking drives through
    scans = [tokens[b.id] for b in day.arriving[1::2][1:] if b.id in tokens]
    in_bay = [tokens[b.id] for b in day.booked if b.state == "checked_in" and b.progress == "received"
              and b.bay_id == "W1" and b.id in tokens]  # the car waiting at the wash tunnel's reader
    busy = [bay for bay in bays if bay not in ("F1",)]
    return "\n".join([
        _device("gate-anpr", "sim_anpr", "entrance", None,
                {"plates": plates, "interval": 9.0, "misread_rate": 0.0, "repeat": False, "seed": 7}),
        _device("entrance-qr", "sim_qr", "entrance", None,
                {"codes": scans, "interval": 13.0, "repeat": False, "seed": 11}),
        _device("w1-qr", "sim_qr", "bay", "W1",
                {"codes": in_bay, "interval": 20.0, "repeat": False, "outage_every": 45.0,
                 "outage_seconds": 25.0, "seed": 13}),
        _device("staff-reader", "sim_clock_in", "entrance", None,
                {"cards": day.on_shift, "interval": 5.0, "repeat": False, "seed": 17}),
        _device("bay-sensors", "sim_occupancy", None, None,  # sensors over several bays: no one bay's reader
                {"bays": busy + (["F1"] if "F1" in bays else []), "interval": 0.5, "dwell_min": 20.0,
                 "dwell_max": 60.0, "stuck_bays": [b for b in busy if b == "L2"], "stuck_after": 45.0,
                 "silent_bays": [b for b in bays if b == "F1"], "silent_after": 20.0, "seed": 19}),
        _device(DEMO_PRINTER, "receipt_printer", None, None,
                {"url": f"socket://127.0.0.1:{printer_port}", "paper_mm": 80}),
    ])


def printer_port(settings: Settings) -> int | None:
    """The local port of the demo's fake printer, as its config names it."""
    for device in settings.devices:
        if device.id == DEMO_PRINTER:
            return int(str(device.options["url"]).rsplit(":", 1)[1])
    return None


def checkout_first_done(station: Station, day: DemoDay, now: datetime) -> str | None:
    """Take payment for the first car finished this morning; its receipt number (None without one)."""
    done = next((b for b in day.booked if b.state == "completed"), None)
    if done is None:
        return None
    return checkout.checkout(station, booking_ref=done.code, payments=[("wechat_pay", done.price_minor)],
                             now=now).number


def _device(device_id: str, driver: str, role: str | None, bay: str | None, options: dict) -> str:
    lines = ["[[devices]]", f'id = "{device_id}"', f'driver = "{driver}"']
    if role:
        lines.append(f'role = "{role}"')
    if bay:
        lines.append(f'bay = "{bay}"')
    lines.append(f"options = {{ {', '.join(f'{k} = {_toml(v)}' for k, v in options.items())} }}")
    return "\n".join(lines) + "\n"


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return repr(value)


def local_clock(zone: str, now: datetime, pattern: str = "%H:%M") -> str:
    return now.astimezone(ZoneInfo(zone)).strftime(pattern)
