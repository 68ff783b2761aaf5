"""Service delivery rules: report input, next service due, ratings, offers when a booking cannot be served.

Next service due (the rule a report records):
    * due mileage = the odometer reading + the smallest `interval_km` of the services done;
    * date by interval = the completion date + the smallest `interval_days`;
    * date by mileage = the completion date + the days the car needs to drive that smallest
      `interval_km`, at its average daily distance between its oldest and newest readings
      (needs two readings on different days and a rising odometer; otherwise there is none);
    * due date = the earlier of the two dates (the one that exists, if only one does).
    A service with no interval (a wash) predicts nothing.

Offers when the station cannot serve a confirmed booking, in order:
    1. another bay (or, for an absent technician, another technician) at the same start;
    2. else the neighbouring stations, nearest first - a request HQ answers later, so the
       compensation coupon follows them in case HQ finds them full;
    3. else the compensation coupon.
    The customer may also choose to `wait` (keep the booking as it is).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from edge.domain.capacity import StartOption
from edge.domain.legs import LegFit
from edge.errors import RuleViolation

FEEDBACK_DELAY = timedelta(hours=24)
# a feedback request a week overdue is not worth sending any more
FEEDBACK_REQUEST_LAPSES_AFTER = timedelta(days=7)
LOWEST_RATING, HIGHEST_RATING = 1, 5
COMPLAINT_AT_OR_BELOW = 2
WAIT = "wait"


# -- the service report ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServiceReportInput:
    """What the technician reports; left out, the work done defaults to the services' names."""

    work_done: str = ""
    # parts used beyond the services' standard materials: (SKU, quantity)
    parts: tuple[tuple[str, int], ...] = ()
    findings: tuple[str, ...] = ()
    advice: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for sku, quantity in self.parts:
            if not sku.strip():
                raise RuleViolation("a part needs its SKU")
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
                raise RuleViolation(f"part {sku}: quantity must be a whole number of at least 1, got {quantity!r}")

    @property
    def is_empty(self) -> bool:
        return not (self.work_done.strip() or self.parts or self.findings or self.advice)


def parts_used(standard: Mapping[str, int], extra: Iterable[tuple[str, int]]) -> list[dict[str, Any]]:
    """The report's parts list: the services' standard materials, then the extra parts (same SKU added up)."""
    extras: dict[str, int] = {}
    for sku, quantity in extra:
        extras[sku] = extras.get(sku, 0) + quantity
    return [{"sku": sku, "quantity": q, "source": "standard"} for sku, q in standard.items()] + [
        {"sku": sku, "quantity": q, "source": "extra"} for sku, q in extras.items()
    ]


def check_mileage(plate: str, reading_km: int, recorded_km: int | None) -> int:
    """An odometer reading for `plate`; refused if negative or below the reading already recorded."""
    if isinstance(reading_km, bool) or not isinstance(reading_km, int) or reading_km < 0:
        raise RuleViolation(f"mileage of {plate} must be a whole number of km, got {reading_km!r}")
    if recorded_km is not None and reading_km < recorded_km:
        raise RuleViolation(f"mileage {reading_km} km for {plate} is below the {recorded_km} km already recorded")
    return reading_km


# -- next service ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MileageReading:
    day: date
    km: int


@dataclass(frozen=True, slots=True)
class NextService:
    due_date: date | None
    due_km: int | None
    date_by_interval: date | None
    date_by_mileage: date | None
    daily_km: float | None

    @property
    def basis(self) -> str:
        """Which rule set the due date: 'interval', 'mileage', or '' when there is no date."""
        if self.due_date is None:
            return ""
        return "interval" if self.due_date == self.date_by_interval else "mileage"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("due_date", "date_by_interval", "date_by_mileage"):
            data[key] = data[key].isoformat() if data[key] else None
        data["daily_km"] = None if self.daily_km is None else round(self.daily_km, 1)
        data["basis"] = self.basis
        return data


def daily_km(readings: Sequence[MileageReading]) -> float | None:
    """Average km driven per day between the oldest and the newest reading, if it can be told."""
    if len(readings) < 2:
        return None
    ordered = sorted(readings, key=lambda r: (r.day, r.km))
    first, last = ordered[0], ordered[-1]
    days = (last.day - first.day).days
    if days <= 0 or last.km <= first.km:
        return None
    return (last.km - first.km) / days


def predict_next_service(
    *,
    completed_on: date,
    mileage_km: int | None,
    interval_days: Iterable[int | None],
    interval_km: Iterable[int | None],
    readings: Sequence[MileageReading] = (),
) -> NextService | None:
    """When and at what mileage the car is due again (the rule is in this module's docstring).

    `readings` are the car's dated odometer readings, this visit's included.
    """
    days = min((d for d in interval_days if d), default=None)
    km = min((k for k in interval_km if k), default=None)
    if days is None and km is None:
        return None
    due_km = mileage_km + km if mileage_km is not None and km is not None else None
    by_interval = completed_on + timedelta(days=days) if days is not None else None
    average = daily_km(readings)
    by_mileage = None
    if due_km is not None and average is not None:
        by_mileage = completed_on + timedelta(days=math.ceil(km / average))
    due_date = min((d for d in (by_interval, by_mileage) if d is not None), default=None)
    if due_date is None and due_km is None:
        return None
    return NextService(due_date, due_km, by_interval, by_mileage, average)


