"""Reload and save formation with real files and processes, through the engine and ctl."""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from procdash import editloop
from procdash.core.formation_file import save_formation
from procdash.core.instance import State
from procdash.core.project import load_project
from procdash.core.supervisor import Supervisor, SupervisorOptions
from tests.helpers import wait_until, wait_until_sync, write

PROCDASH = [sys.executable, "-m", "procdash"]


def setup(tmp_path: Path, procfile: str, options: str = "") -> tuple[Supervisor, editloop.EditLoop]:
    """A supervisor and its EditLoop over files in tmp_path, loaded as ``procdash start`` would."""
    write(tmp_path / "Procfile", procfile)
    if options:
        write(tmp_path / "Procfile.toml", options)
    args = argparse.Namespace(
        procfile=str(tmp_path / "Procfile"),
        root=None,
        env=None,
        formation=None,
        concurrency=None,
        port=None,
        options=None,
        types=[],
        no_watch=True,
        log_dir=None,
    )
    project = load_project(procfile=args.procfile, root=None, env=None, formation=None, port=None)
    sup = Supervisor.from_project(project, SupervisorOptions(timeout=2.0))
    (loop,) = (s for s in editloop.services(args, project, sup) if isinstance(s, editloop.EditLoop))
    return sup, loop


def run(sup: Supervisor, loop: editloop.EditLoop, body: Callable[[], Awaitable[None]]) -> None:
    """Start, run the body, stop everything."""

    async def main() -> None:
        sup.start()
        await loop.start(sup)
        try:
            await body()
        finally:
            await sup.stop_all()
            await loop.stop()
            sup.close()

    asyncio.run(main())


def pid(sup: Supervisor, name: str) -> int | None:
    """The pid of an instance, or None."""
    inst = sup.find(name)
    return None if inst is None else inst.pid


def test_reload_starts_added_stops_removed_restarts_changed_and_keeps_the_rest(tmp_path: Path) -> None:
    sup, loop = setup(
        tmp_path,
        "web: exec sleep 60\nworker: exec sleep 61\nold: exec sleep 62\n",
        "[worker]\nenv = { LEVEL = 'info' }\n",
    )

    async def body() -> None:
        await wait_until(lambda: all(pid(sup, n) for n in ("web.1", "worker.1", "old.1")))
        sup.scale("web", 2)  # scaled at run time: a reload keeps it
        await wait_until(lambda: pid(sup, "web.2"))
        before = {name: pid(sup, name) for name in ("web.1", "web.2", "worker.1", "old.1")}
        write(tmp_path / "Procfile", "web: exec sleep 60\nworker: exec sleep 61\nclock: exec sleep 63\n")
        write(tmp_path / "Procfile.toml", "[worker]\nenv = { LEVEL = 'debug' }\n")
        result = loop.reload()
        assert result.error is None
        assert (result.added, result.removed, result.changed, result.kept) == (["clock"], ["old"], ["worker"], ["web"])
        await wait_until(lambda: pid(sup, "clock.1") and pid(sup, "worker.1") not in (None, before["worker.1"]))
        await wait_until(lambda: "old" not in sup.desired and sup.find("old.1") is None)
        assert pid(sup, "web.1") == before["web.1"] and pid(sup, "web.2") == before["web.2"]
        assert [t.name for t in sup.types] == ["web", "worker", "clock"]
        env = Path(f"/proc/{pid(sup, 'worker.1')}/environ").read_bytes().split(b"\0")
        assert b"LEVEL=debug" in env
        worker = sup.find("worker.1")
        assert worker is not None and worker.reason == "reload: its environment changed"

    run(sup, loop, body)


