"""The dashboard's edit-run loop keys with real files and processes: S saves the formation, ctrl+r reloads."""

from __future__ import annotations

import argparse
from pathlib import Path

from procdash.ui.app import ProcdashApp
from procdash.view.local import LocalFormation
from tests.core.test_reload import pid, setup
from tests.helpers import wait_until, write


async def test_s_saves_ctrl_r_reloads_and_the_palette_saves(tmp_path: Path) -> None:
    sup, loop = setup(tmp_path, "web: exec sleep 60\n", "# comment stays\n")
    app = ProcdashApp(LocalFormation(sup, loop.project, [loop]), argparse.Namespace(stats_interval=0.0))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(lambda: pid(sup, "web.1"))
        first = pid(sup, "web.1")
        write(tmp_path / "Procfile", "web: exec sleep 60\nclock: exec sleep 61\n")
        await pilot.press("ctrl+r")
        await wait_until(lambda: pid(sup, "clock.1"))
        await wait_until(lambda: "i:clock.1" in app.table.row_keys)
        assert pid(sup, "web.1") == first
        await pilot.press("plus")
        await wait_until(lambda: pid(sup, "web.2"))
        await pilot.press("S")
        await wait_until(lambda: 'formation = "web=2,clock=1"' in (tmp_path / "Procfile.toml").read_text())
        assert (tmp_path / "Procfile.toml").read_text().startswith("# comment stays\n")
        write(tmp_path / "Procfile", "web exec\n")
        await pilot.press("ctrl+r")
        await wait_until(lambda: any("Procfile:1:" in str(n.message) for n in app._notifications))
        assert pid(sup, "clock.1") is not None and pid(sup, "web.1") == first
        app.scale_to("web", 3)
        await pilot.press("ctrl+p")
        await pilot.press(*"save formation")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_until(lambda: 'formation = "web=3,clock=1"' in (tmp_path / "Procfile.toml").read_text())
