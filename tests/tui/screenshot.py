"""The README picture: the board of the sample morning, saved as SVG.

    python -m tests.tui.screenshot docs/tui-board.svg [--lang zh_CN] [--size 120x40]
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


async def save_board(path: Path, *, language: str, size: tuple[int, int]) -> None:
    with tempfile.TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as patch:
        station = sample_station(Path(folder), patch)
        app = StationApp(station, language=language)
        async with app.run_test(size=size) as pilot:
            await board_ready(pilot)
            app.save_screenshot(path.name, path=str(path.parent))
        station.store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--lang", default="en", choices=("en", "zh_CN"))
    parser.add_argument("--size", default="120x40")
    args = parser.parse_args()
    width, height = (int(n) for n in args.size.split("x"))
    asyncio.run(save_board(args.path.resolve(), language=args.lang, size=(width, height)))
    print(f"wrote {args.path}")


if __name__ == "__main__":
    main()
