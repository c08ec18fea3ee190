"""Pane layout and choice: 4 panes at 120 columns are 2x2; pin processes of any types; merge only those."""

from __future__ import annotations

from procdash.core.instance import State
from procdash.ui.app import ProcdashApp
from tests.helpers import wait_until
from tests.ui.conftest import MakeApp

SIZE = (120, 40)


async def all_running(app: ProcdashApp, count: int) -> None:
    """``count`` instances run."""
    sup = app.formation.supervisor
    await wait_until(lambda: sum(i.state is State.RUNNING for i in sup.instances()) == count)


async def test_four_instances_at_120_columns_are_two_by_two(make_app: MakeApp) -> None:
    app = make_app("web: exec sleep 30\n", formation="web=4")
    async with app.run_test(size=SIZE) as pilot:
        await all_running(app, 4)
        await pilot.pause()
        grid = app.grid
        assert (grid.styles.grid_size_columns, grid.styles.grid_size_rows) == (2, 2)
        widths = {app.panes[f"web.{n}"].size.width for n in range(1, 5)}
        assert min(widths) >= 55


async def test_pinned_processes_from_several_types_side_by_side_and_merged(make_app: MakeApp) -> None:
    procfile = (
        "web: echo from-$PS; exec sleep 30\nworker: echo from-$PS; exec sleep 30\nclock: echo from-$PS; exec sleep 30\n"
    )
    app = make_app(procfile, formation="web=2,worker=1,clock=1")
    async with app.run_test(size=SIZE) as pilot:
        await all_running(app, 4)
        assert app.table.select_key("i:web.2")
        await pilot.press("p")
        assert app.table.select_key("i:clock.1")
        await pilot.press("p")
        assert app.pinned == ["web.2", "clock.1"]
        assert app.table.get_cell("i:web.2", "name").plain.endswith("*")
        await pilot.press("P")
        await pilot.pause()
        assert app.mode == "pinned"
        assert [pane.key for pane in app.visible_panes()] == ["web.2", "clock.1"]
        assert app.panes["web.2"].display and app.panes["clock.1"].display and not app.panes["web.1"].display
        await pilot.press("a")
        await pilot.pause()
        merged = app.feed.merged.tail(100)
        assert any("from-web.2" in line for line in merged) and any("from-clock.1" in line for line in merged)
        assert not any("from-web.1" in line or "from-worker.1" in line for line in merged)
        assert "web.2" in str(app.merged_pane.border_title)
        await pilot.press("escape")
        assert app.table.select_key("i:web.2")
        await pilot.press("p")
        assert app.pinned == ["clock.1"]
