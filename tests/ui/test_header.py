"""The header keeps the CPU and memory totals whatever the width; the type list is what gets elided."""

from __future__ import annotations

from procdash.core.instance import State
from procdash.ui.widgets.header import DashHeader
from tests.helpers import wait_until
from tests.ui.conftest import MakeApp

TEN_TYPES = "".join(f"type{n:02d}: exec sleep 30\n" for n in range(10))


def header_line(app: object) -> str:
    """The header as drawn: its first screen line."""
    header = app.query_one(DashHeader)  # type: ignore[attr-defined]
    return "".join(segment.text for segment in header.render_line(0))


async def test_totals_survive_ten_types_at_120_columns(make_app: MakeApp) -> None:
    app = make_app(TEN_TYPES, stats_interval=0.2)
    async with app.run_test(size=(120, 30)) as pilot:
        sup = app.formation.supervisor
        await wait_until(lambda: all(i.state is State.RUNNING for i in sup.instances()) and len(sup.instances()) == 10)
        await wait_until(lambda: app.metrics is not None and app.metrics.snapshot.total.processes == 10)
        app.mark_table_dirty()
        await pilot.pause()
        await wait_until(lambda: "10 procs" in header_line(app))
        line = header_line(app)
        assert "cpu " in line and "mem " in line
        assert "type00" in line  # the list is elided, not dropped


async def test_totals_survive_four_types_at_80_columns(make_app: MakeApp) -> None:
    procfile = "".join(f"long-type-name-{n}: exec sleep 30\n" for n in range(4))
    app = make_app(procfile, stats_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        sup = app.formation.supervisor
        await wait_until(lambda: sum(i.state is State.RUNNING for i in sup.instances()) == 4)
        await wait_until(lambda: app.metrics is not None and app.metrics.snapshot.total.processes == 4)
        app.mark_table_dirty()
        await pilot.pause()
        await wait_until(lambda: "4 procs" in header_line(app))
        assert "mem " in header_line(app)


async def test_while_quitting_the_header_counts_what_is_still_stopping(make_app: MakeApp) -> None:
    app = make_app("stubborn: trap '' TERM; while :; do sleep 0.1; done\n", stats_interval=0.2, timeout=3.0)
    async with app.run_test(size=(100, 30)) as pilot:
        sup = app.formation.supervisor
        await wait_until(lambda: (i := sup.find("stubborn.1")) is not None and i.state is State.RUNNING)
        await wait_until(lambda: "procs" in header_line(app))
        await pilot.press("q")
        await wait_until(lambda: "quitting · 1 stopping" in header_line(app))
        assert "0 procs" not in header_line(app)
        await pilot.press("q")  # kill now
