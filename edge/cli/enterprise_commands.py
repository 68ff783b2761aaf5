"""`station-edge fleet ...`: the station's copy of HQ's enterprise accounts, and fleet bookings."""

from __future__ import annotations

import argparse
from dataclasses import replace

from edge.cli import arguments, fleet_commands
from edge.cli.output import emit_json, table
from edge.domain.enterprise import (
    ANY_CATEGORY,
    ApprovalRule,
    EnterpriseAccount,
    FleetPackage,
    Permission,
    SubAccount,
)
from edge.domain.ids import short_code
from edge.domain.money import parse_money
from edge.errors import NotFound, RuleViolation
from edge.services import bookings, enterprise, enterprise_bookings
from edge.services.station import Station
from edge.cli.session import open_station


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add `fleet` (enterprise accounts, fleet bookings, approvals, statements) to the station-edge parser."""
    p = sub.add_parser("fleet", help="enterprise (fleet) accounts: sub-accounts, vehicles, packages, rules, "
                                     "bookings, approvals, statements")
    e_sub = p.add_subparsers(dest="fleet_command", required=True, metavar="ACTION")

    q = e_sub.add_parser("add", parents=[common], help="add a company account (the station's copy of HQ's)")
    q.add_argument("--id", required=True, help="the enterprise id HQ uses")
    q.add_argument("--name", required=True, help="company name")
    q.add_argument("--tax-id", required=True, help="unified social credit code / tax id")
    q.add_argument("--credit-limit", required=True, type=arguments.amount, help="credit limit, e.g. 50000.00")
    q.add_argument("--verified", action="store_true", help="its documents have been checked (else it cannot be used)")
    q.add_argument("--approval-hours", type=arguments.positive, default=24, help="approval deadline (default 24)")
    q.set_defaults(handler=_add)

    q = e_sub.add_parser("update", parents=[common], help="change a company account")
    q.add_argument("id", help="enterprise id")
    q.add_argument("--name")
    q.add_argument("--tax-id")
    q.add_argument("--credit-limit", type=arguments.amount, help="e.g. 80000.00")
    q.add_argument("--verified", action=argparse.BooleanOptionalAction, help="verified or not (--no-verified)")
    q.add_argument("--approval-hours", type=arguments.positive)
    q.add_argument("--active", action=argparse.BooleanOptionalAction, help="open or closed (--no-active)")
    q.set_defaults(handler=_update)

    q = e_sub.add_parser("list", parents=[common], help="company accounts")
    q.set_defaults(handler=_list)
    q = e_sub.add_parser("show", parents=[common], help="an account with its sub-accounts, vehicles, packages, rules")
    q.add_argument("id", help="enterprise id")
    q.set_defaults(handler=_show)

    q = e_sub.add_parser("subaccount", help="drivers and employees acting for a company")
    s_sub = q.add_subparsers(dest="subaccount_command", required=True, metavar="ACTION")
    r = s_sub.add_parser("add", parents=[common], help="add or replace a sub-account (by phone)")
    r.add_argument("--enterprise", required=True)
    r.add_argument("--phone", required=True)
    r.add_argument("--name", default="")
    r.add_argument("--role", required=True, help="e.g. driver, dept_head, finance")
    r.add_argument("--monthly-limit", type=arguments.amount, help="spending limit per month, e.g. 2000.00 (default: none)")
    r.add_argument("--permission", action="append", choices=list(Permission), default=[],
                   help="book, pay or approve (repeatable)")
    r.set_defaults(handler=_sub_add)
    r = s_sub.add_parser("remove", parents=[common], help="disable a sub-account")
    r.add_argument("--enterprise", required=True)
    r.add_argument("--phone", required=True)
    r.set_defaults(handler=_sub_remove)

    q = e_sub.add_parser("vehicle", help="the company's fleet")
    v_sub = q.add_subparsers(dest="vehicle_command", required=True, metavar="ACTION")
    for name, active, text in (("add", True, "put a plate in the fleet"), ("remove", False, "take a plate out")):
        r = v_sub.add_parser(name, parents=[common], help=text)
        r.add_argument("--enterprise", required=True)
        r.add_argument("--plate", required=True, help="licence plate (mainland format unless --foreign)")
        r.add_argument("--foreign", action="store_true", help=arguments.FOREIGN_PLATE_HELP)
        r.set_defaults(handler=_vehicle, active=active)

    q = e_sub.add_parser("package", help="packages agreed with a company")
    k_sub = q.add_subparsers(dest="package_command", required=True, metavar="ACTION")
    r = k_sub.add_parser("add", parents=[common], help="add or replace a package")
    r.add_argument("--enterprise", required=True)
    r.add_argument("--code", required=True, help="its own code (not a catalogue code)")
    r.add_argument("--name", default="")
    r.add_argument("--services", type=arguments.codes, required=True, help="service codes, comma-separated")
    r.add_argument("--price", required=True, type=arguments.amount, help="agreed price, e.g. 250.00")
    often = r.add_mutually_exclusive_group()
    for period in ("month", "quarter", "year"):
        often.add_argument(f"--per-{period}", type=arguments.positive, metavar="N",
                           help=f"at most N per vehicle per calendar {period}")
    r.set_defaults(handler=_package_add)
    r = k_sub.add_parser("remove", parents=[common], help="withdraw a package")
    r.add_argument("--enterprise", required=True)
    r.add_argument("--code", required=True)
    r.set_defaults(handler=_package_remove)

    q = e_sub.add_parser("rule", help="approval rules (several matching rules: every role approves)")
    u_sub = q.add_subparsers(dest="rule_command", required=True, metavar="ACTION")
    r = u_sub.add_parser("add", parents=[common], help="bookings of CATEGORY above AMOUNT need ROLE's approval")
    r.add_argument("--enterprise", required=True)
    r.add_argument("--id", help="rule id (default: a new one; an existing id replaces that rule)")
    r.add_argument("--category", default=ANY_CATEGORY, help="service category, or * for any (default)")
    r.add_argument("--above", default="0", type=arguments.amount, help="amounts strictly above this, e.g. 500.00 (default 0)")
    r.add_argument("--approver-role", required=True)
    r.add_argument("--expiry-hours", type=arguments.positive, help="deadline (default: the account's)")
    r.set_defaults(handler=_rule_add)
    r = u_sub.add_parser("remove", parents=[common], help="switch a rule off")
    r.add_argument("--enterprise", required=True)
    r.add_argument("--id", required=True)
    r.set_defaults(handler=_rule_remove)

    q = e_sub.add_parser("book", parents=[common], help="book for a fleet vehicle on the company's account")
    q.add_argument("--enterprise", required=True)
    q.add_argument("--phone", required=True, help="the booking sub-account's phone")
    q.add_argument("--start", type=arguments.instant, required=True, help="start, ISO 8601 (no offset = local time)")
    q.add_argument("--services", type=arguments.codes, required=True, help="service codes or one enterprise package")
    q.add_argument("--plate", required=True, help="licence plate (mainland format unless --foreign)")
    q.add_argument("--foreign", action="store_true", help=arguments.FOREIGN_PLATE_HELP)
    q.add_argument("--allow-overlap", action="store_true",
                   help="book even if this car has another live booking at that time (recorded on the booking)")
    q.add_argument("--bay", help="bay id (default: the first free able bay)")
    q.add_argument("--channel", default="terminal", choices=bookings.CHANNELS, help="%(choices)s")
    q.add_argument("--notes", default="")
    q.set_defaults(handler=_book)

    fleet_commands.register_fleet(e_sub, common)


def _minor(station: Station, text: str | None, field: str) -> int | None:
    return None if text is None else parse_money(text, station.settings.station.currency_minor_digits, field=field)


def _write(station: Station, change) -> object:
    """Run one upsert in a write transaction; returns what it returns."""
    with station.store.write() as conn:
        return change(conn, station.clock())


# -- accounts ------------------------------------------------------------------------


def _add(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    account = EnterpriseAccount(id=args.id.strip(), name=args.name, tax_id=args.tax_id.strip().upper(),
                                credit_limit_minor=_minor(station, args.credit_limit, "credit_limit"), verified=args.verified,
                                approval_hours=args.approval_hours)

    def change(conn, now):
        if enterprise.find_account(conn, account.id) is not None:
            raise RuleViolation(f"enterprise {account.id} exists already (use `fleet update`)")
        return enterprise.upsert_account(conn, station, account, now=now)

    _print_account(args, station, _write(station, change))


def _update(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    changes = {key: value for key, value in {
        "name": args.name, "tax_id": args.tax_id and args.tax_id.strip().upper(),
        "credit_limit_minor": _minor(station, args.credit_limit, "credit_limit"), "verified": args.verified,
        "approval_hours": args.approval_hours, "active": args.active,
    }.items() if value is not None}

    def change(conn, now):
        return enterprise.upsert_account(conn, station, replace(enterprise.get_account(conn, args.id), **changes),
                                         now=now)

    _print_account(args, station, _write(station, change))


def _print_account(args: argparse.Namespace, station: Station, account: EnterpriseAccount) -> None:
    if args.json:
        emit_json(enterprise.as_json(account))
        return
    state = ("verified" if account.verified else "NOT verified") + ("" if account.active else ", closed")
    print(f"enterprise {account.id} {account.name} ({state}), credit limit {station.money(account.credit_limit_minor)}")


def _list(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    with station.store.read() as conn:
        rows = [(a, enterprise.outstanding_minor(conn, a.id)) for a in enterprise.accounts(conn)]
    if args.json:
        emit_json([{**enterprise.as_json(a), "outstanding_minor": owed} for a, owed in rows])
        return
    print(table(("id", "name", "tax id", "verified", "credit limit", "outstanding", "active"),
                [(a.id, a.name, a.tax_id, "yes" if a.verified else "no", station.money(a.credit_limit_minor),
                  station.money(owed), "yes" if a.active else "no") for a, owed in rows]))


def _show(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    found = enterprise.profile(station, args.id)
    if args.json:
        emit_json(found.to_json())
        return
    _print_account(args, station, found.account)
    print(f"outstanding {station.money(found.outstanding_minor)};"
          f" approvals expire after {found.account.approval_hours} h")
    money = lambda minor: "-" if minor is None else station.money(minor)  # noqa: E731
    print(table(("phone", "name", "role", "permissions", "monthly limit", "active"),
                [(s.phone, s.name, s.role, ",".join(sorted(s.permissions)), money(s.monthly_limit_minor),
                  "yes" if s.active else "no") for s in found.sub_accounts]))
    print("vehicles: " + (" ".join(found.plates) or "none"))
    if found.packages:
        print(table(("package", "name", "services", "price", "uses", "active"),
                    [(k.code, k.name, "+".join(k.services), station.money(k.price_minor),
                      f"{k.max_uses}/{k.period}" if k.max_uses else "any", "yes" if k.active else "no")
                     for k in found.packages]))
    if found.rules:
        print(table(("rule", "category", "above", "approver", "expiry h", "active"),
                    [(r.id, r.category, station.money(r.above_minor), r.approver_role, r.expiry_hours or "-",
                      "yes" if r.active else "no") for r in found.rules]))


# -- sub-accounts, vehicles, packages, rules -----------------------------------------


def _sub_add(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    sub = _write(station, lambda conn, now: enterprise.upsert_sub_account(
        conn, station, enterprise_id=args.enterprise, phone=args.phone, name=args.name, role=args.role,
        permissions=frozenset(args.permission), monthly_limit_minor=_minor(station, args.monthly_limit, "monthly_limit"), now=now))
    _print_sub(args, sub)


def _sub_remove(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)

    def change(conn, now):
        old = enterprise.sub_account_by_phone(conn, args.enterprise, args.phone)
        return enterprise.upsert_sub_account(
            conn, station, enterprise_id=old.enterprise_id, phone=old.phone, name=old.name, role=old.role,
            permissions=old.permissions, monthly_limit_minor=old.monthly_limit_minor, active=False, now=now)

    _print_sub(args, _write(station, change))


def _print_sub(args: argparse.Namespace, sub: SubAccount) -> None:
    if args.json:
        emit_json(enterprise.as_json(sub))
    else:
        may = ",".join(sorted(sub.permissions)) or "nothing"
        state = "" if sub.active else " (disabled)"
        print(f"sub-account {sub.phone} of {sub.enterprise_id}: {sub.role}, may {may}{state}")


def _vehicle(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    plate = _write(station, lambda conn, now: enterprise.upsert_vehicle(
        conn, station, enterprise_id=args.enterprise, plate=args.plate, active=args.active, now=now,
        foreign_plate=args.foreign))
    if args.json:
        emit_json({"enterprise_id": args.enterprise, "plate": plate, "active": args.active})
    else:
        print(f"{plate} {'in' if args.active else 'out of'} the fleet of {args.enterprise}")


def _package_add(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    period, uses = next(((p, getattr(args, f"per_{p}")) for p in ("month", "quarter", "year")
                         if getattr(args, f"per_{p}") is not None), ("year", None))
    package = FleetPackage(enterprise_id=args.enterprise, code=args.code.strip(), name=args.name,
                           services=tuple(args.services), price_minor=_minor(station, args.price, "price"), max_uses=uses,
                           period=period)
    _print_package(args, station, _write(station, lambda conn, now: enterprise.upsert_package(
        conn, station, package, now=now)))


def _package_remove(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)

    def change(conn, now):
        package = enterprise.find_package(conn, args.enterprise, args.code.strip())
        if package is None:
            raise NotFound(f"no package {args.code!r} of enterprise {args.enterprise}")
        return enterprise.upsert_package(conn, station, replace(package, active=False), now=now)

    _print_package(args, station, _write(station, change))


def _print_package(args: argparse.Namespace, station: Station, package: FleetPackage) -> None:
    if args.json:
        emit_json(enterprise.as_json(package))
        return
    uses = f", {package.max_uses} per vehicle per {package.period}" if package.max_uses else ""
    state = "" if package.active else " (withdrawn)"
    print(f"package {package.code} of {package.enterprise_id}: {'+'.join(package.services)}"
          f" at {station.money(package.price_minor)}{uses}{state}")


def _rule_add(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    rule = ApprovalRule(id=args.id or f"{args.enterprise}-{short_code(4)}", enterprise_id=args.enterprise,
                        category=args.category, above_minor=_minor(station, args.above, "above"),
                        approver_role=args.approver_role, expiry_hours=args.expiry_hours)
    _print_rule(args, station, _write(station, lambda conn, now: enterprise.upsert_rule(conn, station, rule, now=now)))


def _rule_remove(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)

    def change(conn, now):
        found = [r for r in enterprise.rules(conn, args.enterprise) if r.id == args.id]
        if not found:
            raise NotFound(f"no approval rule {args.id!r} of enterprise {args.enterprise}")
        return enterprise.upsert_rule(conn, station, replace(found[0], active=False), now=now)

    _print_rule(args, station, _write(station, change))


def _print_rule(args: argparse.Namespace, station: Station, rule: ApprovalRule) -> None:
    if args.json:
        emit_json(enterprise.as_json(rule))
        return
    state = "" if rule.active else " (off)"
    print(f"rule {rule.id}: {rule.category} above {station.money(rule.above_minor)} needs {rule.approver_role}{state}")


# -- fleet bookings and approvals ----------------------------------------------------


def _book(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    with station.store.read() as conn:
        sub = enterprise.sub_account_by_phone(conn, args.enterprise, args.phone)
    booking = bookings.book(station, services=args.services, start=args.start, plate=args.plate, bay_id=args.bay,
                            channel=args.channel, notes=args.notes, sub_account_id=sub.id,
                            foreign_plate=args.foreign, allow_overlap=args.allow_overlap)
    if args.json:
        emit_json(booking.to_json())
        return
    print(f"{booking.state} {booking.code} ({booking.id}): {booking.plate} {'+'.join(booking.services)}"
          f" {station.local(booking.start_at):%Y-%m-%d %H:%M} bay {booking.bay_id}"
          f" {station.money(booking.price_minor)}")
    if booking.state == "pending_approval":
        approval = enterprise_bookings.approval_of(station, booking.id)
        print(f"waiting for {', '.join(approval.awaiting)} until {station.local(approval.expires_at):%Y-%m-%d %H:%M}")
