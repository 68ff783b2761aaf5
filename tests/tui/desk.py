"""What the tests of the desk's screens share: stations with materials, staff and a fleet; typing; notices."""

from __future__ import annotations

from edge.services import staff
from tests.stations import TEST_CONFIG, make_station
from tests.test_inventory import MATERIALS
from tests.test_staff import ATTENDANT_PIN, STAFF
from tests.tui.conftest import loaded, wait_for

DESK_CONFIG = TEST_CONFIG + MATERIALS + STAFF


def desk_station(tmp_path, *, config: str = DESK_CONFIG):
    """The test station with materials and staff, the attendant S02 signed in at the desk."""
    station = make_station(tmp_path, config=config)
    station.actor = staff.sign_in(station, "S02", ATTENDANT_PIN).actor
    return station


async def type_text(pilot, text: str) -> None:
    for key in text:
        await pilot.press(key)


async def open_screen(pilot, key: str, screen_type):
    """From wherever the app is, the key of a screen; waits until it has loaded."""
    await pilot.press(key)
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, screen_type), what=screen_type.__name__)
    await loaded(pilot, pilot.app.screen)
    return pilot.app.screen


async def answer_form(pilot, *answers: str) -> None:
    """Type each field of the form in front and Enter after each."""
    for text in answers:
        await type_text(pilot, text)
        await pilot.press("enter")


def notices(app) -> list[str]:
    return [str(n.message) for n in app._notifications]
