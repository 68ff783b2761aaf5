"""Station configuration: the TOML file as validated, typed, frozen settings, and ConfigError."""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from annotated_types import Ge, Gt, Le, MinLen
from pydantic import AfterValidator, AllowInfNan, BaseModel, BeforeValidator, ConfigDict, Strict, ValidationError
from pydantic import field_validator, model_validator

from edge.domain.catalog import SERVICE_CATEGORIES, SizeTerms, terms_for
from edge.domain.legs import LegItem, LegRules, split_into_legs
from edge.domain.pins import is_pin_hash
from edge.domain.servable import RosteredTechnician, why_never_served
from edge.domain.slots import Cell, local_intervals, slot_grid
from edge.domain.walk_in_reserve import WalkInReserve
from edge.config_lines import LineMap, describe_value, key_string, plain_message, scan
from edge.errors import EdgeError

Problem = tuple[int | None, str, str]  # (line, dotted key, message)
RelLoc = tuple[str | int, ...]
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ConfigError(EdgeError):
    """A config problem, naming the file, the line and the key."""

    def __init__(self, path: str, line: int | None, key: str, message: str) -> None:
        self.path, self.line, self.key, self.message = str(path), line, key, message
        self.problems: list[Problem] = [(line, key, message)]
        super().__init__(_where(self.path, line, key, message))

    @classmethod
    def from_problems(cls, path: str, problems: Iterable[Problem]) -> ConfigError:
        """One error for all ``problems``: attributes describe the first, str() lists them all."""
        ordered = sorted(set(problems), key=lambda p: (p[0] is None, p[0] or 0, p[1], p[2]))
        err = cls(path, *ordered[0])
        if len(ordered) > 1:
            err.message = "\n".join(_where(err.path, *p) for p in ordered)
            err.problems, err.args = ordered, (err.message,)
        return err


def _where(path: str, line: int | None, key: str, message: str) -> str:
    return f"{path if line is None else f'{path}:{line}'}: {key}: {message}"


class _Located(ValueError):
    """Problems at key paths relative to the value a validator checks.

    pydantic keeps the raised exception in the error's ctx, so _problems can place each
    one at its exact key instead of at the model as a whole.
    """

    def __init__(self, problems: list[tuple[RelLoc, str]]) -> None:
        super().__init__("; ".join(message for _, message in problems))
        self.problems = problems


# -- scalar types ----------------------------------------------------------
# Strict everywhere: TOML has distinct types, so 30.0 for an integer or "3" for a number is a mistake.


def _rule(test: Callable[[Any], object], message: str) -> AfterValidator:
    """Refuse a value ``test`` rejects, with ``message`` (which may use {v!r})."""

    def check(value: Any) -> Any:
        if not test(value):
            raise ValueError(message.format(v=value))
        return value

    return AfterValidator(check)


def _kept_if(parse: Callable[[str], object]) -> AfterValidator:
    """Keep the text as written once ``parse`` (which raises ValueError) accepts it."""
    return AfterValidator(lambda text: (parse(text), text)[1])


def _is_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (KeyError, ValueError, OSError):  # not found is a KeyError; malformed keys raise ValueError
        return False
    return True


def _no_float_money(value: Any) -> Any:
    if isinstance(value, float):
        raise ValueError("money is integer minor units (e.g. 29900 for 299.00)")
    return value


def _date_only(value: Any) -> Any:
    # pydantic would read an integer as a Unix timestamp and accept a date-time at midnight.
    if isinstance(value, dt.datetime) or not isinstance(value, (dt.date, str)):
        raise ValueError(f"expected a date (YYYY-MM-DD), got {describe_value(value)}")
    return value


def clock_minute(text: str, *, allow_24: bool = False) -> int:
    """'HH:MM' -> minutes since local midnight; '24:00' (1440) only when ``allow_24``."""
    m = re.fullmatch(r"([0-9][0-9]):([0-5][0-9])", text)
    minute = int(m[1]) * 60 + int(m[2]) if m else -1
    if not 0 <= minute <= (1440 if allow_24 else 1439):
        raise ValueError(f"{text!r} is not a time of day HH:MM" + (" (or 24:00)" if allow_24 else ""))
    return minute


