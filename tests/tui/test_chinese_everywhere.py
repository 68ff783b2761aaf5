"""Every screen of the terminal in Chinese shows no English-only text: a walk through the app under Pilot.

What may stay in Latin letters: plates, booking codes, numbers and units, and the station's
own data as configured (bay, technician, device and station names and ids, service codes),
and product names.
"""

from __future__ import annotations

import re

from tests.tui.conftest import loaded, wait_for
from tui.app import StationApp
from tui.screens.added_work import AddedWorkScreen
from tui.screens.booking_detail import BookingDetailScreen
from tui.screens.reschedule import RescheduleScreen

# runs of letters, digits and dashes; those of two letters or more and no digit are words a
# translation would have replaced (a plate, a booking code or "lift2-qr" has digits in it)
TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9'_-]*")
# the keys as printed on the keyboard, and the names the product and its parts go by
ALLOWED = {"esc", "enter", "tab", "ctrl", "Esc", "Enter", "QR", "HQ", "station-edge", "CNY", "English", "EN"}


def data_words(station) -> set[str]:
    """The station's own names and ids: shown as configured, in whatever letters they were typed."""
    catalog = station.catalog()
    texts = [station.settings.station.id, station.settings.station.name]
    texts += [f"{bay.id} {bay.name}" for bay in catalog.bays.values()]
    texts += [f"{t.id} {t.name} {' '.join(t.skills)}" for t in catalog.technicians.values()]
    texts += list(catalog.services) + list(catalog.packages)
    texts += ["gate-anpr lift2-qr bay-sensors staff-reader CARD"]  # the sample's devices and cards
    return {word for text in texts for word in TOKEN.findall(text)}


def screen_text(app) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def english_words(app, allowed: set[str]) -> list[str]:
    return [token for token in TOKEN.findall(screen_text(app))
            if len(token) > 1 and not any(ch.isdigit() for ch in token) and token not in allowed]


async def test_every_screen_reads_in_chinese(busy_station):
    allowed = ALLOWED | data_words(busy_station)
    app = StationApp(busy_station, language="zh_CN")
    seen: dict[str, list[str]] = {}

    async def look(name: str) -> None:
        await pilot.pause(0.2)
        seen[name] = english_words(app, allowed)

    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await look("board")
        for key, name in (("c", "check-in"), ("n", "new booking"), ("m", "members"), ("t", "technicians"),
                          ("w", "waitlist")):
            await pilot.press(key)
            await loaded(pilot)
            await look(name)
            if name == "new booking":
                await pilot.press("space")  # the first service ticked: the slot picker and the summary
                await pilot.pause(0.5)
                await look("new booking, a service chosen")
                app.screen.query_one("#day").focus()
                await pilot.press("enter")  # the drop-down of days, open
                await look("new booking, days open")
                await pilot.press("escape")
            await pilot.press("escape")
        await pilot.press("g")
        await look("find dialog")
        app.screen.query_one("#answer").value = "BK0005"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, BookingDetailScreen))
        await loaded(pilot)
        await look("booking detail")
        await pilot.press("x")
        await look("cancel dialog")
        await pilot.press("escape")
        await pilot.press("e")
        await look("notes dialog")
        await pilot.press("escape")
        await pilot.press("w")
        await wait_for(pilot, lambda: isinstance(app.screen, AddedWorkScreen))
        await loaded(pilot)
        await look("added work")
        await pilot.press("escape")
        app.push_screen(BookingDetailScreen("BK0008"))  # a hold: it can move
        await wait_for(pilot, lambda: isinstance(app.screen, BookingDetailScreen) and app.screen.loads)
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, RescheduleScreen))
        await loaded(pilot)
        await look("reschedule")
    offending = {name: words for name, words in seen.items() if words}
    assert not offending, "\n".join(f"{name}: {words}" for name, words in offending.items())
