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


def desk_sample(tmp_path, monkeypatch):
    """A morning with something on every desk screen (codes fixed, for pictures): a material running low,
    two fleet bookings waiting for approval, a lift out of service with its offers, a complaint,
    two members named alike, one with a purchase."""
    from edge.services import disruptions, inventory
    from edge.store.types import to_db_time
    from tests.stations import NOW
    from tests.test_complaints import complained
    from tests.test_delivery import DELIVERY_CONFIG, NEIGHBOURS, at
    from tests.test_enterprise import fleet_book, make_fleet
    from tests.tui.sample import fixed_codes
    from tests.tui.test_member_desk import two_zhangs

    fixed_codes(monkeypatch)
    station = desk_station(tmp_path, config=DELIVERY_CONFIG + NEIGHBOURS + STAFF)
    with station.store.write() as conn:  # the stock set up at init: stamped with the sample's clock
        conn.execute("UPDATE stock_movement SET created_at = ?", (to_db_time(NOW),))
    inventory.issue(station, sku="FILTER-AIR", quantity=4, reason="fitted off the books", now=NOW)
    complained(station)
    fleet = make_fleet(station)
    fleet_book(station, fleet, ["OIL"], at(11), bay="L1")
    fleet_book(station, fleet, ["TYRE"], at(13), bay="L2")
    two_zhangs(station)
    from edge.services import bookings
    bookings.book(station, services=["OIL"], start=at(15), plate="沪D44444", bay_id="L1", phone="13700137000", now=NOW)
    disruptions.set_bay_in_service(station, "L1", False, "hydraulic leak", now=NOW)
    disruptions.disruptions_for(station, bay_id="L1", now=NOW)
    return station


async def form_open(pilot) -> None:
    """Wait for the small form a key opens."""
    from tui.screens.form_dialog import FormDialog

    await wait_for(pilot, lambda: isinstance(pilot.app.screen, FormDialog), what="the form")


async def manager_answers(pilot, who: str) -> None:
    """The manager's PIN dialog is in front: the manager types who they are and their PIN."""
    from tests.test_staff import MANAGER_PIN
    from tui.screens.manager_pin import ManagerPinDialog

    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ManagerPinDialog), what="the manager's PIN")
    await type_text(pilot, who)
    await pilot.press("enter")
    await type_text(pilot, MANAGER_PIN)
    await pilot.press("enter")


async def press_and_reload(pilot, screen, key: str) -> None:
    """Press a key that reloads the screen and wait for the new data."""
    loads = screen.loads
    await pilot.press(key)
    await wait_for(pilot, lambda: screen.loads > loads, what=f"the reload after {key}")