def parse_range(text: str) -> tuple[int, int]:
    """'HH:MM-HH:MM' -> (start, end) minutes since local midnight; the end may be 24:00 (1440)."""
    start_text, _, end_text = text.partition("-")
    try:
        start, end = clock_minute(start_text), clock_minute(end_text, allow_24=True)
    except ValueError:
        raise ValueError(f"{text!r} is not a time range HH:MM-HH:MM (the end may be 24:00)") from None
    if end <= start:
        raise ValueError(f"{text!r}: the end must be after the start")
    return start, end


Int = Annotated[int, Strict()]
NonNeg = Annotated[int, Strict(), Ge(0)]
Positive = Annotated[int, Strict(), Gt(0)]
Text = Annotated[str, Strict(), MinLen(1)]
_ID_RULE = "{v!r} must be 1-32 letters, digits, '_' or '-' (ids appear in MQTT topics)"
_ZONE_RULE = "unknown time zone {v!r} (use an IANA name, e.g. 'Asia/Shanghai')"
_CURRENCY_RULE = "{v!r} is not an ISO 4217 code (three capital letters, e.g. 'CNY')"
Id = Annotated[str, Strict(), _rule(re.compile(r"[A-Za-z0-9_-]{1,32}").fullmatch, _ID_RULE)]
Money = Annotated[int, BeforeValidator(_no_float_money), Strict(), Ge(0)]
TimeRange = Annotated[str, Strict(), _kept_if(parse_range)]
ClockTime = Annotated[str, Strict(), _kept_if(lambda text: clock_minute(text, allow_24=True))]
Share = Annotated[float, Strict(), Ge(0), Le(1), AllowInfNan(False)]  # a fraction, 0.0-1.0
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
ServiceCategory = Literal[SERVICE_CATEGORIES]  # type: ignore[valid-type]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- schedules -------------------------------------------------------------


class _WeekSchedule(_Frozen):
    """Per-weekday time ranges; a missing weekday or an empty list means none that day."""

    mon: tuple[TimeRange, ...] = ()
    tue: tuple[TimeRange, ...] = ()
    wed: tuple[TimeRange, ...] = ()
    thu: tuple[TimeRange, ...] = ()
    fri: tuple[TimeRange, ...] = ()
    sat: tuple[TimeRange, ...] = ()
    sun: tuple[TimeRange, ...] = ()

    @field_validator(*WEEKDAYS)
    @classmethod
    def _sorted_and_disjoint(cls, ranges: tuple[str, ...]) -> tuple[str, ...]:
        spans = [parse_range(r) for r in ranges]
        for i in range(1, len(spans)):
            if spans[i][0] < spans[i - 1][0]:
                raise _Located([((i,), f"{ranges[i]!r} starts before {ranges[i - 1]!r}; list ranges in time order")])
            if spans[i][0] < spans[i - 1][1]:
                raise _Located([((i,), f"{ranges[i]!r} overlaps {ranges[i - 1]!r}")])
        return ranges

    def weekly(self) -> dict[int, tuple[tuple[int, int], ...]]:
        """Weekday (0 = Monday) -> ((start_minute, end_minute), ...), minutes since local midnight."""
        return {i: tuple(parse_range(r) for r in getattr(self, day)) for i, day in enumerate(WEEKDAYS)}


class OpeningHours(_WeekSchedule):
    closed_dates: tuple[Annotated[dt.date, BeforeValidator(_date_only)], ...] = ()

    def spans_on(self, day: dt.date) -> tuple[tuple[int, int], ...]:
        """Open spans on a calendar date: none on a closed date, else that weekday's."""
        return () if day in self.closed_dates else self.weekly()[day.weekday()]


class WeeklyRoster(_WeekSchedule):
    """A technician's working hours per weekday."""


# -- sections --------------------------------------------------------------


class StationSettings(_Frozen):
    id: Id
    name: Text
    timezone: Annotated[str, Strict(), _rule(_is_zone, _ZONE_RULE)]
    currency: Annotated[str, Strict(), _rule(re.compile("[A-Z]{3}").fullmatch, _CURRENCY_RULE)]
    currency_minor_digits: Annotated[int, Strict(), Ge(0), Le(3)] = 2
    locale: Literal["zh_CN", "en"] = "zh_CN"
    slot_minutes: Annotated[int, Strict(), _rule(lambda v: v in (30, 60), "must be 30 or 60, got {v}")]
    hours: OpeningHours

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class BaySettings(_Frozen):
    id: Id
    name: Text
    kind: Text
    services: tuple[Text, ...] = ()


