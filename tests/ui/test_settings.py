"""Colours and settings: child colours 0-15 stay terminal palette colours; choices persist in a settings file."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from textual.filter import ANSIToTruecolor

from procdash.core.instance import State
from procdash.core.project import load_project
from procdash.core.supervisor import Supervisor, SupervisorOptions
from procdash.ui import settings as store
from procdash.ui.app import ProcdashApp
from procdash.view.local import LocalFormation
from tests.helpers import wait_until, write


def app_with_settings(tmp_path: Path, path: Path) -> ProcdashApp:
    """A dashboard over one sleeper that reads and writes ``path``."""
    write(tmp_path / "Procfile", "web: printf '\\033[31mred\\033[0m\\n'; exec sleep 30\n")
    project = load_project(procfile=str(tmp_path / "Procfile"), root=None, env=None, formation=None, port=None)
    supervisor = Supervisor.from_project(project, SupervisorOptions(timeout=1.0))
    return ProcdashApp(LocalFormation(supervisor, project), argparse.Namespace(stats_interval=0), settings_path=path)


async def test_child_ansi_colours_are_left_to_the_terminal_palette(tmp_path: Path) -> None:
    app = app_with_settings(tmp_path, tmp_path / "none.json")
    async with app.run_test(size=(100, 30)):
        await wait_until(lambda: "web.1" in app.panes and app.panes["web.1"].view.line_count >= 2)
        assert app.native_ansi_color
        assert not any(isinstance(f, ANSIToTruecolor) and f.enabled for f in app._filters)
        view = app.panes["web.1"].view
        await wait_until(lambda: view.size.height > 2)
        segments = [seg for y in range(view.size.height) for seg in view.render_line(y)]
        red = next(seg for seg in segments if seg.text.startswith("red")), [s.text for s in segments[:8]]
        assert red[0].style is not None and red[0].style.color is not None, red
        assert red[0].style.color.number == 1


async def test_settings_are_applied_and_written_back(tmp_path: Path) -> None:
    path = tmp_path / "config" / "procdash" / "settings.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"theme": "textual-light", "wrap": True, "timestamps": True, "sort": "name"}))
    app = app_with_settings(tmp_path, path)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(lambda: (i := app.formation.supervisor.find("web.1")) is not None and i.state is State.RUNNING)
        await wait_until(lambda: "web.1" in app.panes)
        assert app.theme == "textual-light"
        assert app.timestamps and app.panes["web.1"].view.timestamps and app.panes["web.1"].view.wrap
        assert app.order.key == "name"
        await pilot.press("t")
        assert json.loads(path.read_text())["timestamps"] is False
        app.theme = "textual-dark"
        await pilot.pause()
        await wait_until(lambda: json.loads(path.read_text())["theme"] == "textual-dark")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"theme": "textual-light",\n "wrap": "yes"}', "bad value wrap='yes'"),
        ('{"wrap": true,,}', ":1: not valid JSON"),
        ('{"colour": "red"}', "unknown key colour"),
        ("[1, 2]", "expected a JSON object"),
    ],
)
def test_a_bad_settings_file_is_reported_in_one_line_and_defaults_are_used(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "settings.json"
    path.write_text(content)
    settings, problem = store.load(path)
    assert problem is not None and str(path) in problem and message in problem and "\n" not in problem
    assert settings.wrap is False


def test_the_file_lives_under_the_users_config_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert store.default_path() == tmp_path / "procdash" / "settings.json"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert store.default_path() == Path.home() / ".config" / "procdash" / "settings.json"


async def test_a_light_theme_draws_the_dashboard_in_theme_colours_not_the_terminals(tmp_path: Path) -> None:
    app = app_with_settings(tmp_path, tmp_path / "none.json")
    async with app.run_test(size=(100, 30)) as pilot:
        app.theme = "textual-light"
        await pilot.pause()
        theme = app.current_theme
        for widget in (app.screen, app.query_one("#header"), app.table):
            style = widget.rich_style
            assert style.color is not None and style.color.triplet is not None, widget  # not ansi_default
            assert style.bgcolor is not None and style.bgcolor.triplet is not None, widget
        assert app.screen.styles.background.hex.lower() == str(theme.background).lower()
