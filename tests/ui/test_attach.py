"""``procdash attach``: the real dashboard (Pilot) on a real headless procdash, mirrored over its socket."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from procdash.core.instance import State
from procdash.ui.app import ProcdashApp
from procdash.ui.attach import check_server
from procdash.view.mirror import PaneNotice
from procdash.view.remote import RemoteFormation
from tests.control.support import PROCDASH, Running, ctl, running
from tests.helpers import wait_until, wait_until_sync

SIZE = (120, 40)
COUNTER = 'count: i=0; while [ $i -lt 400 ]; do i=$((i+1)); echo "line $i"; sleep 0.005; done; sleep 300\n'


@pytest.fixture
def env() -> Iterator[dict[str, str]]:
    """A private runtime directory short enough for a socket path, removed afterwards."""
    runtime = tempfile.mkdtemp(prefix="pdatt-")
    os.chmod(runtime, 0o700)
    environ = {**os.environ, "XDG_RUNTIME_DIR": runtime, "XDG_STATE_HOME": os.path.join(runtime, "state")}
    environ.pop("NO_COLOR", None)
    try:
        yield environ
    finally:
        shutil.rmtree(runtime, ignore_errors=True)


def attached(formation: Running, stats_interval: float = 0.0, **options: int) -> ProcdashApp:
    """A dashboard attached to the running procdash, as ``procdash attach`` builds it."""
    path = formation.socket
    view = RemoteFormation(path, check_server(path), usage_interval=stats_interval, **options)
    return ProcdashApp(view, argparse.Namespace(stats_interval=stats_interval))


def status(formation: Running) -> dict[str, object]:
    """``procdash ctl status --json``, run as a person would."""
    result = ctl("status", "--json", cwd=formation.procfile.parent, env=formation.env)
    assert result.returncode == 0, result.stderr
    reply: dict[str, object] = json.loads(result.stdout)
    return reply


def instance(reply: dict[str, object], name: str) -> dict[str, object]:
    """One instance of a status reply."""
    found = [i for i in reply["instances"] if i["name"] == name]  # type: ignore[attr-defined]
    assert found, reply
    return found[0]  # type: ignore[no-any-return]


def running_in(app: ProcdashApp, name: str) -> bool:
    """Whether the mirror shows the instance running."""
    inst = app.formation.find(name)
    return inst is not None and inst.state is State.RUNNING and inst.pid is not None


def numbers(app: ProcdashApp, name: str) -> list[int]:
    """The numbers of the ``line N`` lines the mirror holds for an instance, in order."""
    inst = app.formation.find(name)
    assert inst is not None
    return [int(line.split()[1]) for line in inst.log.slice(0, inst.log.next_seq) if line.startswith("line ")]


async def test_table_scale_and_restart_act_on_the_running_formation(tmp_path: Path, env: dict[str, str]) -> None:
    with running(tmp_path, env, "web: sleep 300\nworker: sleep 300\n") as formation:
        app = attached(formation)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(lambda: running_in(app, "web.1") and running_in(app, "worker.1"))
            await wait_until(lambda: app.table.row_keys == ["i:web.1", "i:worker.1"])
            assert "attached to pid" in str(app.query_one("#header").render())
            shown = {
                b.binding.key: b.binding.description for b in app.screen.active_bindings.values() if b.binding.show
            }
            assert shown["q"] == "Leave" and shown["Q"] == "Quit procdash"  # the footer says what q does here
            await pilot.press("plus")  # web is selected: scaled where it runs, as `ctl scale web=+1`
            await wait_until(lambda: running_in(app, "web.2"))
            reply = status(formation)
            assert reply["desired"] == {"web": 2, "worker": 1}
            assert instance(reply, "web.2")["state"] == "running"
            await wait_until(lambda: app.table.row_keys == ["t:web", "i:web.1", "i:web.2", "i:worker.1"])
            old = instance(status(formation), "worker.1")["pid"]
            app.table.select_key("i:worker.1")
            await pilot.press("r")
            await wait_until(lambda: instance(status(formation), "worker.1")["pid"] not in (None, old), timeout=15)
            await wait_until(lambda: running_in(app, "worker.1") and app.formation.find("worker.1").pid != old)  # type: ignore[union-attr]
            assert instance(status(formation), "worker.1")["restarts"] == 1
            await pilot.press("q")  # leaves the view only
        assert app.return_code == 0
        assert formation.proc.poll() is None
        assert status(formation)["desired"] == {"web": 2, "worker": 1}


async def test_backlog_then_live_lines_with_no_gap_and_no_repeat(tmp_path: Path, env: dict[str, str]) -> None:
    with running(tmp_path, env, COUNTER) as formation:
        # Attach while the counter is still printing: part of it comes as backlog, the rest live.
        wait_until_sync(lambda: instance(status(formation), "count.1")["log_seq"] >= 100)  # type: ignore[operator]
        app = attached(formation)
        async with app.run_test(size=SIZE):
            await wait_until(lambda: numbers(app, "count.1")[-1:] == [400], timeout=20)
            assert numbers(app, "count.1") == list(range(1, 401))
            await wait_until(lambda: "line 400" in app.panes["count.1"].view.all_text())


async def test_two_attached_views_see_the_same_formation(tmp_path: Path, env: dict[str, str]) -> None:
    with running(tmp_path, env, "web: sleep 300\n") as formation:
        first, second = attached(formation), attached(formation)
        async with first.run_test(size=SIZE) as pilot, second.run_test(size=SIZE):
            await wait_until(lambda: running_in(first, "web.1") and running_in(second, "web.1"))
            await pilot.press("plus")
            await wait_until(lambda: running_in(first, "web.2") and running_in(second, "web.2"))
            pids = [[inst.pid for inst in app.formation.instances()] for app in (first, second)]
            assert pids[0] == pids[1] == [i["pid"] for i in status(formation)["instances"]]  # type: ignore[attr-defined]
            await wait_until(lambda: second.table.row_keys == ["t:web", "i:web.1", "i:web.2"])


async def test_procdash_ending_ends_the_view_with_status_0(tmp_path: Path, env: dict[str, str]) -> None:
    with running(tmp_path, env, "web: sleep 300\n") as formation:
        app = attached(formation)
        async with app.run_test(size=SIZE):
            await wait_until(lambda: running_in(app, "web.1"))
            result = ctl("quit", cwd=tmp_path, env=env)
            assert result.returncode == 0, result.stderr
            await wait_until(lambda: app.ended_reason is not None)
        assert app.return_code == 0
        assert app.ended_reason == "procdash ended"
        formation.proc.wait(timeout=10)


async def test_Q_asks_then_quits_procdash(tmp_path: Path, env: dict[str, str]) -> None:
    with running(tmp_path, env, "web: sleep 300\n") as formation:
        app = attached(formation)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(lambda: running_in(app, "web.1"))
            await pilot.press("Q")
            await pilot.press("n")  # no: it keeps running
            await pilot.pause(0.2)
            assert formation.proc.poll() is None
            await pilot.press("Q")
            await pilot.press("y")
            await wait_until(lambda: app.ended_reason is not None, timeout=15)
        assert app.return_code == 0
        assert formation.proc.wait(timeout=10) == 0


async def test_input_mode_types_into_the_remote_process(tmp_path: Path, env: dict[str, str]) -> None:
    procfile = "ask: printf 'name? '; read n; echo \"hello $n\"; sleep 300\n"
    with running(tmp_path, env, procfile) as formation:
        app = attached(formation)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(lambda: running_in(app, "ask.1") and app.formation.find("ask.1").partial == "name? ")  # type: ignore[union-attr]
            await pilot.press("i", "b", "o", "b", "enter")
            await wait_until(lambda: "hello bob" in app.formation.find("ask.1").log.tail(5))  # type: ignore[union-attr]


async def test_a_view_that_falls_behind_is_resynchronised_and_says_so(tmp_path: Path, env: dict[str, str]) -> None:
    # About 2 MB/s of numbered lines: a view that stops reading for 2 s is more than 1 MiB behind.
    (tmp_path / "flood.py").write_text(
        "import time\nfor i in range(1, 6001):\n    print(f'line {i} ' + 'x' * 900, flush=True)\n"
        "    if i % 10 == 0:\n        time.sleep(0.004)\ntime.sleep(300)\n"
    )
    with running(tmp_path, env, "flood: python3 -u flood.py\n") as formation:
        # Holding at most 64 KiB of the stream while the loop is busy (64 MiB normally), it falls behind.
        app = attached(formation, stream_buffer=64 * 1024)
        notices: list[str] = []
        async with app.run_test(size=SIZE):
            app.formation.subscribe(lambda e: notices.append(e.text) if isinstance(e, PaneNotice) else None)
            await wait_until(lambda: len(numbers(app, "flood.1")) > 200, timeout=20)
            time.sleep(2.0)  # the loop stops reading: procdash drops the stream once it is 1 MiB behind
            await wait_until(lambda: numbers(app, "flood.1")[-1:] == [6000], timeout=30)
            assert numbers(app, "flood.1") == list(range(1, 6001))
            assert app.formation.resyncs >= 1  # type: ignore[attr-defined]
            assert any("fell behind" in text for text in notices)
            pane_lines = app.panes["flood.1"].view.all_text()
            assert "this view fell behind procdash" in pane_lines


def fake_server(path: Path, protocol: int) -> threading.Thread:
    """A socket answering ``info`` as a procdash of another protocol version would."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(4)

    def serve() -> None:
        with listener:
            conn, _ = listener.accept()
            with conn:
                conn.recv(65536)
                server = {"pid": 4242, "procfile": "/x/Procfile", "version": "0.1", "protocol": protocol}
                conn.sendall(json.dumps({"v": protocol, "id": 1, "ok": True, "server": server}).encode() + b"\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


def test_attach_to_an_older_procdash_is_one_line_and_status_2(env: dict[str, str]) -> None:
    path = Path(env["XDG_RUNTIME_DIR"]) / "old.sock"
    thread = fake_server(path, 2)
    result = subprocess.run(
        [*PROCDASH, "attach", "--socket", str(path)], env=env, capture_output=True, text=True, timeout=20
    )
    thread.join(timeout=5)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert "speaks control protocol 2, attach needs 3" in result.stderr
    assert "Traceback" not in result.stderr


def test_attach_with_nothing_running_is_one_line_and_status_2(tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / "Procfile").write_text("web: sleep 1\n")
    result = subprocess.run([*PROCDASH, "attach"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=20)
    assert result.returncode == 2
    assert result.stderr.startswith("procdash: error: attach: nothing is running for")
    assert result.stderr.count("\n") == 1, result.stderr


async def test_usage_save_and_reload_come_from_the_running_procdash(tmp_path: Path, env: dict[str, str]) -> None:
    with running(tmp_path, env, "web: sleep 300\n") as formation:
        app = attached(formation, stats_interval=0.2)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(lambda: running_in(app, "web.1"))
            # procdash samples for the view (headless, no --stats): memory shows in the table and header.
            await wait_until(lambda: app.table.get_cell("i:web.1", "mem").plain.strip() != "", timeout=15)
            assert "mem" in str(app.query_one("#header").render())
            await pilot.press("plus")
            await wait_until(lambda: running_in(app, "web.2"))
            await pilot.press("S")  # saved by procdash, into the project's Procfile.toml
            await wait_until(lambda: (tmp_path / "Procfile.toml").exists())
            assert (tmp_path / "Procfile.toml").read_text().endswith('formation = "web=2"\n')
            (tmp_path / "Procfile").write_text("web: sleep 300\nworker: sleep 300\n")
            await pilot.press("ctrl+r")  # reloaded by procdash: the new type shows here (0: not in the formation)
            await wait_until(lambda: "worker" in app.formation.desired, timeout=15)
            await wait_until(lambda: "t:worker" in app.table.row_keys)
            assert status(formation)["desired"] == {"web": 2, "worker": 0}
            (tmp_path / "Procfile").write_text("web: sleep 300\n")
            await pilot.press("ctrl+r")  # and a removed type goes
            await wait_until(lambda: "t:worker" not in app.table.row_keys and "worker" not in app.formation.desired)
