"""Snapshot tests of the dashboard over fixed fake data (no processes), at fixed terminal sizes.

Regenerate after an intended UI change with ``pytest tests/ui/test_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot

from procdash.ui.app import ProcdashApp
from procdash.view.local import LocalFormation
from tests.ui.fakes import FakeSupervisor, fake_metrics, fake_project

SnapCompare = Callable[..., bool]


def fake_app() -> ProcdashApp:
    """The dashboard over the made-up formation, without sampling."""
    return ProcdashApp(LocalFormation(FakeSupervisor(), fake_project()), argparse.Namespace(stats_interval=0))


def select(key: str | None = None) -> Callable[[Pilot[Any]], Any]:
    """A run_before that shows the fixed metrics and optionally selects a row."""

    async def run_before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, ProcdashApp)
        await pilot.pause()
        app.metrics = fake_metrics()
        app.feed.table_dirty = True
        app.flush()
        if key is not None:
            assert app.table.select_key(key)
        await pilot.pause()
        app.flush()
        await pilot.pause()

    return run_before


def test_main_view(snap_compare: SnapCompare) -> None:
    assert snap_compare(fake_app(), terminal_size=(120, 40), run_before=select())


def test_main_view_small_terminal(snap_compare: SnapCompare) -> None:
    assert snap_compare(fake_app(), terminal_size=(80, 24), run_before=select())


def test_crashed_backoff_and_fatal_states(snap_compare: SnapCompare) -> None:
    assert snap_compare(fake_app(), terminal_size=(120, 40), run_before=select("t:flaky"))


def test_merged_view(snap_compare: SnapCompare) -> None:
    assert snap_compare(fake_app(), press=["a"], terminal_size=(120, 40), run_before=select())


def test_focus_view_with_search_hit(snap_compare: SnapCompare) -> None:
    keys = ["enter", "slash", *"items", "enter"]
    assert snap_compare(fake_app(), press=keys, terminal_size=(120, 40), run_before=select("i:web.1"))


def test_help_screen(snap_compare: SnapCompare) -> None:
    assert snap_compare(fake_app(), press=["question_mark"], terminal_size=(120, 40), run_before=select())


def test_pane_focused_shows_in_border_table_header_and_footer(snap_compare: SnapCompare) -> None:
    assert snap_compare(fake_app(), press=["tab"], terminal_size=(120, 40), run_before=select("i:worker.1"))


def test_search_position_in_the_pane_border(snap_compare: SnapCompare) -> None:
    keys = ["enter", "slash", *"get", "enter", "n", "n"]
    assert snap_compare(fake_app(), press=keys, terminal_size=(120, 40), run_before=select("i:web.2"))


def test_restart_separator_and_lifecycle_lines(snap_compare: SnapCompare) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await select("i:cron.1")(pilot)
        app = pilot.app
        assert isinstance(app, ProcdashApp)
        app.feed.note("cron.1", "cron.1 exited with code 1")
        app.feed.note("cron.1", "── restarted · exit 1 · 21:02:11 ──")
        app.feed.note("cron.1", "cron.1 started (pid 41009, port 5300)")
        cron = app.formation.supervisor.find("cron.1")
        assert cron is not None
        cron.log.extend(["cron: cannot read schedule.yml"])
        app.feed.dirty_logs.add("cron.1")
        app._wake()
        await pilot.pause()
        app.flush()
        await pilot.pause()

    assert snap_compare(fake_app(), terminal_size=(120, 30), run_before=run_before)
