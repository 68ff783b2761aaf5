"""Pictures of the till's screens at 80×24 in Chinese and English (time and codes frozen), and the
README's checkout picture, made again and compared with docs/tui-checkout.svg.

Update after a deliberate change: `pytest tests/tui/test_till_pictures.py --snapshot-update` and
`python -m tests.tui.screenshot docs/tui-checkout.svg --screen checkout --size 80x24`, then look at
the SVGs before committing them.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.tui.screenshot import checkout_ready, save_screen
from tui.app import StationApp

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_checkout_with_a_split_payment_and_change(busy_station, snap_compare, language):
    assert snap_compare(StationApp(busy_station, language=language), terminal_size=(80, 24),
                        run_before=checkout_ready)


def test_the_readme_checkout_picture_is_the_screen_of_today(tmp_path):
    made = tmp_path / "tui-checkout.svg"
    asyncio.run(save_screen(made, screen="checkout", language="en", size=(80, 24)))
    assert made.read_text(encoding="utf-8") == (DOCS / "tui-checkout.svg").read_text(encoding="utf-8"), \
        "python -m tests.tui.screenshot docs/tui-checkout.svg --screen checkout --size 80x24"
