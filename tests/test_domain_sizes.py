"""Vehicle size classes in the catalogue: an item's duration and price for a car's class, and the legs they make."""

from __future__ import annotations

from edge.domain.catalog import Bay, Catalog, Package, ServiceItem, SizeTerms, Technician, terms_for

WASH = ServiceItem("WASH", "洗车", "Wash", "wash", 30, 10, 3000, None, frozenset({"wash"}),
                   by_size=(SizeTerms("suv", 45, 4500), SizeTerms("mpv", 30, 4000)))
OIL = ServiceItem("OIL", "保养", "Oil", "maintenance", 45, 15, 29900, "mechanic", frozenset({"lift"}),
                  by_size=(SizeTerms("suv", 60, 29900),))


def _catalog() -> Catalog:
    return Catalog(
        version="v1",
        services={"WASH": WASH, "OIL": OIL},
        packages={"PKG": Package("PKG", "套餐", "Pkg", ("OIL", "WASH"), 31000)},
        bays={"L1": Bay("L1", "Lift", "lift", frozenset({"OIL"})),
              "W1": Bay("W1", "Wash", "wash", frozenset({"WASH"}))},
        technicians={"T1": Technician("T1", "Wang", frozenset({"mechanic"}))},
    )


def test_an_item_takes_its_size_class_duration_and_price_and_any_other_class_the_items_own():
    assert (WASH.sized("suv").duration_minutes, WASH.sized("suv").price_minor) == (45, 4500)
    assert (WASH.sized("mpv").duration_minutes, WASH.sized("mpv").price_minor) == (30, 4000)
    for other in (None, "sedan", "no-such-class"):
        assert WASH.sized(other) is WASH
    assert WASH.sized("suv").buffer_minutes == 10  # the bay's turnover does not depend on the car
    assert terms_for(WASH.by_size, "mpv") == SizeTerms("mpv", 30, 4000) and terms_for((), "suv") is None


def test_plan_resolves_durations_and_prices_by_class():
    catalog = _catalog()
    sedan, suv, mpv = catalog.plan(["WASH"]), catalog.plan(["WASH"], "suv"), catalog.plan(["WASH"], "mpv")
    assert (sedan.duration_minutes, sedan.price_minor, sedan.size_class) == (30, 3000, None)
    assert (suv.duration_minutes, suv.price_minor, suv.size_class) == (45, 4500, "suv")
    assert (mpv.duration_minutes, mpv.price_minor) == (30, 4000)
    assert [leg.duration_minutes for leg in suv.legs] == [45] and suv.legs[0].occupied_minutes == 55
    # asked again, each class gets its own plan back (the cache is keyed by class too)
    assert catalog.plan(["WASH"]) == sedan and catalog.plan(["WASH"], "suv") == suv


def test_a_packages_legs_follow_the_class_while_its_price_stays_the_packages():
    catalog = _catalog()
    sedan, suv = catalog.plan(["PKG"]), catalog.plan(["PKG"], "suv")
    assert [(leg.service_codes, leg.duration_minutes) for leg in sedan.legs] == [(("OIL",), 45), (("WASH",), 30)]
    assert [(leg.service_codes, leg.duration_minutes) for leg in suv.legs] == [(("OIL",), 60), (("WASH",), 45)]
    assert sedan.price_minor == suv.price_minor == 31000
    assert (sedan.duration_minutes, suv.duration_minutes) == (75, 105)
    # items named one by one add up their class prices
    assert catalog.plan(["OIL", "WASH"], "suv").price_minor == 29900 + 4500
