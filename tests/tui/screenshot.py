"""The README pictures: the board of the sample morning, or a checkout with a split payment, saved as SVG.

    python -m tests.tui.screenshot docs/tui-board.svg [--lang zh_CN] [--size 120x40]
    python -m tests.tui.screenshot docs/tui-checkout.svg --screen checkout --size 80x24
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

import pytest
from textual.widgets import Footer

from tests.tui.sample import sample_station
from tui.app import StationApp


async def board_ready(pilot) -> None:
    """Wait until the board has its data and its footer of keys (composed a moment after the screen)."""
    app = pilot.app
    for _ in range(500):
        if app.screen.loads and app.screen.query_one(Footer).children:
            break
        await pilot.pause(0.02)
    await pilot.pause(0.1)


async def checkout_ready(pilot) -> None:
    """From the board, as the attendant: `p`, an oil change and a wash for 张伟 (by plate), 200.00 by bank
    card, Enter in the cash field for the rest (129.00), 150.00 cash given: 21.00 change due."""
    from tests.stations import open_drawer
    from tui.screens.checkout import CheckoutScreen

    app = pilot.app
    open_drawer(app.station)  # the desk's shift is open: it takes cash
    await board_ready(pilot)
    await pilot.press("p")
    while not (isinstance(app.screen, CheckoutScreen) and app.screen.loads):
        await pilot.pause(0.02)
    screen = app.screen
    screen.query_one("#services").focus()
    await pilot.press("space", "down", "down", "space")
    for field, keys in (("customer", "沪F33333"), ("bank_card", "200"), ("cash", "\n"), ("tendered", "150")):
        screen.query_one(f"#{field}").focus()
        await pilot.press(*("enter" if key == "\n" else key for key in keys))
        if field == "customer":  # the member and the quote, read in a worker
            while screen.due_minor is None or screen.data.member is None:
                await pilot.pause(0.02)
    screen.query_one("#services").focus()
    await pilot.pause(0.1)


SCREENS = {"board": board_ready, "checkout": checkout_ready}


async def save_screen(path: Path, *, screen: str, language: str, size: tuple[int, int]) -> None:
    with tempfile.TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as patch:
        station = sample_station(Path(folder), patch)
        app = StationApp(station, language=language)
        async with app.run_test(size=size) as pilot:
            await SCREENS[screen](pilot)
            app.save_screenshot(path.name, path=str(path.parent))
        station.store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--lang", default="en", choices=("en", "zh_CN"))
    parser.add_argument("--size", default="120x40")
    parser.add_argument("--screen", default="board", choices=sorted(SCREENS))
    args = parser.parse_args()
    width, height = (int(n) for n in args.size.split("x"))
    asyncio.run(save_screen(args.path.resolve(), screen=args.screen, language=args.lang, size=(width, height)))
    print(f"wrote {args.path}")


if __name__ == "__main__":
    main()
