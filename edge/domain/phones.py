"""Customer phone numbers: one normal form, mainland mobile numbers unless the station allows others.

Normal form: spaces, dashes and brackets removed; a mainland number keeps its 11 digits
(1, then 3-9, then 9 more) and loses a `+86`, `0086` or `86` country prefix, so
`+86 138-0013-8000` and `13800138000` are the same member. A station whose config sets
`[members] foreign_phones = true` also takes other numbers: an optional `+` and 5-15 digits.
"""

from __future__ import annotations

import re

from edge.errors import InvalidInput

_SEPARATORS = re.compile(r"[\s\-()]+")
_CHINA_PREFIX = re.compile(r"^(?:\+86|0086|86)(?=1\d{10}$)")
_MAINLAND_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_ANY_NUMBER = re.compile(r"^\+?\d{5,15}$")

MAINLAND_EXAMPLE = "13800138000"


def normalize_phone(text: str, *, foreign_allowed: bool = False) -> str:
    """'+86 138-0013-8000' -> '13800138000'; InvalidInput("phone") says what a number looks like."""
    phone = _CHINA_PREFIX.sub("", _SEPARATORS.sub("", text.strip()))
    if _MAINLAND_MOBILE.match(phone):
        return phone
    if foreign_allowed and _ANY_NUMBER.match(phone):
        return phone
    expected = f"a mainland mobile number: 11 digits starting 13-19, e.g. {MAINLAND_EXAMPLE} (+86 may precede it)"
    if foreign_allowed:
        expected += ", or another country's number: an optional + and 5-15 digits"
    raise InvalidInput("phone", f"{text!r} is not a phone number; expected {expected}")


def looks_like_phone(text: str) -> bool:
    """Whether a lookup key (phone or plate) is written as a phone number of any country."""
    return bool(_ANY_NUMBER.match(_SEPARATORS.sub("", text.strip())))
