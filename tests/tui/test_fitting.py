"""Tables and the timeline fit 80 columns: texts end in "…", the least needed columns go, the whole day shows."""

from __future__ import annotations

from datetime import UTC

from rich.cells import cell_len

from tests.stations import TEST_CONFIG, make_station
from tests.tui.conftest import cells, loaded
from tests.tui.sample import local
from edge.services import bookings
from tui.app import StationApp
from tui.widgets.board.timeline import Timeline
from tui.widgets.common.fitted_table import Column, fit_widths

COLUMNS = (Column("Time"), Column("Plate"), Column("Services", shrink_to=4, drop=1), Column("Bay"),
           Column("Code", drop=2))


def test_everything_fits_untouched_when_there_is_room():
    assert fit_widths([5, 8, 13, 3, 6], COLUMNS, 60, 2) == [5, 8, 13, 3, 6]


def test_a_long_text_narrows_by_a_third_before_a_column_goes():
    # 45 cells of text and padding; 40 available: Services gives up five cells, nothing goes
    assert fit_widths([5, 8, 13, 3, 6], COLUMNS, 40, 2) == [5, 8, 8, 3, 6]


def test_the_least_needed_column_goes_first_then_texts_narrow_to_their_floor():
    assert fit_widths([5, 8, 13, 3, 6], COLUMNS, 34, 2) == [5, 8, 10, 3, None]  # the code went
    assert fit_widths([5, 8, 13, 3, 6], COLUMNS, 24, 2) == [5, 8, None, 3, None]  # then the services
    # too narrow even so: the columns that never narrow keep their width (never a stub)
    assert fit_widths([5, 8, 13, 3, 6], COLUMNS, 10, 2) == [5, 8, None, 3, None]


async def test_a_day_longer_than_the_panel_is_compressed_not_cut(tmp_path):
    all_day = TEST_CONFIG.replace('"08:00-18:00"]\n', '"00:00-24:00"]\n', 7)  # the station's opening hours
    station = make_station(tmp_path, config=all_day)
    booking = bookings.book(station, services=["WASH"], start=local(23, 30), plate="沪A12345", bay_id="W1",
                            now=local(7).astimezone(UTC))
    app = StationApp(station, language="zh_CN")
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        timeline = app.screen.query_one(Timeline)
        lines = [text.plain.rstrip() for text in timeline.render().renderables]
        hours, w1 = lines[0], next(line for line in lines if line.startswith("W1"))
        assert hours.split()[:2] == ["00", "02"] and "22" in hours.split()  # the whole day
        assert w1.endswith("▒") and cell_len(w1) <= timeline.size.width  # 23:30 is on screen
        today = cells(app.screen.query_one("#today"))
        assert today[0][1] == "沪A12345" and booking.code not in today[0]  # the code went, not the plate
    station.store.close()
