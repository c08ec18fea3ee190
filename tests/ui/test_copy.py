"""Copying a selected range or a whole pane, saying honestly where it went, and saving a pane's log."""

from __future__ import annotations

from pathlib import Path

import pytest

from procdash.core.instance import State
from procdash.ui.app import ProcdashApp
from tests.helpers import wait_until
from tests.ui.conftest import MakeApp

SIZE = (100, 30)
PROCFILE = "web: for i in $(seq 1 60); do echo line-$i; done; exec sleep 30\n"


async def ready(app: ProcdashApp) -> None:
    """web printed its 60 lines into its pane."""
    await wait_until(lambda: (i := app.formation.supervisor.find("web.1")) is not None and i.state is State.RUNNING)
    await wait_until(lambda: "web.1" in app.panes and app.panes["web.1"].view.line_count >= 61)


async def test_v_selects_lines_and_y_copies_exactly_them(make_app: MakeApp, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    app = make_app(PROCFILE)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ready(app)
        await pilot.press("enter")  # focus view of web.1
        await pilot.press("v", "k", "k", "y")
        await pilot.pause()
        assert app.clipboard == "line-58\nline-59\nline-60"
        await wait_until(lambda: any("sent 3 lines of web.1" in n.message for n in app._notifications))
        assert not any(n.message.startswith("copied") for n in app._notifications)
        assert app.panes["web.1"].view.selection is None
        await pilot.press("Y")
        await pilot.pause()
        assert app.clipboard.splitlines()[1:] == [f"line-{i}" for i in range(1, 61)]
        assert "web.1 started (pid" in app.clipboard.splitlines()[0]


async def test_ctrl_s_saves_the_pane_to_a_new_file(make_app: MakeApp, tmp_path: Path) -> None:
    app = make_app(PROCFILE)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ready(app)
        await pilot.press("ctrl+s")
        await pilot.pause()
        saved = sorted(tmp_path.glob("procdash-web.1-*.log"))
        assert len(saved) == 1
        lines = saved[0].read_text().splitlines()
        assert lines[1:] == [f"line-{i}" for i in range(1, 61)]
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert len(list(tmp_path.glob("procdash-web.1-*.log"))) == 2  # never overwritten
        assert any("saved 61 lines of web.1" in n.message for n in app._notifications)
