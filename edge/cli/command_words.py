"""The first word of `station-edge`: nouns, the counter's shortcuts, and the old spellings kept for one release.

An old spelling (`report-service`) runs the very parser of its new spelling (`service report`) after
a note on stderr; it is listed nowhere (not in --help, not in argparse's "choose from" message), so
the help shows only the current layout while scripts keep working until the next release.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from typing import Any

# old first word -> its current spelling (the old word's own subcommands and options follow unchanged)
OLD_SPELLINGS: dict[str, str] = {
    "hold": "booking hold",
    "confirm": "booking confirm",
    "cancel": "booking cancel",
    "reschedule": "booking reschedule",
    "progress": "booking progress",
    "complete": "booking complete",
    "no-show": "booking no-show",
    "show": "booking show",
    "token": "booking token",
    "bookings": "booking list",
    "expire": "booking expire",
    "waitlist": "booking waitlist",
    "balance": "member balance",
    "points": "member points",
    "prepaid": "member prepaid",
    "coupon": "member coupon",
    "tiers": "member tiers",
    "enterprise": "fleet",
    "approvals": "fleet approvals",
    "approve": "fleet approve",
    "reject": "fleet reject",
    "statement": "fleet statement",
    "checkout": "pay checkout",
    "refund": "pay refund",
    "invoice": "pay invoice",
    "services": "service list",
    "report-service": "service report",
    "service-report": "service show-report",
    "next-service": "service due",
    "feedback": "service feedback",
    "feedback-due": "service feedback-due",
    "complaints": "service complaints",
    "disruptions": "service disruptions",
    "disruption": "service disruptions",
    "outbox": "sync outbox",
    "conflicts": "sync conflicts",
}


def old_spelling_note(old: str, new: str) -> str:
    return f"station-edge: `{old}` is now `{new}`; the old name goes in the next release"


class _ListedNames(dict):
    """Command word -> parser; iterating it (argparse's "choose from" list) skips the hidden words."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden: set[str] = set()

    def __iter__(self) -> Iterator[str]:
        return (name for name in super().__iter__() if name not in self.hidden)


class CommandWords(argparse._SubParsersAction):
    """The top-level subcommands, plus shortcuts to nested actions and hidden old spellings.

    argparse has no public way to accept a subcommand it does not list, so this subclass (passed as
    `add_subparsers(action=...)`) keeps its name map in a `_ListedNames` and walks `_actions`.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.choices = self._name_parser_map = _ListedNames()
        self.renamed: dict[str, str] = {}

    def parser_at(self, spelling: str) -> argparse.ArgumentParser:
        """The parser of a command spelled out in words, e.g. "service report"."""
        first, *rest = spelling.split()
        parser = self.choices[first]
        for word in rest:
            parser = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[word]
        return parser

    def add_shortcut(self, name: str, spelling: str, help: str) -> None:
        """A listed top-level command with the arguments and handler of a nested action."""
        target = self.parser_at(spelling)
        self.add_parser(name, parents=[target], add_help=False, description=target.description,
                        help=f"{help} (short for `{spelling}`)")

    def add_old_spelling(self, old: str, spelling: str) -> None:
        """`old` parses exactly as `spelling` does, after a note on stderr; it is listed nowhere."""
        self._name_parser_map[old] = self.parser_at(spelling)
        self._name_parser_map.hidden.add(old)
        self.renamed[old] = spelling

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Sequence[str], option_string: str | None = None) -> None:
        if values[0] in self.renamed:
            print(old_spelling_note(values[0], self.renamed[values[0]]), file=sys.stderr)
        super().__call__(parser, namespace, values, option_string)
