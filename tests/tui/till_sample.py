"""The till's morning at the test station, for the receipt, refund and e-invoice tests and pictures.

The attendant 赵小燕 is at the desk with the drawer open; at 08:10 张伟 (gold) paid an oil change,
a wash and two wiper blades, 200.00 by bank card and 209.00 in cash from 220.00; at 08:40 a guest
paid a wash by WeChat Pay. Receipt numbers are fixed (…-R0001, …-R0002).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from edge.services import checkout, members, staff
from edge.services.station import Station
from tests.stations import NOW, TEST_CONFIG, make_station, open_drawer
from tests.test_staff import ATTENDANT_PIN, STAFF

GOODS = """
[[materials]]
sku = "WIPER"
name_zh = "雨刮片"
name_en = "Wiper blade"
unit = "pcs"
reorder_level = 2
initial_stock = 20
price = 4000
"""
FIRST, SECOND = "TST-001-261123-R0001", "TST-001-261123-R0002"


def fixed_numbers(monkeypatch) -> None:
    """Receipt numbers in the order of the sales (R0001, R0002, ...): pictures that do not change."""
    numbers = iter(f"R{n:04d}" for n in range(1, 100))
    monkeypatch.setattr("edge.services.checkout.short_code", lambda *_: next(numbers))


def till_station(tmp_path: Path, monkeypatch) -> Station:
    fixed_numbers(monkeypatch)
    station = make_station(tmp_path, config=TEST_CONFIG + STAFF + GOODS)
    members.enroll(station, phone="13800138000", name="张伟", tier="gold", plates=("沪F33333",))
    open_drawer(station)
    checkout.checkout(station, services=["OIL", "WASH"], goods=[("WIPER", 2)], phone="13800138000",
                      payments=[("bank_card", 20000), ("cash", 20900)], cash_tendered_minor=22000,
                      now=NOW + timedelta(hours=1, minutes=10))
    checkout.checkout(station, services=["WASH"], payments=[("wechat_pay", 3000)],
                      now=NOW + timedelta(hours=1, minutes=40))
    station.clock = lambda: NOW + timedelta(hours=2)
    station.actor = staff.sign_in(station, "S02", ATTENDANT_PIN).actor
    return station
