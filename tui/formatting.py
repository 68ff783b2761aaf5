"""How station values read on screen: local times, states and stages, service names, in the UI's language."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime

from edge.domain.booking_state import BookingState, Progress
from edge.services.booking_store import BookingRecord
from edge.services.station import Station
from tui.i18n import N_, _, language

_STATES = {
    BookingState.HELD: N_("held"),
    BookingState.CONFIRMED: N_("confirmed"),
    BookingState.CHECKED_IN: N_("checked in"),
    BookingState.IN_SERVICE: N_("in service"),
    BookingState.COMPLETED: N_("completed"),
    BookingState.CANCELLED: N_("cancelled"),
    BookingState.NO_SHOW: N_("no-show"),
    BookingState.EXPIRED: N_("expired"),
    BookingState.PENDING_APPROVAL: N_("awaiting approval"),
    BookingState.TENTATIVE: N_("tentative"),
    BookingState.REJECTED: N_("rejected"),
}

_STAGES = {
    Progress.RECEIVED: N_("received"),
    Progress.IN_BAY: N_("in bay"),
    Progress.IN_SERVICE: N_("working"),
    Progress.WAITING_PARTS: N_("waiting for parts"),
    Progress.QUALITY_CHECK: N_("quality check"),
    Progress.DONE: N_("done"),
}

BAY_STATES = {
    "free": N_("free"),
    "occupied": N_("occupied"),
    "unknown": N_("unknown"),
    "out_of_service": N_("out of service"),
}

SENSOR_READINGS = {
    "free": N_("free"),
    "occupied": N_("car"),
    "unknown": N_("silent"),
    "stuck": N_("stuck?"),
    "none": "–",
}

_LINKS = {"offline": N_("offline"), "online": N_("online"), "never": N_("not connected yet"),
          "hq_silent": N_("not answering"), "stalled": N_("stalled"), "off": N_("sync off")}

_WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))

_CHANNELS = {
    "terminal": N_("counter"),
    "walk_in": N_("walk-in"),
    "phone": N_("phone"),
    "app": N_("app"),
    "hq": N_("HQ"),
}


def state_label(state: BookingState | str) -> str:
    return _(_STATES.get(BookingState(state), str(state)))


def stage_label(stage: Progress | str | None) -> str:
    return "" if not stage else _(_STAGES.get(Progress(stage), str(stage)))


def bay_state_label(state: str) -> str:
    return _(BAY_STATES.get(state, state))


def sensor_label(reading: str) -> str:
    """What a bay's occupancy sensor reads, in a word ('–' for a bay without one)."""
    text = SENSOR_READINGS.get(reading, reading)
    return _(text) if text != "–" else text


def link_label(link: str) -> str:
    return _(_LINKS.get(link, link))


def channel_label(channel: str) -> str:
    return _(_CHANNELS.get(channel, channel))


def clock(station: Station, instant: datetime | None) -> str:
    """'09:30' in the station's time zone."""
    return "" if instant is None else f"{station.local(instant):%H:%M}"


def span(station: Station, start: datetime, end: datetime) -> str:
    return f"{clock(station, start)}–{clock(station, end)}"


def day_label(day: date) -> str:
    """'2026-11-23 Mon' / '2026-11-23 周一'."""
    return f"{day.isoformat()} {weekday(day)}"


def weekday(day: date) -> str:
    return _(_WEEKDAYS[day.weekday()])


def when(station: Station, instant: datetime) -> str:
    """'11-23 09:30' in the station's time zone."""
    return f"{station.local(instant):%m-%d %H:%M}"


def service_name(station: Station, code: str) -> str:
    """A service or package by its name in the UI's language (the code if the catalogue lacks it)."""
    catalog = station.catalog()
    item = catalog.packages.get(code) or catalog.services.get(code)
    if item is None:
        return code
    return item.name_zh if language() == "zh_CN" else item.name_en


def services_label(station: Station, codes: Iterable[str]) -> str:
    return "+".join(service_name(station, code) for code in codes)


def booking_services(station: Station, booking: BookingRecord) -> str:
    """A booking's package name, or its items joined with '+'."""
    if booking.package_code:
        return service_name(station, booking.package_code)
    return services_label(station, booking.services)


def onwards(station: Station, later: Iterable[tuple[str, datetime]]) -> str:
    """' › W1 09:00': where a car goes after its first bay, each later leg's bay and start ('' for one bay)."""
    return "".join(f" › {bay} {clock(station, start)}" for bay, start in later)


def legs_label(station: Station, legs: Sequence[tuple[Sequence[str], tuple[str, datetime] | None]]) -> str:
    """'Oil change L1 08:00 › Wash W1 09:00': each leg's services, and its bay and start once known."""
    return " › ".join(services_label(station, codes) + (f" {stop[0]} {clock(station, stop[1])}" if stop else "")
                      for codes, stop in legs)


def minutes_text(minutes: int) -> str:
    return _("{minutes} min").format(minutes=minutes)