def test_a_file_that_no_longer_parses_leaves_everything_running(tmp_path: Path) -> None:
    sup, loop = setup(tmp_path, "web: exec sleep 60\n", "# options\n[web]\nstop_timeout = 1\n")

    async def body() -> None:
        await wait_until(lambda: pid(sup, "web.1"))
        first = pid(sup, "web.1")
        write(tmp_path / "Procfile.toml", "# options\n[web]\nstop_timeout = 'soon'\n")
        result = loop.reload()
        assert result.error is not None
        assert result.error.endswith("Procfile.toml:3: web.stop_timeout: expected a number of seconds, got a string")
        write(tmp_path / "Procfile", "web exec sleep 60\n")
        result = loop.reload()
        assert result.error is not None and "Procfile:1:" in result.error
        await asyncio.sleep(0.3)
        assert pid(sup, "web.1") == first
        inst = sup.find("web.1")
        assert inst is not None and inst.state is State.RUNNING

    run(sup, loop, body)


def test_save_keeps_comments_and_layout_and_updates_table_counts(tmp_path: Path) -> None:
    path = write(
        tmp_path / "Procfile.toml",
        "# my project\nport = 6000  # base port\n\n[web]\n# two by default\ncount = 2\nstop_timeout = 3\n",
    )
    save_formation(path, {"web": 4, "worker": 1})
    assert path.read_text() == (
        '# my project\nport = 6000  # base port\nformation = "web=4,worker=1"\n\n'
        "[web]\n# two by default\ncount = 4\nstop_timeout = 3\n"
    )
    save_formation(path, {"web": 1, "worker": 0})
    assert 'formation = "web=1,worker=0"' in path.read_text() and "count = 1" in path.read_text()
    project = load_project(
        procfile=str(write(tmp_path / "Procfile", "web: x\nworker: y\n")),
        root=None,
        env=None,
        formation=None,
        port=None,
    )
    assert project.counts == {"web": 1, "worker": 0}
    path.write_text('concurrency = "web=2"  # honcho style\n')
    save_formation(path, {"web": 3, "worker": 1})
    assert path.read_text() == 'concurrency = "web=3,worker=1"  # honcho style\n'
    fresh = tmp_path / "new" / "Procfile.toml"
    fresh.parent.mkdir()
    save_formation(fresh, {"web": 2})
    project = load_project(
        procfile=str(write(fresh.parent / "Procfile", "web: x\n")), root=None, env=None, formation=None, port=None
    )
    assert project.counts == {"web": 2}
    assert fresh.read_text().startswith("# procdash options")


def test_ctl_scale_save_and_ctl_reload(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "web: exec sleep 60\nworker: exec sleep 61\n")
    write(tmp_path / "Procfile.toml", "# keep this comment\n[worker]\nstop_timeout = 1  # and this one\n")
    proc = subprocess.Popen(
        [*PROCDASH, "--headless"], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )

    def ctl(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*PROCDASH, "ctl", *args], cwd=tmp_path, capture_output=True, text=True, timeout=20)

    try:
        wait_until_sync(lambda: "worker.1" in ctl("status").stdout, timeout=20)
        result = ctl("scale", "web=3", "--save")
        assert result.returncode == 0, result.stderr
        assert "saved formation web=3,worker=1 to " in result.stdout
        text = (tmp_path / "Procfile.toml").read_text()
        assert text == (
            '# keep this comment\nformation = "web=3,worker=1"\n\n[worker]\nstop_timeout = 1  # and this one\n'
        )
        status = ctl("status").stdout
        web_pids = [line.split()[2] for line in status.splitlines() if line.startswith("web.")]
        write(tmp_path / "Procfile", "web: exec sleep 60\n")
        write(tmp_path / "Procfile.toml", 'formation = "web=3"\n')
        result = ctl("reload")
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "reloaded: removed worker; kept web"
        wait_until_sync(lambda: "worker" not in ctl("status").stdout, timeout=20)
        status = ctl("status").stdout
        assert [line.split()[2] for line in status.splitlines() if line.startswith("web.")] == web_pids
        write(tmp_path / "Procfile.toml", "[web\n")
        result = ctl("reload")
        assert result.returncode == 1
        assert "reload failed, nothing changed: " in result.stderr and "Procfile.toml:1: invalid TOML" in result.stderr
        assert result.stderr.count("\n") == 1
    finally:
        proc.terminate()
        proc.wait(20)
