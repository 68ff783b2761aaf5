"""Config keys as the TOML text shows them: the line a key path is written on, its dotted name, its wording."""

from __future__ import annotations

import bisect
import datetime as dt
import json
import logging
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

Loc = tuple[str | int, ...]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
# A scalar (number, bool, date-time) runs to one of these; a date-time may contain a space.
_SCALAR_END = frozenset(",]}#\n")


@dataclass(frozen=True)
class LineMap:
    """Key path -> 1-based line, for every table header, key and array element seen."""

    lines: dict[Loc, int]

    def line_for(self, loc: Iterable[str | int]) -> int | None:
        """Line of ``loc``, or of its longest recorded prefix; None if nothing of it is written."""
        loc = tuple(loc)
        for n in range(len(loc), 0, -1):
            line = self.lines.get(loc[:n])
            if line is not None:
                return line
        return None


def scan(text: str) -> LineMap:
    """Scan TOML ``text`` into a LineMap. Never raises."""
    scanner = _Scanner(text)
    try:
        scanner.run()
    except Exception:  # a locator bug must not replace the config error it was asked to place
        log.warning("config line scan stopped early; some lines will be approximate", exc_info=True)
    return LineMap(dict(scanner.lines))


def line_for(text: str, loc: Iterable[str | int]) -> int | None:
    """One-shot ``scan(text).line_for(loc)``."""
    return scan(text).line_for(loc)


def _decode_key(raw: str) -> str:
    if raw.startswith("'"):
        return raw[1:-1]
    try:
        # tomllib already knows every escape; reuse it rather than re-implement them
        value = tomllib.loads(f"k = {raw}")["k"]
    except (tomllib.TOMLDecodeError, KeyError):
        return raw[1:-1]
    return value if isinstance(value, str) else raw[1:-1]


