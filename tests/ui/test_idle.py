"""An idle dashboard does no more than what changed: one cell repainted per changed value, no flush without news."""

from __future__ import annotations

import threading
import time

import pytest
from rich.text import Text
from textual.geometry import Region

from procdash.core.instance import State
from procdash.ui import rows as tablerows
from procdash.ui import sampling
from procdash.ui.widgets.process_table import HEADER_LINES, ProcessTable
from tests.helpers import wait_until
from tests.ui.conftest import MakeApp, all_running, hold_still

SLEEPERS = "web: exec sleep 30\n"
# Columns a formation of sleepers may change on its own: time passes, the sampler reads CPU and memory.
MOVING = {"uptime", "cpu", "mem", "spark"}


class Spy:
    """Records the regions a widget asks to repaint and how many cells its rows re-render."""

    def __init__(self, table: ProcessTable) -> None:
        self.regions: list[Region] = []
        self.cells = 0
        refresh, padded = table.refresh, table._padded_cell

        def record_refresh(*regions: Region, **kwargs: bool) -> object:
            self.regions.extend(regions or [Region(0, 0, table.size.width, table.size.height)])
            return refresh(*regions, **kwargs)

        def record_cell(cell: Text, column: tablerows.Column) -> object:
            self.cells += 1
            return padded(cell, column)

        table.refresh = record_refresh  # type: ignore[method-assign]
        table._padded_cell = record_cell  # type: ignore[method-assign]

    def clear(self) -> None:
        """Forget what was recorded so far."""
        self.regions.clear()
        self.cells = 0


def columns_in(table: ProcessTable, region: Region) -> set[str]:
    """The keys of the columns a repainted region covers."""
    return {key for key, (x, width) in table._spans.items() if x < region.right and region.x < x + width}


async def test_one_changed_value_repaints_one_cell(make_app: MakeApp) -> None:
    app = make_app(SLEEPERS, formation="web=3")
    async with app.run_test(size=(120, 30)) as pilot:
        await all_running(app, 3)
        hold_still(app)
        table = app.table
        await pilot.pause()
        spy = Spy(table)
        rows = [(key, dict(cells)) for key, cells in ((key, table._cells[key]) for key in table.row_keys)]
        rows[2][1]["cpu"] = Text("12.5%", justify="right")
        table.sync(table.columns, rows)
        assert len(spy.regions) == 1
        (region,) = spy.regions
        assert region.height == 1 and region.y == 2 + HEADER_LINES
        assert columns_in(table, region) == {"cpu"}
        await pilot.pause()
        assert spy.cells == 1  # the other cells of the row come from the cache
        assert table.get_cell("i:web.2", "cpu").plain == "12.5%"
        spy.clear()
        table.sync(table.columns, rows)  # the same again: nothing to repaint
        await pilot.pause()
        assert spy.regions == [] and spy.cells == 0


async def test_sampler_ticks_repaint_only_the_moving_cells(make_app: MakeApp) -> None:
    app = make_app(SLEEPERS, formation="web=5", stats_interval=0.2)
    async with app.run_test(size=(120, 30)) as pilot:
        await all_running(app, 5)
        await wait_until(lambda: app.metrics is not None)
        await pilot.pause()
        spy = Spy(app.table)
        first = app.metrics
        # Several sampler ticks and at least one uptime second go by.
        await wait_until(lambda: app.metrics is not first and spy.regions, timeout=10)
        samples = 0
        while samples < 5:
            seen = app.metrics
            await wait_until(lambda seen=seen: app.metrics is not seen)  # type: ignore[misc]
            samples += 1
        await pilot.pause()
        assert spy.regions, "uptimes moved, so some cells were repainted"
        for region in spy.regions:
            assert columns_in(app.table, region) <= MOVING, region
        # Each repainted line re-rendered only its changed cells, never its other, unchanged ones.
        repainted = sum(region.height for region in spy.regions)
        lines = {y for region in spy.regions for y in region.line_range}
        assert spy.cells <= repainted * len(MOVING) + len(lines)


async def test_the_flush_timer_sleeps_while_nothing_arrives(make_app: MakeApp) -> None:
    app = make_app("web: exec sleep 30\nlate: read line; echo got $line; exec sleep 30\n", formation="web=2,late=1")
    async with app.run_test(size=(120, 30)):
        await all_running(app, 3)
        await wait_until(lambda: app._flush_paused)
        timer = app._flush_timer
        assert timer is not None and not timer._active.is_set()
        flushes: list[float] = []
        flush = app._flush_engine_state

        def counted() -> None:
            flushes.append(0.0)
            flush()

        app._flush_engine_state = counted  # type: ignore[method-assign]
        # Without a sampler each second's tick moves the uptimes: one flush for it, none in between
        # (a timer left running would flush 25 times a second).
        start = time.monotonic()
        await wait_until(lambda: time.monotonic() - start > 2.5, timeout=5)
        assert 1 <= len(flushes) <= 2.5 + 2
        late = app.formation.supervisor.find("late.1")
        assert late is not None
        app.formation.supervisor.send_input("late.1", b"hello\n")
        pane = app.panes["late.1"]
        app.mode = "focus"
        app.focus_name = "late.1"
        app.layout_panes()
        await wait_until(lambda: "got hello" in pane.view.all_text())
        await wait_until(lambda: app._flush_paused and not timer._active.is_set())


