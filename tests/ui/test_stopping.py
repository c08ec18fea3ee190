"""The dashboard says how a stop goes: the quit dialog's countdown, and a restarted instance's exit as history."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from procdash.core.instance import State
from procdash.ui.screens.quitting import QuitScreen
from tests.helpers import wait_until
from tests.ui.conftest import MakeApp

SIZE = (120, 40)
STUBBORN = (
    "stubborn: python3 -c 'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
    ' print("ready", flush=True); time.sleep(60)\'\n'
)


async def test_the_quit_dialog_counts_down_to_the_kill(make_app: MakeApp) -> None:
    app = make_app(STUBBORN, timeout=2.0)
    async with app.run_test(size=SIZE) as pilot:
        sup = app.formation.supervisor
        await wait_until(lambda: sup.find("stubborn.1") is not None and "ready" in sup.find("stubborn.1").log.tail(1))  # type: ignore[union-attr]
        await pilot.press("q")
        assert isinstance(app.screen, QuitScreen)

        def listed() -> str:
            content = app.screen.query_one("#quit-list", Static).content
            return content.plain if isinstance(content, Text) else str(content)

        await wait_until(lambda: "stubborn.1" in listed() and "stopping (SIGTERM, kill in 2s)" in listed(), timeout=3)
        await wait_until(lambda: "kill in 1s" in listed() or "kill in 0s" in listed(), timeout=3)
        await wait_until(lambda: sup.is_idle(), timeout=5)
    lines = [line for line in app.feed.merged.tail(10) if "stubborn.1" in line]
    assert any("stubborn.1 stopping (SIGTERM, kill in 2s)" in line for line in lines), lines
    assert any("stubborn.1 killed after 2." in line and "(ignored SIGTERM)" in line for line in lines), lines


async def test_a_restarted_instance_shows_its_previous_exit_as_history(make_app: MakeApp) -> None:
    app = make_app("web: sleep 30\n")
    async with app.run_test(size=SIZE) as pilot:
        sup = app.formation.supervisor
        await wait_until(lambda: sup.find("web.1") is not None and sup.find("web.1").state is State.RUNNING)  # type: ignore[union-attr]
        first = sup.find("web.1").pid  # type: ignore[union-attr]
        await pilot.press("r")  # web.1 is the only row
        await wait_until(lambda: sup.find("web.1").state is State.RUNNING and sup.find("web.1").pid != first)  # type: ignore[union-attr]
        await wait_until(lambda: app.table.get_cell("i:web.1", "exit").plain == "was SIGTERM")
        cell: Text = app.table.get_cell("i:web.1", "exit")
        assert cell.style == "dim" or "dim" in str(cell.style)
