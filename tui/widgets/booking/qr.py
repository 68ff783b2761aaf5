"""A booking's QR drawn with half-block characters: two modules per character cell, dark on light.

A terminal cell is about twice as tall as it is wide, so `▀` with the upper module as its
colour and the lower one as its background gives square modules a phone or a bay scanner
reads off the screen. The colours are explicit (black on white) whatever the terminal's
theme, and the quiet zone is light too, or a dark terminal would swallow the symbol's edge.
"""

from __future__ import annotations

import segno
from rich.style import Style
from rich.text import Text

DARK, LIGHT = "#000000", "#ffffff"
QUIET_ZONE = 2  # modules of light border (the standard asks 4; scanners read 2 off a screen)
_STYLES = {(top, bottom): Style(color=DARK if top else LIGHT, bgcolor=DARK if bottom else LIGHT)
           for top in (False, True) for bottom in (False, True)}


def qr_matrix(data: str) -> list[list[bool]]:
    """The QR symbol of `data` (error correction L: the smallest symbol, a screen is not a dirty label)."""
    symbol = segno.make(data, error="l", boost_error=False, micro=False)
    return [[bool(module) for module in row] for row in symbol.matrix_iter(scale=1, border=QUIET_ZONE)]


def qr_text(data: str) -> Text:
    """The QR of `data` as lines of `▀`, each cell carrying two rows of modules."""
    matrix = qr_matrix(data)
    if len(matrix) % 2:
        matrix.append([False] * len(matrix[0]))
    text = Text(no_wrap=True, overflow="crop")
    for upper, lower in zip(matrix[0::2], matrix[1::2], strict=True):
        if text:
            text.append("\n")
        for top, bottom in zip(upper, lower, strict=True):
            text.append("▀", style=_STYLES[top, bottom])
    return text

