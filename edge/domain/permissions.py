"""Who may do what at the station: staff roles, the actions that need a manager, and who acts.

Every service that moves money, stock, balances, credit or the roster asks `authorise`
before it writes; the terminal and the CLI only collect who is working and, for a
privileged action, a manager's PIN. So the rule is enforced once, whatever the entry point.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from edge.errors import PermissionDenied


class Role(StrEnum):
    ATTENDANT = "attendant"
    TECHNICIAN = "technician"
    MANAGER = "manager"


class Permission(StrEnum):
    """Actions only a manager may do, or authorise at someone else's terminal."""

    REFUND = "refund"
    PRICE_OVERRIDE = "price_override"
    BALANCE_ADJUST = "balance_adjust"  # points or prepaid adjusted by hand
    CREDIT_OVERRIDE = "credit_override"
    ROSTER_CHANGE = "roster_change"
    STOCK_ADJUST = "stock_adjust"
    WAIVE_PARTS = "waive_parts"  # extra parts on a service report not billed


MANAGER_ONLY: frozenset[Permission] = frozenset(Permission)


class ActorKind(StrEnum):
    STAFF = "staff"  # a person who said who they are (card or PIN)
    SYSTEM = "system"  # the daemon's jobs, sync from HQ, a command run without --operator


@dataclass(frozen=True, slots=True)
class Actor:
    """Who an action is recorded against."""

    id: str
    name: str
    kind: ActorKind = ActorKind.SYSTEM
    role: Role | None = None

    @property
    def is_manager(self) -> bool:
        return self.kind is ActorKind.STAFF and self.role is Role.MANAGER


# the actor of a process until someone says who is working
CLI = Actor("cli", "command line")
DAEMON = Actor("daemon", "station daemon")
HQ = Actor("hq", "headquarters")
# a terminal nobody is signed in at: it acts for no one until the next sign-in
LOCKED = Actor("locked", "locked terminal")


def may(actor: Actor, permission: Permission) -> bool:
    return permission not in MANAGER_ONLY or actor.is_manager


def authorise(actor: Actor, permission: Permission, manager: Actor | None = None) -> Actor:
    """The manager who answers for `permission` done by `actor`: the actor when a manager,
    else `manager` (whose PIN the caller has checked). Refused otherwise."""
    if may(actor, permission):
        return actor
    if manager is not None and manager.is_manager:
        return manager
    who = actor.name if actor.kind is ActorKind.STAFF else f"the {actor.name}"
    raise PermissionDenied(f"{permission.value.replace('_', ' ')} needs a manager; {who} is not one")
