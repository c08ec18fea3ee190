"""Talking to processes from the dashboard (Pilot over real ptys): provisional rows, input mode, waiting badge."""

from __future__ import annotations

import sys
from pathlib import Path

from procdash.core.instance import State
from procdash.ui.app import ProcdashApp
from procdash.ui.widgets.input_bar import InputBar
from tests.helpers import wait_until, write
from tests.ui.conftest import MakeApp

SIZE = (120, 40)
PY = sys.executable
ASK = "ask: printf 'name? '; read x; echo \"hello $x\"; sleep 30\n"


def cell(app: ProcdashApp, key: str, column: str) -> str:
    """The plain text of one table cell."""
    return app.table.get_cell(key, column).plain


def partial_shown(app: ProcdashApp, name: str) -> str:
    """What the pane's provisional row shows, or "" when it is hidden."""
    row = app.panes[name].partial_row
    return "\n".join(row.rows) if row.display else ""


def log_lines(app: ProcdashApp, name: str) -> list[str]:
    """Every complete line of an instance."""
    inst = app.formation.supervisor.find(name)
    assert inst is not None
    return inst.log.tail(1000)


async def test_a_prompt_is_on_screen_before_any_key_and_i_bob_enter_answers_it(make_app: MakeApp) -> None:
    app = make_app(ASK)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(lambda: "ask.1" in app.panes)
        await wait_until(lambda: partial_shown(app, "ask.1") == "name? ")
        await wait_until(lambda: cell(app, "i:ask.1", "state").startswith("running · waiting"))
        assert "waiting for input" in str(app.panes["ask.1"].title_text)
        # a type with one instance is one row: it is already selected
        await pilot.press("i")
        assert app.input_target == "ask.1"
        assert app.panes["ask.1"].title_text.plain == "INPUT → ask.1 · ctrl+] to leave"  # type: ignore[union-attr]
        assert app.panes["ask.1"].has_class("-input")
        assert app.query(InputBar) and "ctrl+] to leave" in str(app.query_one(InputBar).render())
        await pilot.press("b", "o", "b")
        await wait_until(lambda: partial_shown(app, "ask.1") == "name? bob")  # the echo, from the child
        # q is just a letter in input mode: the dashboard must not quit, the child gets it.
        await pilot.press("q", "backspace")
        await pilot.press("enter")
        await wait_until(lambda: "hello bob" in log_lines(app, "ask.1"))
        assert log_lines(app, "ask.1") == ["name? bob", "hello bob"]
        await wait_until(lambda: partial_shown(app, "ask.1") == "")
        await pilot.press("ctrl+right_square_bracket")
        assert app.input_target is None
        assert not app.query(InputBar)
        assert app.formation.supervisor.find("ask.1").state is State.RUNNING  # type: ignore[union-attr]


async def test_pdb_answers_and_continues_through_input_mode(make_app: MakeApp) -> None:
    app = make_app(f"dbg: {PY} -c 'x = 6; breakpoint(); print(\"after\", x)'; sleep 30\n")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(lambda: "dbg.1" in app.panes and partial_shown(app, "dbg.1") == "(Pdb) ")
        await pilot.press("i")  # the one-instance type is one row, already selected
        for key in "p x*7":
            await pilot.press("space" if key == " " else key)
        await pilot.press("enter")
        await wait_until(lambda: "42" in log_lines(app, "dbg.1"))
        await pilot.press("c", "enter")
        await wait_until(lambda: "after 6" in log_lines(app, "dbg.1"))


async def test_ctrl_c_in_input_mode_interrupts_the_child_and_procdash_runs_on(
    make_app: MakeApp, tmp_path: Path
) -> None:
    write(tmp_path / "spin.py", "import time\nprint('looping', flush=True)\nwhile True: time.sleep(0.05)\n")
    app = make_app(f"spin: {PY} spin.py\nother: sleep 30\n")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(lambda: "spin.1" in app.panes and "looping" in log_lines(app, "spin.1"))
        await pilot.press("i")  # the one-instance type is one row, already selected
        assert app.input_target == "spin.1"
        await pilot.press("ctrl+c")
        await wait_until(lambda: any("KeyboardInterrupt" in line for line in log_lines(app, "spin.1")))
        # The process ended, so input mode ended with a message; the dashboard and the other process run on.
        await wait_until(lambda: app.input_target is None)
        assert app.is_running
        assert app.formation.supervisor.find("other.1").state is State.RUNNING  # type: ignore[union-attr]


async def test_input_mode_is_refused_for_a_process_that_cannot_take_input(make_app: MakeApp) -> None:
    app = make_app("done: true\n")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(lambda: app.formation.supervisor.find("done.1") is not None)
        await wait_until(lambda: app.formation.supervisor.find("done.1").state is State.EXITED)  # type: ignore[union-attr]
        await pilot.press("i")  # the one-instance type is one row, already selected
        assert app.input_target is None


async def test_a_progress_bar_animates_in_the_provisional_row(make_app: MakeApp, tmp_path: Path) -> None:
    script = "import time\nfor i in range(1, 40):\n    print(f'\\r{i}%', end='', flush=True); time.sleep(0.05)\n"
    write(tmp_path / "bar.py", script + "time.sleep(30)\n")
    app = make_app(f"bar: {PY} bar.py\n")
    async with app.run_test(size=SIZE):
        seen: set[str] = set()

        def progressed() -> bool:
            if "bar.1" in app.panes:
                seen.add(partial_shown(app, "bar.1"))
            return len(seen - {""}) >= 5

        await wait_until(progressed)
        assert all(text.endswith("%") and "\r" not in text for text in seen - {""})
        assert log_lines(app, "bar.1") == []  # nothing is stored until the line completes


async def test_the_merged_view_lists_unfinished_lines_with_names(make_app: MakeApp) -> None:
    app = make_app(ASK)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(lambda: "ask.1" in app.panes and partial_shown(app, "ask.1") == "name? ")
        await pilot.press("a")
        await wait_until(lambda: app.merged_pane.partial_row.display)
        assert app.merged_pane.partial_row.rows == ["ask.1  | name? "]


async def test_the_palette_offers_typing_into_a_process(make_app: MakeApp) -> None:
    app = make_app(ASK)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(lambda: "ask.1" in app.panes and partial_shown(app, "ask.1") == "name? ")
        await pilot.press("ctrl+p")
        for key in "type into ask":
            await pilot.press("space" if key == " " else key)
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_until(lambda: app.input_target == "ask.1")
        await pilot.press("x", "enter")
        await wait_until(lambda: "hello x" in log_lines(app, "ask.1"))


async def test_a_wait_pops_up_one_notification(make_app: MakeApp) -> None:
    app = make_app(ASK)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(
            lambda: (
                app.formation.supervisor.find("ask.1") is not None and app.formation.supervisor.find("ask.1").waiting
            )
        )  # type: ignore[union-attr]
        await pilot.pause(0.2)
        titles = [n.title for n in app._notifications]
        assert titles.count("ask.1 is waiting for input") == 1
