"""Licence plates: one normal form so a typed, scanned or full-width plate finds its booking."""

from __future__ import annotations

import re
import unicodedata

from edge.errors import RuleViolation

_SEPARATORS = re.compile(r"[\s\-·•.・_]+")
_VALID = re.compile(r"^[0-9A-Z\u4e00-\u9fff]{2,10}$")


def normalize_plate(text: str) -> str:
    """'沪ａ·１２３４５' -> '沪A12345': NFKC folds full-width forms, separators go, case is upper."""
    folded = unicodedata.normalize("NFKC", text)
    plate = _SEPARATORS.sub("", folded).upper()
    if not _VALID.match(plate):
        raise RuleViolation(f"{text!r} is not a licence plate (2-10 letters, digits or a province character)")
    return plate