class _Scanner:
    """Recursive-descent walk that understands just enough TOML to know where things are.

    Every loop consumes at least one character or returns, so malformed text ends the
    walk early instead of hanging it.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.n = len(text)
        self.pos = 0
        self.lines: dict[Loc, int] = {}
        self.table: Loc = ()
        # Occurrences so far of each [[array.of.tables]], keyed by its resolved path;
        # a path being present here is what marks it as an array of tables.
        self.aot_counts: dict[Loc, int] = {}
        self._newlines = [i for i, c in enumerate(text) if c == "\n"]

    # -- low level ---------------------------------------------------------

    def line(self) -> int:
        return bisect.bisect_left(self._newlines, self.pos) + 1

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < self.n else ""

    def skip_ws(self) -> None:
        while self.pos < self.n and self.text[self.pos] in " \t":
            self.pos += 1

    def skip_blank(self) -> None:
        """Spaces, newlines and comments: what may sit between array elements."""
        while self.pos < self.n:
            c = self.text[self.pos]
            if c in " \t\r\n":
                self.pos += 1
            elif c == "#":
                self.skip_to_eol()
            else:
                return

    def skip_to_eol(self) -> None:
        end = self.text.find("\n", self.pos)
        self.pos = self.n if end < 0 else end

    def record(self, path: Loc, line: int) -> None:
        self.lines[path] = line

    def record_prefixes(self, path: Loc, line: int, start: int = 1) -> None:
        # An implicitly created parent is "written" where it is first mentioned.
        for k in range(start, len(path)):
            self.lines.setdefault(path[:k], line)

    # -- document level ----------------------------------------------------

    def run(self) -> None:
        while True:
            self.skip_blank()
            if self.pos >= self.n:
                return
            if self.peek() == "[":
                self.header()
            else:
                self.keyval(self.table)
            # Whatever follows a statement on its line is a comment (or text we do not follow).
            self.skip_to_eol()

    def header(self) -> None:
        line = self.line()
        is_aot = self.text.startswith("[[", self.pos)
        self.pos += 2 if is_aot else 1
        parts = self.key_parts()
        if not parts:
            return
        if is_aot:
            base = self.resolve(parts[:-1]) + (parts[-1],)
            index = self.aot_counts.get(base, 0)
            self.aot_counts[base] = index + 1
            path = base + (index,)
        else:
            path = self.resolve(parts)
        self.table = path
        self.record_prefixes(path, line)
        self.record(path, line)

    def resolve(self, parts: tuple[str, ...]) -> Loc:
        """Header names -> key path, entering the latest element of each array of tables."""
        path: Loc = ()
        for part in parts:
            path += (part,)
            count = self.aot_counts.get(path)
            if count:
                path += (count - 1,)
        return path

    def key_parts(self) -> tuple[str, ...]:
        parts: list[str] = []
        while True:
            self.skip_ws()
            c = self.peek()
            if c in ('"', "'"):
                parts.append(_decode_key(self.string()))
            else:
                m = _BARE_KEY.match(self.text, self.pos)
                if not m:
                    break
                parts.append(m.group())
                self.pos = m.end()
            self.skip_ws()
            if self.peek() != ".":
                break
            self.pos += 1
        return tuple(parts)

    def keyval(self, base: Loc) -> bool:
        line = self.line()
        parts = self.key_parts()
        self.skip_ws()
        if not parts or self.peek() != "=":
            return False
        self.pos += 1
        path = base + parts
        self.record_prefixes(path, line, start=len(base) + 1)
        self.record(path, line)
        self.skip_ws()
        self.value(path)
        return True

    # -- values ------------------------------------------------------------

    def value(self, path: Loc) -> None:
        c = self.peek()
        if c == "[":
            self.array(path)
        elif c == "{":
            self.inline_table(path)
        elif c in ('"', "'"):
            self.string()
        else:
            while self.pos < self.n and self.text[self.pos] not in _SCALAR_END:
                self.pos += 1

    def array(self, path: Loc) -> None:
        self.pos += 1
        index = 0
        while True:
            self.skip_blank()
            c = self.peek()
            if c in ("", "]"):
                self.pos += 1
                return
            self.record(path + (index,), self.line())
            self.value(path + (index,))
            self.skip_blank()
            c = self.peek()
            if c != ",":
                self.pos += 1  # the closing "]", or the unexpected character we stop at
                return
            self.pos += 1
            index += 1

    def inline_table(self, path: Loc) -> None:
        self.pos += 1
        while True:
            # TOML 1.0 keeps inline tables on one line; tolerating newlines costs nothing.
            self.skip_blank()
            c = self.peek()
            if c in ("", "}"):
                self.pos += 1
                return
            if not self.keyval(path):
                return
            self.skip_blank()
            if self.peek() != ",":
                self.pos += 1
                return
            self.pos += 1

    def string(self) -> str:
        """Consume a string of any of the four kinds; return its raw text, quotes included."""
        start = self.pos
        quote = self.text[self.pos]
        escapes = quote == '"'
        if self.text.startswith(quote * 3, self.pos):
            self.pos += 3
            while self.pos < self.n:
                if escapes and self.text[self.pos] == "\\":
                    self.pos += 2
                    continue
                if self.text.startswith(quote * 3, self.pos):
                    self.pos += 3
                    # Up to two quotes just before the closing delimiter are content.
                    for _ in range(2):
                        if self.peek() == quote:
                            self.pos += 1
                    break
                self.pos += 1
        else:
            self.pos += 1
            while self.pos < self.n:
                c = self.text[self.pos]
                if escapes and c == "\\":
                    self.pos += 2
                    continue
                if c == "\n":
                    break
                self.pos += 1
                if c == quote:
                    break
        self.pos = min(self.pos, self.n)
        return self.text[start : self.pos]


# -- naming and wording ----------------------------------------------------
# Kept here, beside the locator, because both speak about keys as the TOML text shows them;
# this reads pydantic's error dicts as plain data, so the module stays stdlib-only.

_EXPECTED = {
    kind: words
    for words, kinds in (
        ("an integer", "int_type int_parsing int_from_float"),
        ("a number", "float_type float_parsing"),
        ("a finite number", "finite_number"),
        ("a string", "string_type"),
        ("true or false", "bool_type bool_parsing"),
        ("an array", "tuple_type list_type"),
        ("a table", "dict_type model_type model_attributes_type"),
        ("a date (YYYY-MM-DD)", "date_type date_parsing date_from_datetime_parsing date_from_datetime_inexact"),
    )
    for kind in kinds.split()
}
_BOUNDS = {
    "greater_than": ("gt", "greater than"),
    "greater_than_equal": ("ge", "at least"),
    "less_than": ("lt", "less than"),
    "less_than_equal": ("le", "at most"),
}


def key_string(loc: Iterable[str | int]) -> str:
    """('technicians', 0, 'roster', 'tue', 1) -> 'technicians[0].roster.tue[1]'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            name = part if _BARE_KEY.fullmatch(part) else json.dumps(part, ensure_ascii=False)
            out += f".{name}" if out else name
    return out or "<top level>"


def describe_value(value: object) -> str:
    """A TOML value as a user would recognise it in their file, kept short."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, (dt.date, dt.time)):  # datetime is a date
        return value.isoformat()
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def plain_message(err: Mapping[str, Any], loc: Loc = ()) -> str:
    """One pydantic error (as from ``ValidationError.errors()``) in short plain English."""
    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        return "unknown key"
    if kind in ("tuple_type", "list_type") and isinstance(value, dict) and loc and isinstance(loc[-1], str):
        name = key_string(loc)
        return f"expected an array of tables; write [[{name}]] for each entry, not [{name}]"
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {describe_value(value)}"
    if kind == "literal_error":
        return f"expected {ctx.get('expected')}, got {describe_value(value)}"
    if kind in _BOUNDS:
        bound, words = _BOUNDS[kind]
        return f"must be {words} {ctx.get(bound)}, got {describe_value(value)}"
    if kind in ("too_short", "too_long"):
        n = ctx.get("min_length" if kind == "too_short" else "max_length")
        return f"must have at {'least' if kind == 'too_short' else 'most'} {n} {'entry' if n == 1 else 'entries'}"
    if kind == "string_too_short":
        n = ctx.get("min_length")
        return "must not be empty" if n == 1 else f"must be at least {n} characters"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters"
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"])  # our own validators' wording, without pydantic's "Value error, " prefix
    return str(err.get("msg", kind))
