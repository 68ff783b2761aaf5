"""The members screen at the desk: a member found by name among several, their details and car corrected, and a
credit score a manager sets by hand; what they bought and booked on the same screen."""

from __future__ import annotations

import pytest

from edge.services import bookings, checkout, members, vehicles
from tests.stations import NOW
from tests.tui.conftest import cells, loaded, text_of, wait_for
from tests.tui.desk import answer_form, desk_station, form_open, manager_answers, notices, open_screen, type_text
from tests.tui.sample import local
from tui.app import StationApp
from tui.screens.members import MembersScreen


def two_zhangs(station):
    """Two members whose names start alike; the second has bought a wash and booked an oil change."""
    members.enroll(station, phone="13800138000", name="张伟", plates=("沪A12345",), now=NOW)
    members.enroll(station, phone="13900139001", name="张敏", plates=("沪B54321",), now=NOW)
    checkout.checkout(station, services=["WASH"], phone="13900139001", payments=[("wechat_pay", 3000)], now=NOW)
    bookings.book(station, services=["OIL"], start=local(11), plate="沪B54321", phone="13900139001", now=NOW)
    return members.lookup(station, "13900139001").member


@pytest.fixture
def zhangs(tmp_path):
    """The desk station with the two members, and 张敏."""
    station = desk_station(tmp_path)
    yield station, two_zhangs(station)
    station.store.close()


async def test_a_member_found_by_name_corrected_and_their_credit_set_by_a_manager(zhangs):
    station, min_ = zhangs
    app = StationApp(station)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        screen = await open_screen(pilot, "m", MembersScreen)
        await type_text(pilot, "张")
        loads = screen.loads
        await pilot.press("enter")
        await loaded(pilot, screen, after=loads)
        matches = screen.query_one("#matches")
        await wait_for(pilot, lambda: app.focused is matches, what="the list of members found")
        found = [row[:2] for row in cells(matches)]
        assert sorted(found) == [["张伟", "13800138000"], ["张敏", "13900139001"]]
        await pilot.press(*(["down"] if found[1][0] == "张敏" else []), "enter")
        await wait_for(pilot, lambda: "13900139001" in text_of(screen.query_one("#profile")), what="张敏")
        assert cells(screen.query_one("#vehicles")) == [["沪B54321", "", "", "", ""]]
        assert [row[1] for row in cells(screen.query_one("#purchases"))] == ["30.00 CNY"]
        assert [row[1] for row in cells(screen.query_one("#history"))] == ["沪B54321"]

        await pilot.press("e")
        await form_open(pilot)
        await answer_form(pilot, "03-15")  # the birthday: the one field still empty
        await wait_for(pilot, lambda: members.birthday_of(station, min_.id) == "03-15", what="the birthday")
        await wait_for(pilot, lambda: "03-15" in text_of(screen.query_one("#profile")))

        await pilot.press("v")
        await form_open(pilot)
        await answer_form(pilot, "Toyota", "Corolla", "white")
        await wait_for(pilot, lambda: cells(screen.query_one("#vehicles")) == [
            ["沪B54321", "Toyota", "Corolla", "white", ""]], what="the car's details")
        assert vehicles.of_member(station, min_.id)[0].colour == "white"

        await pilot.press("o")
        await form_open(pilot)
        await answer_form(pilot, "120", "no-show was the station's fault")
        await manager_answers(pilot, "S01")
        await wait_for(pilot, lambda: members.lookup(station, "13900139001").member.credit_score == 120,
                       what="the credit score")
        await wait_for(pilot, lambda: "120" in text_of(screen.query_one("#profile")))
        assert "Credit score set" in notices(app)


async def test_a_phone_another_member_has_is_refused_and_nothing_changes(zhangs):
    station, min_ = zhangs
    app = StationApp(station)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        screen = await open_screen(pilot, "m", MembersScreen)
        await type_text(pilot, "9001")  # the last digits of 张敏's phone
        await pilot.press("enter")
        await wait_for(pilot, lambda: "张敏" in text_of(screen.query_one("#profile")), what="张敏")
        await pilot.press("e")
        await form_open(pilot)
        form = app.screen
        form.query_one("#field-phone").value = "13800138000"
        form.query_one("#field-birthday").focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: any("belongs to another member" in n for n in notices(app)), what="refusal")
        assert members.profile(station, min_.id).member.phone == "13900139001"
