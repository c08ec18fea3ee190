"""The dashboard driven through Pilot over real child processes: scaling, restarting, crashes, quitting."""

from __future__ import annotations

import fcntl
import struct
import termios
from pathlib import Path

import psutil
from textual.command import CommandList, CommandPalette

from procdash.core.instance import State
from procdash.core.supervisor import Supervisor
from procdash.ui.app import ProcdashApp
from procdash.ui.screens.quitting import QuitScreen
from tests.helpers import environ_after_exec, wait_until
from tests.ui.conftest import MakeApp

SIZE = (120, 40)


def running(supervisor: Supervisor, name: str) -> bool:
    """Whether an instance runs with a pid."""
    inst = supervisor.find(name)
    return inst is not None and inst.state is State.RUNNING and inst.pid is not None


def pid_of(supervisor: Supervisor, name: str) -> int:
    """The pid of a running instance."""
    inst = supervisor.find(name)
    assert inst is not None and inst.pid is not None
    return inst.pid


def gone(pid: int) -> bool:
    """Whether a pid no longer names a live process (reaped, or a zombie at most)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def cell(app: ProcdashApp, key: str, column: str) -> str:
    """The plain text of one table cell."""
    return app.table.get_cell(key, column).plain


async def test_plus_starts_the_next_instance_on_the_next_port(make_app: MakeApp) -> None:
    app = make_app("web: sleep 30\n", port="6000")
    async with app.run_test(size=SIZE) as pilot:
        sup = app.formation.supervisor
        await wait_until(lambda: running(sup, "web.1"))
        assert app.table.selected_key == "i:web.1"  # a type with one instance is one row
        assert app.table.row_keys == ["i:web.1"]
        await pilot.press("plus")
        await wait_until(lambda: running(sup, "web.2"))
        env = await environ_after_exec(pid_of(sup, "web.2"), "sleep")
        assert env["PORT"] == "6001"
        assert env["PS"] == "web.2"
        assert sup.desired["web"] == 2
        await wait_until(lambda: "i:web.2" in app.table.row_keys and cell(app, "i:web.2", "state") == "running")
        assert cell(app, "i:web.2", "port") == "6001"
        assert cell(app, "t:web", "name") == "web 2/2"
        assert app.table.row_keys == ["t:web", "i:web.1", "i:web.2"]
        assert app.table.selected_key == "i:web.1"
        assert app.panes["web.2"].display and app.panes["web.1"].display
        await pilot.press("equals_sign")
        await wait_until(lambda: running(sup, "web.3"))
        assert (await environ_after_exec(pid_of(sup, "web.3"), "sleep"))["PORT"] == "6002"


async def test_minus_stops_the_newest_and_zero_keeps_the_row(make_app: MakeApp) -> None:
    app = make_app("web: sleep 30\n", formation="web=2")
    async with app.run_test(size=SIZE) as pilot:
        sup = app.formation.supervisor
        await wait_until(lambda: running(sup, "web.1") and running(sup, "web.2"))
        first, newest = pid_of(sup, "web.1"), pid_of(sup, "web.2")
        await pilot.press("minus")
        await wait_until(lambda: sup.find("web.2") is None)
        assert gone(newest)
        assert pid_of(sup, "web.1") == first
        await wait_until(lambda: "i:web.2" not in app.table.row_keys)
        await pilot.press("minus", "minus")
        await wait_until(lambda: not sup.instances())
        assert sup.desired["web"] == 0
        assert gone(first)
        await wait_until(lambda: app.table.row_keys == ["t:web"])
        assert cell(app, "t:web", "state") == "scaled to 0"
        assert app.empty_pane.display
        await pilot.press("s")  # start on an empty type row scales it to one
        await wait_until(lambda: running(sup, "web.1"))


async def test_r_restarts_the_selected_instance_with_a_new_pid(make_app: MakeApp) -> None:
    app = make_app("web: sleep 30\n")
    async with app.run_test(size=SIZE) as pilot:
        sup = app.formation.supervisor
        await wait_until(lambda: running(sup, "web.1"))
        old = pid_of(sup, "web.1")
        await pilot.press("down")
        assert app.table.selected_key == "i:web.1"
        await pilot.press("r")
        await wait_until(lambda: running(sup, "web.1") and pid_of(sup, "web.1") != old)
        assert gone(old)
        inst = sup.find("web.1")
        assert inst is not None and inst.restarts == 1
        await wait_until(lambda: cell(app, "i:web.1", "pid") == str(inst.pid))
        assert cell(app, "i:web.1", "restarts") == "1"


async def test_s_stops_and_starts_the_selected_instance(make_app: MakeApp) -> None:
    app = make_app("web: sleep 30\n")
    async with app.run_test(size=SIZE) as pilot:
        sup = app.formation.supervisor
        await wait_until(lambda: running(sup, "web.1"))
        old = pid_of(sup, "web.1")
        await pilot.press("j", "s")
        await wait_until(lambda: sup.find("web.1") is not None and sup.find("web.1").state is State.STOPPED)  # type: ignore[union-attr]
        assert gone(old)
        await wait_until(lambda: cell(app, "i:web.1", "state") == "stopped")
        await pilot.press("s")
        await wait_until(lambda: running(sup, "web.1"))


async def test_a_crash_shows_with_a_toast_and_R_brings_it_back(make_app: MakeApp, tmp_path: Path) -> None:
    procfile = "ok: sleep 30\nbad: if [ -f started ]; then sleep 30; else touch started; echo oops; exit 3; fi\n"
    app = make_app(procfile)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        sup = app.formation.supervisor
        await wait_until(lambda: sup.find("bad.1") is not None and sup.find("bad.1").state is State.CRASHED)  # type: ignore[union-attr]
        await wait_until(lambda: cell(app, "i:bad.1", "state") == "crashed (exit 3)")
        assert cell(app, "i:bad.1", "exit") == "3"
        assert "t:bad" not in app.table.row_keys  # one instance, one row
        await wait_until(lambda: any(n.title == "bad.1 crashed" for n in app._notifications))
        ok_pid = pid_of(sup, "ok.1")
        await pilot.press("R")
        await wait_until(lambda: running(sup, "bad.1"))
        assert pid_of(sup, "ok.1") == ok_pid  # R only touches what failed
        await wait_until(lambda: cell(app, "i:bad.1", "state") == "running")


async def test_q_stops_everything_with_progress_and_leaves_no_process(make_app: MakeApp) -> None:
    procfile = "web: sleep 30\nstubborn: trap '' TERM; while :; do sleep 0.1; done\n"
    app = make_app(procfile, formation="web=2")
    async with app.run_test(size=SIZE) as pilot:
        sup = app.formation.supervisor
        await wait_until(lambda: all(running(sup, n) for n in ("web.1", "web.2", "stubborn.1")))
        pids = [inst.pid for inst in sup.instances() if inst.pid is not None]
        await pilot.press("q")
        assert isinstance(app.screen, QuitScreen)
        await wait_until(lambda: app.return_code == 0, timeout=15)
    assert sup.is_idle()
    assert all(gone(pid) for pid in pids)
    stubborn = sup.find("stubborn.1")
    assert stubborn is not None and stubborn.exit_description == "SIGKILL"  # outlived the 1 s timeout


async def test_second_q_kills_at_once(make_app: MakeApp) -> None:
    app = make_app("stubborn: trap '' TERM; while :; do sleep 0.1; done\n", timeout=60)
    async with app.run_test(size=SIZE) as pilot:
        sup = app.formation.supervisor
        await wait_until(lambda: running(sup, "stubborn.1"))
        pid = pid_of(sup, "stubborn.1")
        await pilot.press("q")
        assert isinstance(app.screen, QuitScreen)
        await pilot.press("q")
        # Far below the 60 s stop timeout: only the kill can have ended it.
        await wait_until(lambda: app.return_code == 0, timeout=10)
    assert gone(pid)
    stubborn = sup.find("stubborn.1")
    assert stubborn is not None and stubborn.exit_description == "SIGKILL"


async def test_merged_view_interleaves_prefixed_lines(make_app: MakeApp) -> None:
    app = make_app("alpha: echo from-alpha; sleep 30\nbeta: echo from-beta; sleep 30\n")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(lambda: sum("from-" in line for line in app.feed.merged.tail(100)) == 2)
        plain = [_strip_sgr(line) for line in app.feed.merged.tail(100)]
        assert "alpha.1 | from-alpha" in plain
        assert "beta.1  | from-beta" in plain
        await pilot.press("a")
        assert app.mode == "all"
        assert app.merged_pane.display and not app.panes["alpha.1"].display
        await pilot.press("a")
        assert app.mode == "type"
        assert app.panes["alpha.1"].display and not app.merged_pane.display


async def test_focus_view_and_pane_keys(make_app: MakeApp) -> None:
    app = make_app("talk: printf 'alpha one\\nbeta\\nalpha two\\n'; sleep 30\nother: sleep 30\n")
    async with app.run_test(size=SIZE) as pilot:
        sup = app.formation.supervisor
        await wait_until(lambda: running(sup, "talk.1") and sup.find("talk.1").log.next_seq >= 3)  # type: ignore[union-attr]
        await pilot.press("enter")
        assert app.mode == "focus" and app.focus_name == "talk.1"
        pane = app.panes["talk.1"]
        assert app.focused is pane.view
        assert not app.table.display or "-focus-view" in app.table.classes
        assert not app.panes["other.1"].display
        await pilot.press("slash", *"alpha", "enter")
        assert pane.search_term == "alpha"
        assert pane.matches == 2
        assert "2/2" in str(pane.border_subtitle)  # from the tail, the newest hit first
        await pilot.press("n", "N")
        await pilot.press("backslash", *"beta", "enter")
        assert pane.filter_term == "beta"
        await wait_until(lambda: "beta" in pane.view.visible_text())
        assert "alpha" not in pane.view.visible_text()
        await pilot.press("y")
        assert app.clipboard == pane.view.visible_text()
        follow, wrap = pane.view.follow, pane.view.wrap
        await pilot.press("f", "w")
        assert pane.view.follow is not follow and pane.view.wrap is not wrap
        await pilot.press("c")
        assert "beta" not in pane.view.visible_text()
        await pilot.press("escape")  # first: the search highlights go
        assert pane.search_term is None and app.mode == "focus"
        await pilot.press("escape")
        assert app.mode == "type" and app.table.has_focus


async def test_focus_view_gives_the_pty_the_pane_size(make_app: MakeApp) -> None:
    app = make_app("tty: sleep 30\nother: sleep 30\n")
    async with app.run_test(size=SIZE) as pilot:
        sup = app.formation.supervisor
        await wait_until(lambda: running(sup, "tty.1"))
        await pilot.press("enter")
        view = app.panes["tty.1"].view

        def pty_size() -> tuple[int, int]:
            inst = sup.find("tty.1")
            assert inst is not None and inst.child is not None
            packed = fcntl.ioctl(inst.child.anchor_fd, termios.TIOCGWINSZ, b"\0" * 8)
            rows, columns, _, _ = struct.unpack("HHHH", packed)
            return columns, rows

        await wait_until(lambda: pty_size() == (view.size.width, view.size.height))
        assert view.size.width > 100  # the full-width pane, not the terminal default


async def test_command_palette_scales_a_type_to_n(make_app: MakeApp) -> None:
    app = make_app("web: sleep 30\n")
    async with app.run_test(size=SIZE) as pilot:
        sup = app.formation.supervisor
        await wait_until(lambda: running(sup, "web.1"))
        await pilot.press("ctrl+p")
        await pilot.press(*[("space" if ch == " " else ch) for ch in "scale web to 3"])
        await wait_until(lambda: isinstance(app.screen, CommandPalette), timeout=5)
        commands = app.screen.query_one(CommandList)
        await wait_until(lambda: commands.option_count > 0, timeout=5)
        first = commands.get_option_at_index(0).prompt
        assert "scale web to 3" in str(first)
        await pilot.press("enter")
        await pilot.pause()
        if isinstance(app.screen, CommandPalette):
            await pilot.press("enter")
        await wait_until(lambda: running(sup, "web.3"))
        assert sup.desired["web"] == 3


async def test_help_lists_keys_and_closes(make_app: MakeApp) -> None:
    app = make_app("web: sleep 30\n")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        from procdash.ui.screens.help import HelpScreen

        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_cpu_and_memory_columns_fill_in(make_app: MakeApp) -> None:
    app = make_app("web: sleep 30\n", stats_interval=0.2)
    async with app.run_test(size=SIZE):
        await wait_until(lambda: app.metrics is not None and "web.1" in app.metrics.snapshot.instances)
        await wait_until(lambda: cell(app, "i:web.1", "mem").endswith(("K", "M")))
        assert cell(app, "i:web.1", "cpu").endswith("%")
        assert "t:web" not in app.table.row_keys
        header = str(app.query_one("#header").render())
        assert "mem " in header and "web 1" in header


def _strip_sgr(line: str) -> str:
    """A merged-log line without its colour escapes."""
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", line)