class SizeOverride(_Frozen):
    """A service's duration and price for one vehicle size class; what is left out stays the service's own."""

    duration_minutes: Annotated[int, Strict(), Gt(0), Le(720)] | None = None
    price: Money | None = None

    @model_validator(mode="after")
    def _says_something(self) -> SizeOverride:
        if self.duration_minutes is None and self.price is None:
            raise ValueError("give duration_minutes, price or both for the size class")
        return self


class ServiceSettings(_Frozen):
    code: Id
    name_zh: Text
    name_en: Text
    category: ServiceCategory
    duration_minutes: Annotated[int, Strict(), Gt(0), Le(720)]
    buffer_minutes: NonNeg = 0
    price: Money
    skill: Text | None = None
    bay_kinds: Annotated[tuple[Text, ...], MinLen(1)]
    materials: dict[Text, Positive] = {}
    interval_days: Positive | None = None
    interval_km: Positive | None = None
    # per vehicle size class (a [booking] size_classes name other than the first): its duration and price
    by_size: dict[Id, SizeOverride] = {}

    def size_terms(self) -> tuple[SizeTerms, ...]:
        """The service's duration and price for each size class that has its own, by class name."""
        return tuple(
            SizeTerms(name, override.duration_minutes or self.duration_minutes,
                      self.price if override.price is None else override.price)
            for name, override in sorted(self.by_size.items())
        )


class PackageSettings(_Frozen):
    code: Id
    name_zh: Text
    name_en: Text
    services: Annotated[tuple[Text, ...], MinLen(1)]
    price: Money


class MaterialSettings(_Frozen):
    """A stocked material (film roll, oil, filter, wash chemical) that services consume."""

    sku: Id
    name_zh: Text
    name_en: Text
    unit: Text
    reorder_level: NonNeg
    initial_stock: NonNeg = 0  # only used when the SKU is first created; later stock comes from movements
    price: Money | None = None  # retail price per unit (minor units); None = not sold over the counter


class TechnicianSettings(_Frozen):
    id: Id
    name: Text
    skills: tuple[Text, ...]
    card_id: Text | None = None
    roster: WeeklyRoster = WeeklyRoster()


class StaffSettings(_Frozen):
    """A person who signs in at the terminal: role, card at the clock-in reader, PIN (as its hash)."""

    id: Id
    name: Text
    role: Literal["attendant", "technician", "manager"]
    card_id: Text | None = None
    # made by `station-edge staff hash-pin`; the PIN itself is never stored
    pin_hash: Annotated[str, Strict(), _rule(is_pin_hash, "not a PIN hash: make one with `station-edge staff hash-pin`")]


class NeighbourSettings(_Frozen):
    id: Id
    name: Text
    distance_km: Annotated[float, Strict(), Ge(0), AllowInfNan(False)]


class TierSettings(_Frozen):
    name: Text
    horizon_days: NonNeg
    hold_minutes: NonNeg
    growth_threshold: NonNeg = 0
    discount_pct: Annotated[int, Strict(), Ge(0), Le(100)] = 0
    upgrade_reward: Id | None = None  # a [[coupon_templates]] id issued on reaching this tier


class CouponTemplateSettings(_Frozen):
    """A kind of coupon the station issues (upgrade rewards, compensation, staff gestures)."""

    id: Id
    kind: Literal["amount_off", "percent_off", "free_service"]
    value: NonNeg = 0  # minor units off (amount_off) or percent off (percent_off)
    service: Id | None = None  # the free service (free_service)
    min_spend_minor: Money = 0
    category: ServiceCategory | None = None
    min_tier: Text | None = None
    valid_days: Positive = 30

    @model_validator(mode="after")
    def _kind_needs(self) -> CouponTemplateSettings:
        if self.kind == "free_service" and self.service is None:
            raise _Located([(("service",), "a free_service coupon names its service")])
        if self.kind == "percent_off" and not 0 < self.value <= 100:
            raise _Located([(("value",), "a percent_off coupon takes 1-100 percent")])
        if self.kind == "amount_off" and self.value <= 0:
            raise _Located([(("value",), "an amount_off coupon takes a positive amount in minor units")])
        return self


class LoyaltySettings(_Frozen):
    points_per_step: NonNeg = 10  # points earned for every full step of money paid
    points_step_minor: Positive = 10_000  # the step, minor units (100.00)
    birthday_multiplier: Positive = 2
    points_valid_days: Positive = 365
    redeem_points_per_unit: Positive = 100  # this many points ...
    redeem_unit_minor: Positive = 100  # ... pay this much (minor units)
    growth_per_major_unit: NonNeg = 1
    growth_per_visit: NonNeg = 10
    tier_period_months: Annotated[int, Strict(), Gt(0), Le(36)] = 12
    low_balance_minor: Money = 5_000  # prepaid reminder when the balance falls below this
    points_expiry_reminder_days: Positive = 30  # remind this many days before earned points expire


