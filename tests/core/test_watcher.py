"""Restart on file change with real files, a real watcher and real processes."""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from procdash import editloop
from procdash.core import events as ev
from procdash.core.globs import PathPatterns
from procdash.core.instance import State
from procdash.core.project import load_project
from procdash.core.supervisor import Supervisor, SupervisorOptions
from tests.helpers import wait_until, wait_until_sync, write

PROCDASH = [sys.executable, "-m", "procdash"]
SLEEPER = "exec sleep 60"


def test_patterns_follow_gitignore_rules() -> None:
    watch = PathPatterns(["src/**/*.py", "config", "*.toml"])
    assert watch.matches("src/app.py")
    assert watch.matches("src/deep/er/app.py")
    assert not watch.matches("src/app.js")
    assert not watch.matches("lib/app.py")
    assert watch.matches("config/app.yml")  # a directory pattern covers what is under it
    assert watch.matches("pyproject.toml") and watch.matches("sub/pyproject.toml")
    ignore = PathPatterns(["node_modules", "*.swp", ".#*", "build/out/*"])
    assert ignore.matches("node_modules/x/index.js")
    assert ignore.matches("src/.app.py.swp")
    assert ignore.matches("src/.#app.py")
    assert ignore.matches("build/out/a.o") and not ignore.matches("build/a.o")
    assert PathPatterns(["src/[ab].py"]).matches("src/a.py") and not PathPatterns(["src/[!ab].py"]).matches("src/a.py")
    assert PathPatterns(["src/**/*.py", "config/*.yml"]).bases() == ["src", "config"]
    assert PathPatterns(["*.py"]).bases() == [""]


def formation(tmp_path: Path, procfile: str, options: str, formation: str | None = None) -> Supervisor:
    """A supervisor for real project files in tmp_path."""
    write(tmp_path / "Procfile", procfile)
    write(tmp_path / "Procfile.toml", options)
    project = load_project(procfile=str(tmp_path / "Procfile"), root=None, env=None, formation=formation, port=None)
    sup = Supervisor.from_project(project, SupervisorOptions(timeout=2.0))
    sup.project = project  # type: ignore[attr-defined]
    return sup


def run(sup: Supervisor, body: Callable[[Supervisor, editloop.EditLoop], Awaitable[None]]) -> None:
    """Start the formation and its watcher, warm the watcher up, run the body, stop everything."""
    project = sup.project  # type: ignore[attr-defined]
    services = editloop.services(argparse.Namespace(no_watch=False, log_dir=None), project, sup)
    (watching,) = (s for s in services if isinstance(s, editloop.EditLoop))

    async def main() -> None:
        sup.start()
        await watching.start(sup)
        try:
            # The watcher is live once it reports a change to a file no rule matches.
            warm = project.root / "src" / "warm-up.txt"  # under every test's watched directory
            warm.parent.mkdir(exist_ok=True)

            async def live() -> bool:
                warm.write_text(str(time.monotonic()))
                await asyncio.sleep(0.05)
                return watching.watcher.batches > 0

            deadline = time.monotonic() + 10
            while not await live():
                assert time.monotonic() < deadline, "the watcher never reported a change"
            await asyncio.sleep(0.2)
            await body(sup, watching)
        finally:
            await watching.stop()
            await sup.stop_all()
            sup.close()

    asyncio.run(main())


def pids(sup: Supervisor, type_name: str) -> list[int | None]:
    """The pids of a type's instances."""
    return [inst.pid for inst in sup.slots[type_name]]


def test_a_change_to_an_ignored_or_unmatched_file_restarts_nothing(tmp_path: Path) -> None:
    options = '[web]\nwatch = ["src/**/*.py"]\nwatch_ignore = ["src/generated"]\nwatch_debounce = 0.05\n'
    sup = formation(tmp_path, f"web: {SLEEPER}\nworker: {SLEEPER}\n", options)
    write(tmp_path / "src" / "app.py", "x = 1\n")

    async def body(sup: Supervisor, watching: editloop.EditLoop) -> None:
        await wait_until(lambda: all(pids(sup, t)[0] for t in ("web", "worker")))
        before = pids(sup, "web") + pids(sup, "worker")
        write(tmp_path / "src" / "generated" / "models.py", "y = 2\n")
        write(tmp_path / "src" / ".app.py.swp", "swap")
        write(tmp_path / "src" / "__pycache__" / "app.cpython-311.pyc", "bytes")
        write(tmp_path / "node_modules" / "x.py", "z")
        write(tmp_path / "README.md", "docs")
        batches = watching.watcher.batches
        await wait_until(lambda: watching.watcher.batches > batches)  # the watcher saw them ...
        await asyncio.sleep(0.5)
        assert watching.restarter.rolls == 0  # ... and nothing restarted
        assert pids(sup, "web") + pids(sup, "worker") == before
        write(tmp_path / "src" / "app.py", "x = 2\n")
        await wait_until(lambda: pids(sup, "web")[0] not in (None, before[0]), timeout=10)
        assert pids(sup, "worker") == before[1:]  # only the watching type restarts

    run(sup, body)


