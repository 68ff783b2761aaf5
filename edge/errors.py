"""The station's exception tree; every error names the thing it is about.

    EdgeError
    ├── ConfigError          (edge.config: file, line, key)
    ├── StoreError           the database could not be opened, migrated or written
    ├── InvalidInput         a value typed by a person is malformed (names the field)
    ├── PermissionDenied     the action needs a manager (or a signed-in operator)
    └── BookingError         a booking request the rules refuse
        ├── NotFound         no such booking, member, service, bay ...
        ├── SlotTaken        a cell of the requested bay/time is already claimed
        ├── RuleViolation    a tier, horizon, hours or capacity rule refuses it
        └── InvalidTransition  the booking's state does not allow the action
"""

from __future__ import annotations


class EdgeError(Exception):
    """Base of every error station-edge raises on purpose."""


class StoreError(EdgeError):
    """The station database could not be opened, migrated or written."""


class InvalidInput(EdgeError):
    """A value a person typed (plate, phone, amount, channel, stage ...) is malformed.

    `field` is the input's name as the caller knows it ("plate", "phone", "amount"): the CLI
    reports it as the argument `--plate` with exit code 2, the terminal next to that field.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class PermissionDenied(EdgeError):
    """The action needs a role the operator does not have, and no manager authorised it."""


class BookingError(EdgeError):
    """A booking request that the station refuses."""


class NotFound(BookingError):
    """The named booking, member, service, bay or waitlist entry does not exist."""


class SlotTaken(BookingError):
    """A cell of the requested bay and time is already claimed by another booking."""

    def __init__(self, message: str, *, bay_id: str, slot_start: str) -> None:
        super().__init__(message)
        self.bay_id = bay_id
        self.slot_start = slot_start


class RuleViolation(BookingError):
    """A booking rule (hours, horizon, tier, capacity, skills) refuses the request."""


class InvalidTransition(BookingError):
    """The booking's current state does not allow the requested action."""