DEFAULT_TIERS: tuple[TierSettings, ...] = (
    TierSettings(name="regular", horizon_days=3, hold_minutes=0, growth_threshold=0),
    TierSettings(name="silver", horizon_days=5, hold_minutes=15, growth_threshold=500),
    TierSettings(name="gold", horizon_days=7, hold_minutes=30, growth_threshold=2000),
    TierSettings(name="diamond", horizon_days=14, hold_minutes=60, growth_threshold=5000),
)


class HotWindow(_Frozen):
    days: Annotated[tuple[Weekday, ...], MinLen(1)]
    start: ClockTime
    end: ClockTime

    @model_validator(mode="after")
    def _end_after_start(self) -> HotWindow:
        if clock_minute(self.end, allow_24=True) <= clock_minute(self.start, allow_24=True):
            raise _Located([(("end",), f"{self.end!r} must be after start {self.start!r}")])
        return self

    def weekdays(self) -> tuple[int, ...]:
        return tuple(WEEKDAYS.index(d) for d in self.days)

    def span(self) -> tuple[int, int]:
        return clock_minute(self.start, allow_24=True), clock_minute(self.end, allow_24=True)


class HotSlotSettings(_Frozen):
    min_tier: Text
    release_hours_before: NonNeg = 24
    windows: tuple[HotWindow, ...] = ()

    def covers(self, weekday: int, minute: int) -> bool:
        """Whether local ``minute`` since midnight on ``weekday`` (0 = Monday) is in a hot window."""
        return any(weekday in w.weekdays() and w.span()[0] <= minute < w.span()[1] for w in self.windows)


class WalkInReserveSettings(_Frozen):
    # bay kind -> share (0.0-1.0) of that kind's cells of each day kept for walk-ins
    shares: dict[str, Share] = {}
    # how long before a reserved cell's start the phone and the app may book it too
    cutoff_minutes: NonNeg = 120


class BookingSettings(_Frozen):
    late_alert_minutes: NonNeg = 10
    no_show_minutes: NonNeg = 30
    # how long before its start a booking's car may check in (QR, plate, code alike)
    early_arrival_minutes: NonNeg = 120
    min_notice_minutes: NonNeg = 0
    # coupon template offered when the station cannot serve a confirmed booking
    compensation_coupon: Id | None = None
    waitlist_offer_minutes: Positive = 30
    guest_tier: Text = DEFAULT_TIERS[0].name  # Settings fills in its own first tier when absent
    # members' and fleet drivers' phones: mainland mobile numbers only, unless other countries' are allowed
    foreign_phones: Annotated[bool, Strict()] = False
    hot_slots: HotSlotSettings | None = None
    # a booking's legs (the lift, then the wash): how long a car may wait between two of them,
    # and the minutes it needs to cross from one kind of bay to another, e.g. "lift>wash" = 5
    leg_max_wait_minutes: NonNeg = 60
    transfer_minutes: dict[str, NonNeg] = {}
    walk_in_reserve: WalkInReserveSettings = WalkInReserveSettings()
    # vehicle size classes, the first the default for a car of unknown size; services may take
    # longer or cost more for the others ([[services]] by_size). None configured: every car alike.
    size_classes: tuple[Id, ...] = ()

    @model_validator(mode="after")
    def _no_show_after_late(self) -> BookingSettings:
        if self.no_show_minutes <= self.late_alert_minutes:
            raise _Located(
                [(("no_show_minutes",), f"must be more than late_alert_minutes ({self.late_alert_minutes})")]
            )
        return self


class CreditSettings(_Frozen):
    initial: Int = 100
    minimum: Int = 0
    no_show_penalty: NonNeg = 20
    late_cancel_penalty: NonNeg = 10
    completed_bonus: NonNeg = 2
    late_cancel_hours: NonNeg = 2
    # below these scores a member loses rights, in this order (a low credit score narrows booking rights)
    no_hold_below: Int = 80
    deposit_below: Int = 60
    same_day_only_below: Int = 40
    deposit_minor: Money = 5_000
    # share of a deposit kept on a no-show or a late cancellation; the rest is given back
    deposit_forfeit_pct: Annotated[int, Strict(), Ge(0), Le(100)] = 100

    @model_validator(mode="after")
    def _initial_above_minimum(self) -> CreditSettings:
        if self.initial < self.minimum:
            raise _Located([(("initial",), f"must be at least minimum ({self.minimum})")])
        if not self.no_hold_below >= self.deposit_below >= self.same_day_only_below:
            raise _Located([(("deposit_below",), "thresholds go no_hold_below >= deposit_below >= same_day_only_below")])
        return self


