"""Render the real dashboard running Procfile.sample into screenshots/*.svg and *.png.

Run from the repository root:  .venv/bin/python screenshots/generate.py
(PNG needs the ``screenshots`` extra: ``pip install -e '.[screenshots]'``.) The processes are real, so
pids, timings and CPU figures differ from run to run; regenerate whenever the UI changes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from procdash.core.instance import State  # noqa: E402
from procdash.core.project import load_project  # noqa: E402
from procdash.core.supervisor import Supervisor, SupervisorOptions  # noqa: E402
from procdash.ui.app import ProcdashApp  # noqa: E402
from procdash.view.local import LocalFormation  # noqa: E402

OUT = Path(__file__).resolve().parent
BASE_PORT = "47100"  # unusual, so the sample's web servers do not collide with anything local
# Rich's SVG asks for Fira Code; CairoSVG then falls back to a proportional font and columns drift,
# so the PNGs are drawn with a monospace font that is commonly installed.
PNG_FONT = ("font-family: Fira Code, monospace;", 'font-family: "DejaVu Sans Mono", monospace;')


def save(app: ProcdashApp, name: str) -> None:
    """Write the current screen as NAME.svg and, when CairoSVG is installed, NAME.png."""
    svg = app.export_screenshot(title=f"procdash · {name}")
    (OUT / f"{name}.svg").write_text(svg)
    try:
        import cairosvg  # type: ignore[import-untyped]
    except ImportError:
        print(f"{name}.svg (no cairosvg: PNG skipped)")
        return
    cairosvg.svg2png(bytestring=svg.replace(*PNG_FONT).encode(), write_to=str(OUT / f"{name}.png"))
    print(f"{name}.svg, {name}.png")


async def wait_for(predicate: Callable[[], bool], timeout: float) -> bool:
    """Poll until ``predicate`` holds or ``timeout`` passes; returns whether it held."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.1)
    return True


def request(port: int | None, path: str) -> None:
    """One GET against a sample web server, so its pane has access-log lines."""
    if port is None:
        return
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/{path}", timeout=2) as response:
            response.read()
    except OSError:
        pass  # a 404 or a refused port still leaves a line (or nothing) in the log; both are fine


async def shoot() -> None:
    """Start the sample formation, let something happen, and take each view."""
    project = load_project(
        procfile=str(REPO / "Procfile.sample"),
        root=None,
        env=None,
        formation="web=2,worker=2,flaky=1,release=1",
        port=BASE_PORT,
    )
    supervisor = Supervisor.from_project(
        project,
        # A long first backoff keeps the crash on screen while the shots are taken.
        SupervisorOptions(timeout=2, restart="on-failure", pty_size=(58, 30), backoff_base=8),
    )
    app = ProcdashApp(LocalFormation(supervisor, project), argparse.Namespace(stats_interval=0.5))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(lambda: all(i.state is not State.STARTING for i in supervisor.instances()), 10)
        await asyncio.sleep(1.0)
        for inst in supervisor.slots["web"]:
            for path in ("", "health", "api/items", "static/app.css", "api/items/42", "favicon.ico"):
                await asyncio.to_thread(request, inst.port, path)
        # flaky crashes on its own 3-8 s after it starts; on-failure restarts it with backoff.
        flaky = supervisor.slots["flaky"][0]
        await wait_for(lambda: flaky.state is State.BACKOFF or flaky.restarts > 0, 15)
        await wait_for(lambda: flaky.state is State.BACKOFF, 10)
        await pilot.pause()
        await wait_for(lambda: flaky.restarts > 0 and flaky.state is State.RUNNING, 20)
        await wait_for(lambda: flaky.state is State.BACKOFF, 15)
        app.table.select_key("i:flaky.1")
        await pilot.pause(0.3)
        save(app, "crashed")
        app.table.select_key("t:worker")
        await pilot.pause(0.3)
        save(app, "main")
        app.table.select_key("t:worker")
        await pilot.press("a")
        await pilot.pause(0.3)
        save(app, "merged")
        await pilot.press("a")
        app.table.select_key("i:worker.1")
        await pilot.press("enter", "slash", *"job 1", "enter")
        await pilot.pause(0.3)
        save(app, "focus-search")
        await pilot.press("escape", "escape", "question_mark")
        await pilot.pause(0.3)
        save(app, "help")
        await pilot.press("escape")
        app.table.select_key("i:web.2")
        await pilot.press("p")
        app.table.select_key("i:worker.1")
        await pilot.press("p", "P")
        await pilot.pause(0.3)
        save(app, "pinned")
        await pilot.press("P")
        app.table.select_key("t:worker")
        app.theme = "textual-light"
        await pilot.pause(0.5)
        save(app, "light")
        app.theme = "textual-dark"
        app.table.select_key("t:web")
        await pilot.resize_terminal(80, 24)
        await pilot.pause(0.5)
        save(app, "small-80x24")
        await pilot.press("q")
        await wait_for(lambda: app.return_code is not None, 15)


TALKING = """\
web: python3 -m http.server $PORT --bind 127.0.0.1
deploy: printf 'Migrating... done\\n'; printf 'Deploy to production? [y/N] '; read answer; echo "$answer"; sleep 600
"""


async def shoot_talking() -> None:
    """A process that asks a question: the waiting badge and toast, then input mode answering it."""
    here = Path.cwd()
    with tempfile.TemporaryDirectory(prefix="procdash-shots-") as tmp:
        os.chdir(tmp)  # the header shows the Procfile relative to here: "Procfile", not a temporary path
        procfile = Path(tmp) / "Procfile"
        procfile.write_text(TALKING)
        project = load_project(procfile=str(procfile), root=None, env=None, formation=None, port=BASE_PORT)
        supervisor = Supervisor.from_project(project, SupervisorOptions(timeout=2, pty_size=(58, 30)))
        app = ProcdashApp(LocalFormation(supervisor, project), argparse.Namespace(stats_interval=0.5))
        async with app.run_test(size=(120, 32)) as pilot:
            deploy = supervisor.slots["deploy"][0]
            await wait_for(lambda: deploy.waiting, 10)
            app.table.select_key("i:deploy.1")
            await pilot.pause(0.5)
            save(app, "waiting")
            app.clear_notifications()
            await pilot.press("i", "y")
            await wait_for(lambda: deploy.partial.endswith("y"), 5)
            await pilot.pause(0.3)
            save(app, "input-mode")
            await pilot.press("ctrl+right_square_bracket", "q")
            await wait_for(lambda: app.return_code is not None, 15)
        os.chdir(here)


def main() -> None:
    """Generate every screenshot."""
    asyncio.run(shoot())
    asyncio.run(shoot_talking())


if __name__ == "__main__":
    main()
