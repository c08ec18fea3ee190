"""The local formation view over a supervisor started before the app (as ``procdash start`` does)."""

from __future__ import annotations

import argparse
import signal
from collections.abc import Callable
from pathlib import Path

from procdash.core import events as ev
from procdash.core.project import load_project
from procdash.core.supervisor import Subscriber, Supervisor, SupervisorOptions
from procdash.ui.app import ProcdashApp
from procdash.ui.screens.quitting import QuitScreen
from procdash.view.local import LocalFormation
from tests.helpers import wait_until, write


class Recorder:
    """Keeps a supervisor's events until a late subscriber takes them over (what start's backlog does)."""

    def __init__(self, supervisor: Supervisor) -> None:
        self.supervisor = supervisor
        self.events: list[ev.Event] = []
        self.signals: list[int] = []
        self._stop = supervisor.subscribe(self.events.append)

    def hand_over(self, callback: Subscriber) -> Callable[[], None]:
        for event in self.events:
            callback(event)
        self._stop()
        return self.supervisor.subscribe(callback)


def started(tmp_path: Path, procfile: str) -> tuple[Supervisor, LocalFormation, Recorder]:
    """A supervisor started before any app exists, and the view over it."""
    write(tmp_path / "Procfile", procfile)
    project = load_project(procfile=str(tmp_path / "Procfile"), root=None, env=None, formation=None, port=None)
    supervisor = Supervisor.from_project(project, SupervisorOptions(timeout=1.0))
    recorder = Recorder(supervisor)
    supervisor.start()
    return supervisor, LocalFormation(supervisor, project, backlog=recorder), recorder


async def test_an_early_started_formation_is_taken_over_not_started_again(tmp_path: Path) -> None:
    supervisor, formation, _ = started(tmp_path, "quick: echo early-line\nslow: sleep 30\n")
    slow = supervisor.find("slow.1")
    assert slow is not None
    pid = slow.pid
    app = ProcdashApp(formation, argparse.Namespace(stats_interval=0.0))
    async with app.run_test(size=(120, 40)):
        await wait_until(lambda: "quick.1" in app.panes and "early-line" in app.panes["quick.1"].view.all_text())
        assert slow.pid == pid and slow.restarts == 0  # taken over, not started a second time
        assert "quick.1 started" in app.feed.system_log.slice(0, 100)[0]  # the event from before the app
        await app.formation.stop_formation()
    assert supervisor.is_idle()


async def test_a_signal_before_the_app_was_up_quits_once_it_is(tmp_path: Path) -> None:
    supervisor, formation, recorder = started(tmp_path, "slow: sleep 30\n")
    recorder.signals.append(signal.SIGTERM)
    app = ProcdashApp(formation, argparse.Namespace(stats_interval=0.0))
    async with app.run_test(size=(120, 40)):
        await wait_until(lambda: isinstance(app.screen, QuitScreen) or app.return_code is not None)
        await wait_until(supervisor.is_idle)