def test_a_burst_of_twenty_saves_restarts_once(tmp_path: Path) -> None:
    sup = formation(tmp_path, f"web: {SLEEPER}\n", '[web]\nwatch = ["*.py"]\nwatch_debounce = 0.4\n')
    events: list[ev.Event] = []
    sup.subscribe(events.append)

    async def body(sup: Supervisor, watching: editloop.EditLoop) -> None:
        await wait_until(lambda: pids(sup, "web")[0])
        first = pids(sup, "web")[0]
        for index in range(20):
            write(tmp_path / "app.py", f"version = {index}\n")
            await asyncio.sleep(0.02)
        await wait_until(lambda: pids(sup, "web")[0] not in (None, first), timeout=10)
        await asyncio.sleep(1.0)  # longer than the debounce: a second restart would have begun
        assert watching.restarter.rolls == 1
        inst = sup.slots["web"][0]
        assert inst.restarts == 1 and inst.reason == "app.py changed"
        notices = [e.text for e in events if isinstance(e, ev.Notice)]
        assert notices.count("web.1 restarting: app.py changed") == 1

    run(sup, body)


def test_rolling_restart_waits_for_each_instance_to_be_ready(tmp_path: Path) -> None:
    serve = "import http.server as h, os; h.test(h.SimpleHTTPRequestHandler, port=int(os.environ['PORT']))"
    command = f'sleep 0.4; exec {sys.executable} -c "{serve}"'
    options = '[web]\nwatch = ["src/*.py"]\nwatch_debounce = 0.05\nready = { tcp = true, interval = 0.05 }\n'
    sup = formation(tmp_path, f"web: {command}\n", options, formation="web=2")
    write(tmp_path / "src" / "app.py", "")
    order: list[tuple[str, str]] = []

    def record(event: ev.Event) -> None:
        if isinstance(event, ev.Started):
            order.append(("started", event.instance.name))
        elif isinstance(event, ev.Stopping):
            order.append(("stopping", event.instance.name))
        elif isinstance(event, ev.Notice) and " is ready " in event.text:
            order.append(("ready", event.instance.name if event.instance else ""))

    async def body(sup: Supervisor, watching: editloop.EditLoop) -> None:
        await wait_until(lambda: all(inst.ready for inst in sup.slots["web"]), timeout=20)
        sup.subscribe(record)
        write(tmp_path / "src" / "app.py", "changed = True\n")
        await wait_until(lambda: order.count(("ready", "web.2")) == 1, timeout=30)
        assert order == [
            ("stopping", "web.1"),
            ("started", "web.1"),
            ("ready", "web.1"),  # web.2 keeps serving until web.1 is back
            ("stopping", "web.2"),
            ("started", "web.2"),
            ("ready", "web.2"),
        ]
        assert all(inst.state is State.RUNNING for inst in sup.slots["web"])

    run(sup, body)


