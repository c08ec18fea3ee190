"""The formation starts before the dashboard is built: the app takes over what happened meanwhile."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import re
import signal
from pathlib import Path
from typing import Any

import pytest

from procdash import start
from procdash.core.backlog import Backlog
from procdash.core.instance import State
from procdash.core.project import load_project
from procdash.core.supervisor import Supervisor, SupervisorOptions
from procdash.ui.app import ProcdashApp
from procdash.ui.screens.quitting import QuitScreen
from procdash.view.local import LocalFormation
from tests.helpers import wait_until, write

SIZE = (100, 30)


def strip_sgr(text: str) -> str:
    """A line without its colour codes."""
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def formation(tmp_path: Path, procfile: str) -> tuple[Supervisor, Any]:
    """A real supervisor over ``procfile`` (not started) and its project."""
    write(tmp_path / "Procfile", procfile)
    project = load_project(procfile=str(tmp_path / "Procfile"), root=None, env=None, formation=None, port=None)
    return Supervisor.from_project(project, SupervisorOptions(timeout=1.0)), project


async def test_the_app_takes_over_every_event_fired_before_it_was_mounted(tmp_path: Path) -> None:
    supervisor, project = formation(tmp_path, "quick: echo early-line; exit 3\nslow: sleep 30\n")
    backlog = Backlog(supervisor)
    supervisor.start()  # as procdash start does, before Textual is even imported
    quick = supervisor.find("quick.1")
    assert quick is not None
    await wait_until(lambda: quick.state is State.CRASHED)  # started, printed, crashed: all before the app
    pids = {inst.name: inst.pid for inst in supervisor.instances()}
    app = ProcdashApp(LocalFormation(supervisor, project, backlog=backlog), argparse.Namespace(stats_interval=0.0))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        # Not started a second time: the same processes, and the crashed one was not restarted.
        assert {inst.name: inst.pid for inst in supervisor.instances()} == pids
        system = [strip_sgr(line) for line in app.feed.system_log.tail(50)]
        assert any(line.startswith("quick.1 started (pid") for line in system)
        assert any(line.startswith("slow.1 started (pid") for line in system)
        assert any("quick.1 exited with code 3" in line for line in system), system
        notes = [strip_sgr(line) for line in app.feed.lifecycle["quick.1"].tail(10)]
        assert any(line.startswith("quick.1 started") for line in notes)
        assert any("exited with code 3" in line for line in notes)
        merged = [strip_sgr(line) for line in app.feed.merged.tail(100)]
        assert any(line.endswith("| early-line") for line in merged), merged
        await wait_until(lambda: any(n.title == "quick.1 crashed" for n in app._notifications))
        await wait_until(lambda: "quick.1" in app.panes and "slow.1" in app.panes)
        # Events after the take-over still arrive (once: the backlog no longer records).
        supervisor.restart("quick.1")
        await wait_until(lambda: sum("quick.1 started" in strip_sgr(x) for x in app.feed.system_log.tail(50)) == 2)
        assert backlog.events == []
        await pilot.press("q")
        await wait_until(lambda: app.return_code == 0, timeout=15)
    assert supervisor.is_idle()


async def test_a_signal_before_the_app_was_up_quits_it_gracefully(tmp_path: Path) -> None:
    supervisor, project = formation(tmp_path, "slow: sleep 30\n")
    backlog = Backlog(supervisor)
    supervisor.start()
    slow = supervisor.find("slow.1")
    assert slow is not None
    await wait_until(lambda: slow.state is State.RUNNING)
    backlog.signals.append(signal.SIGTERM)  # what procdash start's early handler records
    app = ProcdashApp(LocalFormation(supervisor, project, backlog=backlog), argparse.Namespace(stats_interval=0.0))
    async with app.run_test(size=SIZE):
        await wait_until(lambda: isinstance(app.screen, QuitScreen) or app.return_code is not None)
        await wait_until(lambda: app.return_code == 0, timeout=15)
    assert supervisor.is_idle()


def test_backlog_replays_in_order_keeps_lifecycle_past_its_limit_and_follows_replayed_causes() -> None:
    class Source:
        """Just enough of a Supervisor: subscribe and emit."""

        def __init__(self) -> None:
            self.subscribers: list[Any] = []

        def subscribe(self, callback: Any) -> Any:
            self.subscribers.append(callback)
            return lambda: self.subscribers.remove(callback)

        def emit(self, event: Any) -> None:
            for callback in list(self.subscribers):
                callback(event)

    from procdash.core import events as ev

    source = Source()
    backlog = Backlog(source, limit=3)  # type: ignore[arg-type]
    inst: Any = object()
    first, second = ev.Notice("first"), ev.Notice("second")
    for event in (first, ev.Output(inst, ["a"]), ev.Output(inst, ["b"]), ev.Output(inst, ["c"]), second):
        source.emit(event)
    assert backlog.dropped == 1 and backlog.events[-1] is second  # output past the limit only
    seen: list[Any] = []
    caused = ev.Notice("caused by the replay")

    def take(event: Any) -> None:
        seen.append(event)
        if event is first:
            source.emit(caused)  # still recorded: delivered after the rest, not lost

    async def hand_over() -> None:
        backlog.hand_over(take)

    asyncio.run(hand_over())
    assert [getattr(e, "text", "output") for e in seen] == ["first", "output", "output", "second", caused.text]
    later = ev.Notice("later")
    source.emit(later)
    assert seen[-1] is later and seen.count(later) == 1
    assert source.subscribers == [take]


async def test_procdash_start_runs_the_formation_before_it_imports_the_ui(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    supervisor, project = formation(tmp_path, "slow: sleep 30\n")
    seen_at_import: list[list[State]] = []
    real_import = importlib.import_module

    def spy(name: str, package: str | None = None) -> Any:
        if name == "procdash.ui.app":
            seen_at_import.append([inst.state for inst in supervisor.instances()])
        return real_import(name, package)

    class Quitting(ProcdashApp):
        """The real app, quitting as soon as it is mounted."""

        async def on_mount(self) -> None:
            await super().on_mount()
            self.call_after_refresh(self.action_request_quit)

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # never the person's own settings
    monkeypatch.setattr(start.importlib, "import_module", spy)
    monkeypatch.setattr("procdash.ui.app.ProcdashApp", Quitting)
    args = argparse.Namespace(stats_interval=0.0, detach_key="ctrl+]")

    async def run_headless_test_app() -> int:
        # run_dashboard as procdash start calls it, but with Textual's headless driver (no terminal here).
        original = Quitting.run_async

        async def headless(self: Quitting, **kwargs: Any) -> Any:
            return await original(self, headless=True, size=SIZE)

        monkeypatch.setattr(Quitting, "run_async", headless)
        return await start.run_dashboard(supervisor, project, args, list)

    code = await asyncio.wait_for(run_headless_test_app(), 30)
    assert code == 0
    assert seen_at_import == [[State.RUNNING]]
    assert supervisor.is_idle()