class TerminalSettings(_Frozen):
    """The forecourt terminal: how long it may sit untouched before it locks."""

    lock_after_seconds: Positive = 300


class DeviceSettings(_Frozen):
    """One piece of bay hardware: a driver from drivers.registry and its options."""

    id: Id
    driver: Text  # e.g. qr_serial, qr_camera, anpr, clock_in, occupancy_modbus, sim_qr ...
    role: Literal["entrance", "bay"] = "entrance"  # where a scan or a plate read happens
    bay: Id | None = None  # the bay of a bay reader
    options: dict[str, Any] = {}


class SecuritySettings(_Frozen):
    # signs the booking QR tokens; HQ holds the same key to issue tokens for app bookings
    token_key: Annotated[str, Strict(), MinLen(16)] | None = None


class SyncSettings(_Frozen):
    """The MQTT link to HQ (docs/protocol.md); relative file paths are from the data directory."""

    enabled: Annotated[bool, Strict()] = True
    broker_host: Text
    broker_port: Annotated[int, Strict(), Ge(1), Le(65535)] = 8883
    ca_file: Text | None = None  # TLS is on when a CA file is given
    cert_file: Text | None = None
    key_file: Text | None = None
    username: Text | None = None
    password: Text | None = None
    signing_key: Text  # this station's Ed25519 key, {kid}.key (`station-edge keys generate`)
    hq_keys: Text  # directory of HQ's public keys (*.pub) that sign the downlink
    # the link's tuning (docs/protocol.md, "A slow link"): the defaults suit a good link and adapt
    # to a 4G-class one; on a poor link raise keepalive_s (e.g. 60) and lower batch_max_bytes
    keepalive_s: Annotated[int, Strict(), Ge(5), Le(3600)] = 30
    batch_max_bytes: Annotated[int, Strict(), Ge(1024)] = 65536
    batch_max_events: Positive = 500
    window_messages: Positive = 8
    window_max_bytes: Annotated[int, Strict(), Ge(4096)] = 524288
    bulk_ahead_s: Positive = 2  # how long bulk data may stand ahead of acks and keepalives
    ack_timeout_s: Positive = 10  # on an idle link; the bytes ahead of a batch add their crossing time
    max_clock_ahead_s: Positive = 3600


class EscrowSettings(_Frozen):
    """How the station's (bay, slot) cells are split with HQ (slot escrow, docs/protocol.md)."""

    hq_share: Share = 0.0  # 0: the station owns every cell
    block_minutes: Positive = 120  # HQ's cells come in runs of this length


class PathSettings(_Frozen):
    data_dir: Text | None = None


