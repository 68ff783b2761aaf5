"""At the documented minimum of 80×24, no line of text on any screen is cut off at its panel's edge.

A Label is as wide as its text and is clipped by the panel around it when the text is longer;
a text that must fit wraps (a Static) or is shortened on purpose with "…". This walks the
screens an attendant opens from the board, in both languages, and names every clipped text.
"""

from __future__ import annotations

import pytest
from textual.errors import NoWidget
from textual.widgets import Static

from tests.tui.conftest import loaded
from tui.app import StationApp


def clipped_texts(app) -> list[str]:
    clipped = []
    for widget in app.screen.query(Static):
        if not widget.display or not widget.region:
            continue
        try:
            geometry = app.screen.find_widget(widget)
        except NoWidget:  # scrolled out of view or not laid out: nothing shown to cut
            continue
        shown = geometry.region.intersection(geometry.clip)
        if shown.height and shown.width < geometry.region.width:
            clipped.append(f"{type(widget).__name__}#{widget.id}: {str(widget.render())[:60]!r}")
    return clipped


@pytest.mark.parametrize("language", ["en", "zh_CN"])
async def test_no_text_is_cut_off_at_80x24(busy_station, language):
    app = StationApp(busy_station, language=language)
    seen: dict[str, list[str]] = {}
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        seen["board"] = clipped_texts(app)
        for key, name in (("c", "check-in"), ("n", "new booking"), ("m", "members"), ("t", "technicians"),
                          ("w", "waitlist")):
            await pilot.press(key)
            await loaded(pilot)
            await pilot.pause(0.2)
            seen[name] = clipped_texts(app)
            await pilot.press("escape")
    offending = {name: texts for name, texts in seen.items() if texts}
    assert not offending, "\n".join(f"{name}: {texts}" for name, texts in offending.items())
