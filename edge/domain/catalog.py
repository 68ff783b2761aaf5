"""What the station sells and where: service items, packages, bays, technicians, and work plans."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from edge.domain.legs import LegItem, LegPlan, split_into_legs
from edge.domain.price_calendar import PriceRule
from edge.errors import InvalidInput, NotFound, RuleViolation

# what a service item is: the catalogue's categories (reports, coupons and fleet rules use them)
SERVICE_CATEGORIES = ("fuel", "maintenance", "inspection", "wash", "film", "value_added")
_PLAN_CACHE_SIZE = 256


@dataclass(frozen=True, slots=True)
class SizeTerms:
    """What a service takes and costs for a car of one size class (an SUV's wash is longer and dearer)."""

    size_class: str
    duration_minutes: int
    price_minor: int


def terms_for(by_size: Iterable[SizeTerms], size_class: str | None) -> SizeTerms | None:
    """The terms of `size_class` among a service's, or None: the service as it is serves that class."""
    return next((terms for terms in by_size if terms.size_class == size_class), None)


@dataclass(frozen=True, slots=True)
class ServiceItem:
    code: str
    name_zh: str
    name_en: str
    category: str
    duration_minutes: int
    buffer_minutes: int
    price_minor: int
    skill: str | None
    bay_kinds: frozenset[str]
    materials: tuple[tuple[str, int], ...] = ()  # (SKU, quantity) consumed per service
    interval_days: int | None = None  # recommended interval, for next-service prediction
    interval_km: int | None = None
    # the size classes whose cars take longer or cost more; any other class takes the item as it is
    by_size: tuple[SizeTerms, ...] = ()

    def sized(self, size_class: str | None) -> ServiceItem:
        """The item as a car of `size_class` gets it: that class's duration and price, if it has its own."""
        terms = terms_for(self.by_size, size_class)
        if terms is None:
            return self
        return replace(self, duration_minutes=terms.duration_minutes, price_minor=terms.price_minor)


@dataclass(frozen=True, slots=True)
class Package:
    code: str
    name_zh: str
    name_en: str
    services: tuple[str, ...]
    price_minor: int


@dataclass(frozen=True, slots=True)
class Bay:
    id: str
    name: str
    kind: str
    services: frozenset[str]
    in_service: bool = True


@dataclass(frozen=True, slots=True)
class Technician:
    id: str
    name: str
    skills: frozenset[str]
    # weekday (0 = Monday) -> ((start_minute, end_minute), ...) local wall time
    shifts: Mapping[int, tuple[tuple[int, int], ...]] = field(default_factory=dict)
    card_id: str | None = None


@dataclass(frozen=True, slots=True)
class WorkPlan:
    """What one booking asks for: its items, its legs (the bays it moves through), the price."""

    service_codes: tuple[str, ...]
    package_code: str | None
    duration_minutes: int  # the work of every leg together
    skills: frozenset[str]
    price_minor: int
    legs: tuple[LegPlan, ...]
    size_class: str | None = None  # the car's size class the durations and prices are for
    # (code, usual price) of each priced line: the package, and each service asked for on its own
    item_prices: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Catalog:
    """A versioned snapshot of the station's catalogue, bays and technicians."""

    version: str
    services: Mapping[str, ServiceItem]
    packages: Mapping[str, Package]
    bays: Mapping[str, Bay]
    technicians: Mapping[str, Technician]
    # holiday and time-window prices of services and packages (edge.domain.price_calendar)
    price_rules: tuple[PriceRule, ...] = ()
    # resolved plans by the size class and codes asked for: the catalogue is immutable, and every booking asks
    _plans: dict[tuple[str | None, tuple[str, ...]], WorkPlan] = field(
        default_factory=dict, init=False, repr=False, compare=False)

    def plan(self, codes: Iterable[str], size_class: str | None = None) -> WorkPlan:
        """Resolve service or package codes into one work plan for a car of `size_class` (None:
        the default class, the items as they are); RuleViolation / NotFound say why not."""
        key = (size_class, tuple(codes))
        plan = self._plans.get(key)
        if plan is None:
            if len(self._plans) >= _PLAN_CACHE_SIZE:
                self._plans.clear()
            plan = self._plans[key] = self._resolve(key[1], size_class)
        return plan

    def _resolve(self, codes: tuple[str, ...], size_class: str | None) -> WorkPlan:
        """Resolve service or package codes into one work plan.

        Each item takes the duration and price of the car's size class (ServiceItem.sized).
        The items, in the order asked (a package's in its own order), are split into legs: as
        many as fit one bay together stay one leg (edge.domain.legs). Within a leg durations add
        up and the bay's turnover buffer is the longest of its items', paid once after the car
        leaves. A package brings its own price in place of its items' prices, whatever the class.
        """
        requested = [code.strip() for code in codes if code.strip()]
        if not requested:
            raise RuleViolation("no service given: name at least one service or package code")
        items: list[ServiceItem] = []
        package_code = None
        prices: list[tuple[str, int]] = []
        for code in requested:
            if code in self.packages:
                if package_code is not None:
                    raise RuleViolation(f"only one package per booking ({package_code}, {code})")
                package = self.packages[code]
                package_code = code
                prices.append((code, package.price_minor))
                items.extend(self.services[item].sized(size_class) for item in package.services)
            elif code in self.services:
                item = self.services[code].sized(size_class)
                items.append(item)
                prices.append((code, item.price_minor))
            else:
                raise NotFound(f"unknown service or package code {code!r}")
        codes_in_order = tuple(dict.fromkeys(item.code for item in items))
        if len(codes_in_order) != len(items):
            raise RuleViolation("a service is named twice (directly or inside the package)")
        legs = split_into_legs(
            [LegItem(item.code, item.duration_minutes, item.buffer_minutes, item.skill) for item in items],
            {bay.id: bay.services for bay in self.bays.values()},
            [t.skills for t in self.technicians.values()],
        )
        return WorkPlan(
            service_codes=codes_in_order,
            package_code=package_code,
            duration_minutes=sum(item.duration_minutes for item in items),
            skills=frozenset(item.skill for item in items if item.skill),
            price_minor=sum(price for _code, price in prices),
            legs=legs,
            size_class=size_class,
            item_prices=tuple(prices),
        )

    def bays_for(self, leg: LegPlan) -> list[Bay]:
        """The in-service bays that can do the leg."""
        return [self.bays[bay_id] for bay_id in leg.bay_ids if self.bays[bay_id].in_service]

    def technicians_for(self, leg: LegPlan) -> list[Technician]:
        """Technicians who alone have every skill the leg needs (none needed: empty list)."""
        if not leg.skills:
            return []
        return [t for t in self.technicians.values() if leg.skills <= t.skills]

    def technician(self, ref: str) -> Technician:
        """A technician by id, or by name (letter case ignored); NotFound names the station's
        technicians, InvalidInput a name two of them share."""
        key = ref.strip()
        if key in self.technicians:
            return self.technicians[key]
        named = [t for t in self.technicians.values() if t.name.casefold() == key.casefold()]
        if len(named) > 1:
            raise InvalidInput("technician", f"{ref!r} names {len(named)} technicians "
                                             f"({', '.join(t.id for t in named)}): give the id")
        if not named:
            known = ", ".join(f"{t.id} {t.name}" for t in self.technicians.values()) or "none configured"
            raise NotFound(f"no technician {ref!r} (technicians: {known})")
        return named[0]

    def kinds(self) -> dict[str, str]:
        """Each bay's kind, by bay id."""
        return {bay.id: bay.kind for bay in self.bays.values()}