def test_reason_in_headless_output_and_ctl_status_and_no_watch(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "web: trap 'sleep 1.5; exit 0' TERM; while true; do sleep 0.1; done\n")
    write(tmp_path / "Procfile.toml", '[web]\nwatch = ["src/**/*.py"]\nwatch_debounce = 0.05\n')
    write(tmp_path / "src" / "app.py", "")
    out = tmp_path / "out.txt"
    with out.open("w") as sink:
        proc = subprocess.Popen([*PROCDASH, "--headless"], cwd=tmp_path, stdout=sink, stderr=subprocess.STDOUT)
    try:
        wait_until_sync(lambda: "web.1 started" in out.read_text())

        def status() -> str:
            return subprocess.run(
                [*PROCDASH, "ctl", "status"], cwd=tmp_path, capture_output=True, text=True, timeout=10
            ).stdout

        deadline = time.monotonic() + 15
        while "restarting: src/app.py changed" not in status():  # saved until the live watcher sees it
            assert time.monotonic() < deadline
            write(tmp_path / "src" / "app.py", f"# {time.monotonic()}\n")
            time.sleep(0.3)
        wait_until_sync(lambda: "last restarted by procdash: src/app.py changed" in status(), timeout=15)
        assert "system | web.1 restarting: src/app.py changed" in out.read_text()
    finally:
        proc.terminate()
        proc.wait(20)
    # --no-watch: the same change restarts nothing.
    out.write_text("")
    with out.open("w") as sink:
        proc = subprocess.Popen([*PROCDASH, "--headless", "--no-watch"], cwd=tmp_path, stdout=sink, stderr=sink)
    try:
        wait_until_sync(lambda: "web.1 started" in out.read_text())
        for index in range(5):
            write(tmp_path / "src" / "app.py", f"# {index}\n")
            time.sleep(0.2)
        time.sleep(0.5)
        assert "restarting" not in out.read_text()
    finally:
        proc.terminate()
        proc.wait(20)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[web]\nwatch = 3\n", "Procfile.toml:2: web.watch: expected a string or an array of strings, got an integer"),
        ('[web]\nwatch = ["/etc/*"]\n', "Procfile.toml:2: web.watch: '/etc/*': patterns are relative to the root"),
        ("[web]\n\nwatch_debounce = 300\n", "Procfile.toml:3: web.watch_debounce: 300 seconds is more than a minute"),
        ('[web]\nwatch_ignore = [""]\n', "Procfile.toml:2: web.watch_ignore: must not be empty"),
        ('[web]\nwach = ["x"]\n', "Procfile.toml:2: web.wach: unknown key (did you mean watch?)"),
    ],
)
def test_bad_watch_keys_name_file_line_and_key(tmp_path: Path, text: str, message: str) -> None:
    write(tmp_path / "Procfile", "web: echo never\n")
    write(tmp_path / "Procfile.toml", text)
    result = subprocess.run([*PROCDASH, "--headless"], cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert "never" not in result.stdout


def test_reload_auto_follows_the_procfile_and_its_options_file(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "web: exec sleep 60\n")
    write(tmp_path / "Procfile.toml", 'reload = "auto"\n')
    out = tmp_path / "out.txt"
    with out.open("w") as sink:
        proc = subprocess.Popen([*PROCDASH, "--headless"], cwd=tmp_path, stdout=sink, stderr=subprocess.STDOUT)
    try:
        wait_until_sync(lambda: "web.1 started" in out.read_text())
        deadline = time.monotonic() + 15
        while "reloaded: added clock" not in out.read_text():  # saved until the live watcher sees it
            assert time.monotonic() < deadline, out.read_text()
            write(tmp_path / "Procfile", f"web: exec sleep 60\nclock: exec sleep 61 # {time.monotonic()}\n")
            time.sleep(0.5)
        wait_until_sync(lambda: "clock.1 started" in out.read_text())
        write(tmp_path / "Procfile.toml", 'reload = "auto"\n[web]\nstop_timeout = "soon"\n')
        wait_until_sync(lambda: "reload failed, nothing changed: " in out.read_text(), timeout=15)
        assert "Procfile.toml:3: web.stop_timeout: expected a number of seconds" in out.read_text()
        assert out.read_text().count("web.1 started") == 1  # web kept its process throughout
    finally:
        proc.terminate()
        proc.wait(20)


def test_bad_reload_value_names_the_line(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "web: echo never\n")
    write(tmp_path / "Procfile.toml", '\nreload = "sometimes"\n')
    result = subprocess.run([*PROCDASH, "--headless"], cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "Procfile.toml:2: reload: expected one of manual, auto, got 'sometimes'" in result.stderr


def test_the_restart_reason_shows_only_while_that_restart_is_under_way(tmp_path: Path) -> None:
    sup = formation(tmp_path, "web: trap 'sleep 0.5; exit 0' TERM; while true; do sleep 0.1; done\n", "")

    async def main() -> None:
        sup.start()
        try:
            inst = sup.slots["web"][0]
            await wait_until(lambda: inst.pid)
            sup.restart("web.1", reason="src/app.py changed")
            assert inst.status_text == "restarting: src/app.py changed"
            await wait_until(lambda: inst.state is State.RUNNING and inst.restarts == 1)
            assert inst.status_text == "running" and inst.reason == "src/app.py changed"
            sup.stop("web.1")  # a later stop is not that restart
            assert inst.state is State.STOPPING and inst.status_text == "stopping"
        finally:
            await sup.stop_all()
            sup.close()

    asyncio.run(main())
