"""The desk's screens and their forms at 80×24: in Chinese no English-only text, in either language no text cut."""

from __future__ import annotations

import pytest

from tests.tui.conftest import loaded, wait_for
from tests.tui.desk import desk_sample
from tests.tui.test_chinese_everywhere import ALLOWED, TOKEN, data_words, english_words
from tests.tui.test_no_text_cut import clipped_texts
from tui.app import StationApp

# what the sample's data says in its own words: SKUs and units, the fleet and its roles, what people typed
SAMPLE_WORDS = ("OIL-5W30 FILTER-AIR pc ACME dept_head maintenance initial stock fitted off the books oil on the "
                "seat regular gold neighbour SH-PD-002 SH-PD-007 Zhangjiang Lujiazui East SORRY-20 MM-DD")


@pytest.fixture
def desk_morning(tmp_path, monkeypatch):
    station = desk_sample(tmp_path, monkeypatch)
    yield station
    station.store.close()


async def walk(pilot, look) -> None:
    """Every desk screen, each form it opens, every section of the report."""
    app = pilot.app
    await loaded(pilot)
    for key, forms in (("k", "iue"), ("a", "yx"), ("d", "y"), ("h", "evx"), ("o", ""), ("m", "evo")):
        await pilot.press(key)
        await wait_for(pilot, lambda: app.screen.loads > 0, what=key)
        screen = app.screen
        if key == "m":
            screen.query_one("#key").value = "13900139001"
            await pilot.press("enter")
            await wait_for(pilot, lambda: screen.loads > 1, what="the member")
        await look(type(screen).__name__)
        for form in forms:
            await pilot.press(form)
            await wait_for(pilot, lambda: app.screen is not screen, what=f"the form of {form}")
            await look(f"{type(screen).__name__} {form}")
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is screen)
        if key == "o":
            for section in range(7):
                await pilot.press("tab")
                await look(f"report section {section + 2}")
        await pilot.press("escape")


async def test_the_desk_reads_in_chinese(desk_morning):
    allowed = ALLOWED | data_words(desk_morning) | set(TOKEN.findall(SAMPLE_WORDS))
    app = StationApp(desk_morning, language="zh_CN")
    seen: dict[str, list[str]] = {}

    async def look(name: str) -> None:
        await pilot.pause(0.2)
        seen[name] = english_words(app, allowed)

    async with app.run_test(size=(80, 24)) as pilot:
        await walk(pilot, look)
    offending = {name: words for name, words in seen.items() if words}
    assert not offending, offending


@pytest.mark.parametrize("language", ["en", "zh_CN"])
async def test_no_text_of_the_desk_is_cut_at_80x24(desk_morning, language):
    app = StationApp(desk_morning, language=language)
    seen: dict[str, list[str]] = {}

    async def look(name: str) -> None:
        await pilot.pause(0.2)
        seen[name] = clipped_texts(app)

    async with app.run_test(size=(80, 24)) as pilot:
        await walk(pilot, look)
    offending = {name: texts for name, texts in seen.items() if texts}
    assert not offending, offending