class Settings(_Frozen):
    station: StationSettings
    bays: Annotated[tuple[BaySettings, ...], MinLen(1)]
    services: Annotated[tuple[ServiceSettings, ...], MinLen(1)]
    packages: tuple[PackageSettings, ...] = ()
    materials: tuple[MaterialSettings, ...] = ()
    technicians: tuple[TechnicianSettings, ...] = ()
    staff: tuple[StaffSettings, ...] = ()
    neighbours: tuple[NeighbourSettings, ...] = ()
    tiers: Annotated[tuple[TierSettings, ...], MinLen(1)] = DEFAULT_TIERS
    booking: BookingSettings = BookingSettings()
    credit: CreditSettings = CreditSettings()
    loyalty: LoyaltySettings = LoyaltySettings()
    devices: tuple[DeviceSettings, ...] = ()
    security: SecuritySettings = SecuritySettings()
    terminal: TerminalSettings = TerminalSettings()
    coupon_templates: tuple[CouponTemplateSettings, ...] = ()
    escrow: EscrowSettings = EscrowSettings()
    sync: SyncSettings | None = None
    paths: PathSettings = PathSettings()

    @model_validator(mode="before")
    @classmethod
    def _default_guest_tier(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        booking = data.get("booking", {})
        if not isinstance(booking, dict) or "guest_tier" in booking:
            return data
        tiers = data.get("tiers")
        first = DEFAULT_TIERS[0].name
        if isinstance(tiers, list) and tiers and isinstance(tiers[0], dict) and isinstance(tiers[0].get("name"), str):
            first = tiers[0]["name"]
        return {**data, "booking": {**booking, "guest_tier": first}}

    @model_validator(mode="after")
    def _cross_check(self) -> Settings:
        problems = list(_cross_problems(self))
        if problems:
            raise _Located(problems)
        return self

    # -- lookups (pure; unknown names raise ValueError naming them) --------

    def tier(self, name: str) -> TierSettings:
        return self.tiers[self.tier_rank(name)]

    def tier_rank(self, name: str) -> int:
        """Index in ``tiers`` (0 = lowest)."""
        for i, tier in enumerate(self.tiers):
            if tier.name == name:
                return i
        raise ValueError(f"unknown tier {name!r} (configured: {', '.join(t.name for t in self.tiers)})")

    def service(self, code: str) -> ServiceSettings:
        return _find(self.services, "code", code, "service")

    def package(self, code: str) -> PackageSettings:
        return _find(self.packages, "code", code, "package")

    def bay(self, bay_id: str) -> BaySettings:
        return _find(self.bays, "id", bay_id, "bay")

    def material(self, sku: str) -> MaterialSettings:
        return _find(self.materials, "sku", sku, "material")

    def coupon_template(self, template_id: str) -> CouponTemplateSettings:
        return _find(self.coupon_templates, "id", template_id, "coupon template")

    def technician(self, tech_id: str) -> TechnicianSettings:
        return _find(self.technicians, "id", tech_id, "technician")

    def bay_can_do(self, bay: BaySettings, service: ServiceSettings) -> bool:
        """The bay's kind must suit the service; a non-empty ``services`` list narrows it further."""
        return bay.kind in service.bay_kinds and (not bay.services or service.code in bay.services)

    def bays_for(self, code: str) -> tuple[BaySettings, ...]:
        service = self.service(code)
        return tuple(b for b in self.bays if self.bay_can_do(b, service))

    def bay_services(self, bay_id: str) -> tuple[ServiceSettings, ...]:
        bay = self.bay(bay_id)
        return tuple(s for s in self.services if self.bay_can_do(bay, s))


def _find(items: tuple[Any, ...], attr: str, value: str, what: str) -> Any:
    for item in items:
        if getattr(item, attr) == value:
            return item
    raise ValueError(f"unknown {what} {value!r}")


def _duplicates(items: tuple[Any, ...], section: str, attr: str) -> Iterator[tuple[RelLoc, str]]:
    first: dict[Any, int] = {}
    for i, item in enumerate(items):
        value = getattr(item, attr)
        if value is not None and first.setdefault(value, i) != i:
            yield (section, i, attr), f"{value!r} is already used by {section}[{first[value]}]"


def _cross_problems(s: Settings) -> Iterator[tuple[RelLoc, str]]:
    for section, attr in (("bays", "id"), ("services", "code"), ("packages", "code"), ("materials", "sku"),
                          ("technicians", "id"), ("technicians", "card_id"), ("staff", "id"),
                          ("staff", "card_id"), ("neighbours", "id"),
                          ("tiers", "name"), ("coupon_templates", "id"), ("devices", "id")):  # fmt: skip
        yield from _duplicates(getattr(s, section), section, attr)
    by_code = {svc.code: svc for svc in s.services}
    skus = {m.sku for m in s.materials}
    for i, bay in enumerate(s.bays):
        for j, code in enumerate(bay.services):
            if code not in by_code:
                yield ("bays", i, "services", j), f"unknown service code {code!r}"
            elif bay.kind not in by_code[code].bay_kinds:
                kinds = ", ".join(repr(k) for k in by_code[code].bay_kinds)
                yield ("bays", i, "services", j), f"{code!r} needs a bay of kind {kinds}, not {bay.kind!r}"
    for i, svc in enumerate(s.services):
        if not any(s.bay_can_do(bay, svc) for bay in s.bays):
            kinds = ", ".join(repr(k) for k in svc.bay_kinds)
            yield ("services", i, "bay_kinds"), f"no bay can do {svc.code!r} (no bay of kind {kinds} takes it)"
        for sku in svc.materials:
            if sku not in skus:
                yield ("services", i, "materials", sku), f"unknown material {sku!r} (add a [[materials]] entry for it)"
    for i, pkg in enumerate(s.packages):
        if pkg.code in by_code:
            yield ("packages", i, "code"), f"{pkg.code!r} is already a service code"
        for j, code in enumerate(pkg.services):
            if code not in by_code:
                yield ("packages", i, "services", j), f"unknown service code {code!r}"
    kinds = {b.kind for b in s.bays}
    for pair in s.booking.transfer_minutes:
        ends = pair.split(">")
        if len(ends) != 2 or not set(ends) <= kinds:
            yield ("booking", "transfer_minutes", pair), (
                f"a key is FROM>TO, two bay kinds ({', '.join(sorted(kinds))}), not {pair!r}")
    for kind in s.booking.walk_in_reserve.shares:
        if kind not in kinds:
            yield ("booking", "walk_in_reserve", "shares", kind), (
                f"no bay of kind {kind!r} (bay kinds: {', '.join(sorted(kinds))})")
    yield from _size_problems(s)
    for i, pkg in enumerate(s.packages):
        if all(code in by_code for code in pkg.services):
            for size_class in (None, *s.booking.size_classes[1:]):
                why = _why_never_served(s, pkg.services, size_class)
                if why is not None:
                    car = f" for a car of size {size_class!r}" if size_class else ""
                    yield ("packages", i, "services"), f"package {pkg.code} can never be booked{car}: {why}"
                    break
    for i in range(1, len(s.tiers)):
        if s.tiers[i].growth_threshold < s.tiers[i - 1].growth_threshold:
            yield ("tiers", i, "growth_threshold"), (
                f"must not be below the previous tier's ({s.tiers[i - 1].growth_threshold}); tiers go lowest first"
            )
    names = [t.name for t in s.tiers]
    known = ", ".join(repr(n) for n in names)
    if s.booking.guest_tier not in names:
        yield ("booking", "guest_tier"), f"unknown tier {s.booking.guest_tier!r} (tiers: {known})"
    hot = s.booking.hot_slots
    if hot is not None and hot.min_tier not in names:
        yield ("booking", "hot_slots", "min_tier"), f"unknown tier {hot.min_tier!r} (tiers: {known})"
    bay_ids = {b.id for b in s.bays}
    for i, device in enumerate(s.devices):
        if device.role == "bay" and device.bay not in bay_ids:
            yield ("devices", i, "bay"), f"a bay reader names one of the bays ({', '.join(sorted(bay_ids))})"
    if s.escrow.block_minutes % s.station.slot_minutes:
        yield ("escrow", "block_minutes"), f"must be a whole number of slots ({s.station.slot_minutes} minutes)"
    templates = {t.id for t in s.coupon_templates}
    if s.booking.compensation_coupon is not None and s.booking.compensation_coupon not in templates:
        yield ("booking", "compensation_coupon"), f"unknown coupon template {s.booking.compensation_coupon!r}"
    for i, tier in enumerate(s.tiers):
        if tier.upgrade_reward is not None and tier.upgrade_reward not in templates:
            yield ("tiers", i, "upgrade_reward"), f"unknown coupon template {tier.upgrade_reward!r}"
    for i, template in enumerate(s.coupon_templates):
        if template.service is not None and template.service not in by_code:
            yield ("coupon_templates", i, "service"), f"unknown service code {template.service!r}"
        if template.min_tier is not None and template.min_tier not in names:
            yield ("coupon_templates", i, "min_tier"), f"unknown tier {template.min_tier!r} (tiers: {known})"


def _size_problems(s: Settings) -> Iterator[tuple[RelLoc, str]]:
    classes = s.booking.size_classes
    for j, name in enumerate(classes):
        if classes.index(name) != j:
            yield ("booking", "size_classes", j), f"{name!r} is listed twice"
    known = ", ".join(repr(c) for c in classes) or "none: add [booking] size_classes"
    for i, svc in enumerate(s.services):
        for name in svc.by_size:
            if name not in classes:
                yield ("services", i, "by_size", name), f"unknown size class {name!r} (size classes: {known})"
            elif name == classes[0]:
                yield ("services", i, "by_size", name), (
                    f"{name!r} is the default size class: the service's own duration_minutes and price are its")


def _sized_minutes(service: ServiceSettings, size_class: str | None) -> int:
    terms = terms_for(service.size_terms(), size_class)
    return service.duration_minutes if terms is None else terms.duration_minutes


# a week to try packages on (any week serves: the check is by weekday, holidays aside)
_SAMPLE_MONDAY = dt.date(2026, 1, 5)


def walk_in_reserve(booking: BookingSettings) -> WalkInReserve:
    """The walk-in reserve, from the [booking.walk_in_reserve] settings."""
    reserve = booking.walk_in_reserve
    return WalkInReserve(shares=dict(reserve.shares), cutoff_minutes=reserve.cutoff_minutes)


def leg_rules(booking: BookingSettings) -> LegRules:
    """How a booking's legs follow each other, from the [booking] settings."""
    transfer = {tuple(pair.split(">", 1)): minutes for pair, minutes in booking.transfer_minutes.items()}
    return LegRules(transfer_minutes=transfer, max_wait_minutes=booking.leg_max_wait_minutes)  # type: ignore[arg-type]


def _why_never_served(s: Settings, codes: Iterable[str], size_class: str | None) -> str | None:
    """Why the services `codes` (a package's) could never be booked for a car of `size_class` on
    any weekday, or None."""
    items = [s.service(code) for code in codes]
    legs = split_into_legs(
        [LegItem(i.code, _sized_minutes(i, size_class), i.buffer_minutes, i.skill) for i in items],
        {b.id: frozenset(svc.code for svc in s.services if s.bay_can_do(b, svc)) for b in s.bays},
        [frozenset(t.skills) for t in s.technicians],
    )
    return why_never_served(legs, _sample_week(s), slot_minutes=s.station.slot_minutes, rules=leg_rules(s.booking),
                            kinds={b.id: b.kind for b in s.bays})


def _sample_week(s: Settings) -> Iterator[tuple[tuple[Cell, ...], list[RosteredTechnician]]]:
    """Each weekday's slot grid and rostered technicians, built as the check asks for them: a
    package that fits on Monday never builds the rest of the week (the check runs at every start)."""
    tz, hours = s.station.tz, s.station.hours.weekly()
    for offset in range(7):
        day = _SAMPLE_MONDAY + dt.timedelta(days=offset)
        yield (slot_grid(day, hours, frozenset(), tz, s.station.slot_minutes),
               [RosteredTechnician(frozenset(t.skills), local_intervals(day, t.roster.weekly().get(offset, ()), tz))
                for t in s.technicians])


# -- loading and error translation -----------------------------------------


def load_settings(path: str | os.PathLike[str]) -> Settings:
    """Read, parse and validate the config file; a relative ``paths.data_dir`` is taken from its directory."""
    source = os.fspath(path)
    try:
        text = Path(source).read_text(encoding="utf-8-sig")  # -sig: tolerate a BOM from Windows editors
    except OSError as exc:
        raise ConfigError(source, None, "<file>", f"cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(source, None, "<file>", f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    settings = parse_settings(text, source=source)
    data_dir = settings.paths.data_dir
    if data_dir is not None and not os.path.isabs(data_dir):
        # Absolute now, so a later chdir (e.g. by a service manager) cannot move the data.
        base = os.path.dirname(os.path.abspath(source))
        paths = settings.paths.model_copy(update={"data_dir": os.path.normpath(os.path.join(base, data_dir))})
        settings = settings.model_copy(update={"paths": paths})
    return settings


def parse_settings(text: str, *, source: str = "<config>") -> Settings:
    """Parse and validate config ``text``; ``source`` names it in errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _syntax_error(source, text, exc) from exc
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError.from_problems(source, _problems(exc, scan(text))) from exc


def _syntax_error(source: str, text: str, exc: tomllib.TOMLDecodeError) -> ConfigError:
    message, line = str(exc), getattr(exc, "lineno", None)  # lineno exists from Python 3.14
    if m := re.search(r"\s*\(at line (\d+), column (\d+)\)$", message):
        line = line or int(m[1])
        message = f"{message[: m.start()]} (column {m[2]})"
    elif message.endswith(" (at end of document)"):
        line = line or text.count("\n") + (0 if text.endswith("\n") else 1)
        message = message.removesuffix(" (at end of document)") + " (at the end of the file)"
    return ConfigError(source, line, "<syntax>", message)


def _problems(exc: ValidationError, lines: LineMap) -> list[Problem]:
    problems: list[Problem] = []
    for err in exc.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if p != "[key]")  # "[key]" marks a bad dict key, e.g. a material SKU
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, _Located):
            located = [(loc + rel, message) for rel, message in cause.problems]
        else:
            located = [(loc, plain_message(err, loc))]
        problems += [(lines.line_for(at), key_string(at), message) for at, message in located]
    return problems