async def test_a_column_ticking_on_neighbouring_rows_is_repainted_as_one_region(make_app: MakeApp) -> None:
    app = make_app(SLEEPERS, formation="web=3")
    async with app.run_test(size=(120, 30)) as pilot:
        await all_running(app, 3)
        hold_still(app)
        table = app.table
        await pilot.pause()
        spy = Spy(table)
        rows = [(key, dict(table._cells[key])) for key in table.row_keys]
        for index in (1, 2, 3):  # the three instance rows under the type row
            rows[index][1]["uptime"] = Text(f"{index}h", justify="right")
        table.sync(table.columns, rows)
        assert len(spy.regions) == 1, spy.regions
        (region,) = spy.regions
        assert (region.y, region.height) == (1 + HEADER_LINES, 3)
        assert columns_in(table, region) == {"uptime"}
        await pilot.pause()
        assert spy.cells == 3
        assert [table.get_cell(f"i:web.{n}", "uptime").plain for n in (1, 2, 3)] == ["1h", "2h", "3h"]


async def test_readings_that_read_as_before_build_no_rows(make_app: MakeApp) -> None:
    # Finished one-off tasks: no uptime ticks, and every reading of the sampler is the same (none live).
    app = make_app("job: exit 0\n", formation="job=2", stats_interval=0.1)
    async with app.run_test(size=(120, 30)) as pilot:
        sup = app.formation.supervisor
        await wait_until(lambda: all(inst.state is State.EXITED for inst in sup.instances()))
        await wait_until(lambda: app.metrics is not None and not app.feed.table_dirty)
        await pilot.pause()
        built: list[int] = []
        build = app._build_rows

        def counted() -> list[tablerows.Row]:
            built.append(1)
            return build()

        app._build_rows = counted  # type: ignore[method-assign]
        seen = app.metrics
        await wait_until(lambda: app.metrics is not seen)  # one more reading: it may still differ from the last
        for _ in range(3):
            seen = app.metrics
            await wait_until(lambda seen=seen: app.metrics is not seen)  # type: ignore[misc]
        before = len(built)
        for _ in range(3):
            seen = app.metrics
            await wait_until(lambda seen=seen: app.metrics is not seen)  # type: ignore[misc]
        assert len(built) == before <= 1
        assert app.table.get_cell("i:job.1", "state").plain == "done"


async def test_small_formations_are_sampled_on_the_loop_whatever_is_selected(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[str] = []
    collect = sampling.collect  # type: ignore[attr-defined]

    def recorded(*args: object, **kwargs: object) -> object:
        threads.append(threading.current_thread().name)
        return collect(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sampling, "collect", recorded)
    app = make_app(SLEEPERS, formation="web=3", stats_interval=0.1)
    async with app.run_test(size=(120, 30)) as pilot:
        await all_running(app, 3)
        await wait_until(lambda: len(threads) >= 4)
        # The first tick has no trees to go by: it walks in the thread; then the idle re-reads run inline.
        assert threads[0].startswith("procdash-stats")
        assert threads[-2:] == ["MainThread", "MainThread"]
        # One instance selected (the usual first row: most types run one process): the table shows what
        # every tick reads anyway, so nothing sends the tick to the thread.
        await pilot.press("down")
        assert app.selected_names() == ["web.1"]
        count = len(threads)
        await wait_until(lambda: len(threads) >= count + 3)
        assert threads[count : count + 3] == ["MainThread"] * 3


def test_the_cell_cache_keeps_one_object_per_content_and_starts_over_when_full() -> None:
    cells = tablerows.CellCache(limit=2)
    five = cells.text("5s", right=True)
    assert cells.text("5s", right=True) is five
    assert cells.text("5s") is not five and cells.text("5s").justify != "right"
    made = cells.made(("state", "up"), lambda: Text("up", style="green"))
    assert cells.made(("state", "up"), lambda: Text("other")) is made
    assert cells.made(("5s", "", True), lambda: Text("made")).plain == "made"  # never a one-style cell
    cells.text("6s")  # a third content: the one-style cells start over
    assert cells.text("5s", right=True) is not five
