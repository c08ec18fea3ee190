"""Fixtures for dashboard tests: a real supervisor over a Procfile written for the test."""

from __future__ import annotations

import argparse
import asyncio
import inspect
from collections.abc import Callable
from pathlib import Path

import pytest

from procdash.core.instance import State
from procdash.core.project import load_project
from procdash.core.supervisor import Supervisor, SupervisorOptions
from procdash.ui.app import ProcdashApp
from procdash.view.local import LocalFormation
from tests.helpers import wait_until, write

MakeApp = Callable[..., ProcdashApp]


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run ``async def`` tests on a fresh event loop (no asyncio plugin is installed)."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    asyncio.run(pyfuncitem.obj(**{name: pyfuncitem.funcargs[name] for name in names}))
    return True


@pytest.fixture
def make_app(tmp_path: Path) -> MakeApp:
    """Build a dashboard over a real supervisor: ``make_app("web: sleep 30\\n", formation="web=1")``."""

    def build(
        procfile: str,
        *,
        formation: str | None = None,
        port: str | None = None,
        stats_interval: float = 0.0,
        timeout: float = 1.0,
        **options: object,
    ) -> ProcdashApp:
        write(tmp_path / "Procfile", procfile)
        project = load_project(procfile=str(tmp_path / "Procfile"), root=None, env=None, formation=formation, port=port)
        supervisor = Supervisor.from_project(project, SupervisorOptions(timeout=timeout, **options))  # type: ignore[arg-type]
        return ProcdashApp(LocalFormation(supervisor, project), argparse.Namespace(stats_interval=stats_interval))

    return build


async def all_running(app: ProcdashApp, count: int) -> None:
    """Wait until ``count`` instances run and the table shows them."""
    sup = app.formation.supervisor
    await wait_until(lambda: sum(inst.state is State.RUNNING for inst in sup.instances()) == count)
    await wait_until(lambda: len(app.table.row_keys) == count + 1 and not app.feed.table_dirty)


def hold_still(app: ProcdashApp) -> None:
    """Stop the app's second, whose uptimes and readings would otherwise rewrite the cells a test set."""
    app._ticker.stop()