# -- feedback -------------------------------------------------------------------


def feedback_due_at(completed_at: datetime) -> datetime:
    """The customer is asked for feedback a day after the car left."""
    return completed_at + FEEDBACK_DELAY


def check_rating(booking_code: str, rating: int) -> int:
    if isinstance(rating, bool) or not isinstance(rating, int) or not LOWEST_RATING <= rating <= HIGHEST_RATING:
        raise RuleViolation(
            f"rating for booking {booking_code} must be {LOWEST_RATING}-{HIGHEST_RATING}, got {rating!r}"
        )
    return rating


def raises_complaint(rating: int) -> bool:
    """A low rating opens a complaint for staff to follow up."""
    return rating <= COMPLAINT_AT_OR_BELOW


# -- when the station cannot serve ----------------------------------------------


class DisruptionCause(StrEnum):
    BAY_OUT_OF_SERVICE = "bay_out_of_service"
    TECHNICIAN_ABSENT = "technician_absent"


class OfferKind(StrEnum):
    OTHER_BAY = "other_bay"
    NEIGHBOUR = "neighbour"
    COUPON = "coupon"


@dataclass(frozen=True, slots=True)
class Neighbour:
    id: str
    name: str
    distance_km: float


@dataclass(frozen=True, slots=True)
class Placement:
    """A bay (and technician, if the work needs one) that can take a booking at its own start:
    its first leg's, when the work is in legs."""

    bay_id: str
    technician_id: str | None
    cells: tuple[datetime, ...]


@dataclass(frozen=True, slots=True)
class Offer:
    kind: OfferKind
    bay_id: str | None = None
    technician_id: str | None = None
    neighbour_id: str | None = None
    neighbour_name: str | None = None
    distance_km: float | None = None
    coupon_template: str | None = None

    @property
    def choice(self) -> str:
        """What the customer answers to take this offer."""
        return f"{self.kind}:{self.neighbour_id}" if self.kind == OfferKind.NEIGHBOUR else str(self.kind)

    def to_json(self) -> dict[str, Any]:
        data = {key: value for key, value in asdict(self).items() if value is not None}
        return {**data, "kind": str(self.kind), "choice": self.choice}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Offer:
        fields = {key: value for key, value in data.items() if key != "choice"}
        return cls(**{**fields, "kind": OfferKind(data["kind"])})


def same_time_placements(
    options: Iterable[StartOption],
    *,
    start: datetime,
    avoid_bay: str | None = None,
    avoid_technician: str | None = None,
    prefer_bay: str | None = None,
    prefer_technician: str | None = None,
) -> list[Placement]:
    """Free (bay, technician) pairs at exactly `start`, preferred bay first, in the options' bay order.

    An option in legs is left out when any of its legs is on `avoid_bay`, or needs a technician
    and has only `avoid_technician` free."""
    found = []
    for option in options:
        legs = option.legs or (LegFit(option.bay_id, option.cells, option.technician_ids),)
        if option.start != start or any(leg.bay_id == avoid_bay for leg in legs):
            continue
        if any(leg.technician_ids and set(leg.technician_ids) <= {avoid_technician} for leg in legs):
            continue  # the work needs a technician and the only free one is the absent one
        technicians = [t for t in option.technician_ids if t != avoid_technician]
        technician = prefer_technician if prefer_technician in technicians else next(iter(technicians), None)
        found.append(Placement(option.bay_id, technician, option.cells))
    return sorted(found, key=lambda p: p.bay_id != prefer_bay)


def disruption_offers(
    *, placements: Sequence[Placement], neighbours: Iterable[Neighbour], coupon_template: str | None
) -> tuple[Offer, ...]:
    """The offers for a booking the station cannot serve as planned, in the order of this module's docstring."""
    if placements:
        best = placements[0]
        return (Offer(OfferKind.OTHER_BAY, bay_id=best.bay_id, technician_id=best.technician_id),)
    offers = [
        Offer(OfferKind.NEIGHBOUR, neighbour_id=n.id, neighbour_name=n.name, distance_km=n.distance_km)
        for n in sorted(neighbours, key=lambda n: (n.distance_km, n.id))
    ]
    if coupon_template is not None:
        offers.append(Offer(OfferKind.COUPON, coupon_template=coupon_template))
    return tuple(offers)


def chosen_offer(booking_code: str, choice: str, offers: Sequence[Offer]) -> Offer | None:
    """The offer the customer chose (None for `wait`); a choice that was not offered is refused."""
    choice = choice.strip()
    if choice == WAIT:
        return None
    for offer in offers:
        if offer.choice == choice:
            return offer
    allowed = ", ".join([offer.choice for offer in offers] + [WAIT])
    raise RuleViolation(f"booking {booking_code}: {choice!r} was not offered (choose one of: {allowed})")
