"""What the desk does with members and their cars: find them by phone, plate or name; correct their details;
a car's make, model and colour (also `station-edge vehicle set`); their purchases."""

from __future__ import annotations

import json

import pytest

from edge.cli.main import main
from edge.errors import InvalidInput, RuleViolation
from edge.services import checkout, members, vehicles
from tests.stations import NOW, make_station


@pytest.fixture
def station(tmp_path):
    station = make_station(tmp_path)
    members.enroll(station, phone="13800138000", name="张伟", plates=("沪A12345",), now=NOW)
    members.enroll(station, phone="13900139001", name="Zhang Li", plates=("沪B54321",), now=NOW)
    yield station
    station.store.close()


def member_events(station) -> list[dict]:
    with station.store.read() as conn:
        return [json.loads(row[0]) for row in conn.execute(
            "SELECT body FROM outbox WHERE type LIKE 'member.%' ORDER BY hlc")]


def test_members_are_found_by_phone_its_last_digits_a_plate_or_a_name(station):
    names = lambda text: [p.member.name for p in members.search(station, text)]  # noqa: E731
    assert names("13800138000") == ["张伟"]
    assert names("9001") == ["Zhang Li"]
    assert names("沪B54321") == ["Zhang Li"]
    assert names("zhang") == ["Zhang Li"]
    assert names("张") == ["张伟"]
    assert names("nobody") == [] and names("  ") == []


def test_a_members_name_phone_and_birthday_are_corrected_and_told_to_hq(station):
    member = members.lookup(station, "13800138000").member
    profile = members.update_member(station, member.id, name="张伟强", phone="13800138099", birthday="03-15", now=NOW)
    assert (profile.member.name, profile.member.phone, profile.member.version) == ("张伟强", "13800138099", 2)
    assert members.birthday_of(station, member.id) == "03-15"
    assert member_events(station)[-1]["member"]["name"] == "张伟强"
    members.update_member(station, member.id, birthday="", now=NOW)
    assert members.birthday_of(station, member.id) is None
    with pytest.raises(RuleViolation, match="belongs to another member"):
        members.update_member(station, member.id, phone="13900139001")
    with pytest.raises(InvalidInput, match="is not MM-DD"):
        members.update_member(station, member.id, birthday="15/03")


def test_a_cars_make_model_and_colour_are_kept_and_a_members_car_changes_their_profile(station):
    car = vehicles.set_details(station, plate="沪A12345", make="Toyota", model="Corolla", colour="white", now=NOW)
    assert (car.make, car.model, car.colour) == ("Toyota", "Corolla", "white") and car.member_id
    assert vehicles.set_details(station, plate="沪A12345", colour="silver", now=NOW).model == "Corolla"
    assert [(v.plate, v.colour) for v in vehicles.of_member(station, car.member_id)] == [("沪A12345", "silver")]
    assert len(member_events(station)) == 4  # two enrolments, two changes of the car
    walk_in = vehicles.set_details(station, plate="沪C77777", make="BYD", now=NOW)
    assert (walk_in.make, walk_in.member_id) == ("BYD", None)
    assert len(member_events(station)) == 4


def test_vehicle_set_on_the_command_line(station, capsys):
    data = str(station.store.path.parent)
    assert main(["--data-dir", data, "vehicle", "set", "沪B54321", "--make", "Honda", "--colour", "blue",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["make"] == "Honda"
    assert main(["--data-dir", data, "vehicle", "set", "沪B54321", "--model", "Fit"]) == 0
    assert capsys.readouterr().out.split("\n")[2].split()[:4] == ["沪B54321", "Honda", "Fit", "blue"]


def test_a_members_purchases_are_their_receipts_newest_first(station):
    member = members.lookup(station, "13800138000").member
    assert members.purchases(station, member.id) == []
    sold = checkout.checkout(station, services=["WASH"], phone="13800138000", payments=[("wechat_pay", 3000)], now=NOW)
    [bought] = members.purchases(station, member.id)
    assert (bought.number, bought.total_minor) == (sold.number, 3000)
