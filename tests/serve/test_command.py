"""``procdash serve`` as a command: bad flags, the formation it runs or finds, and how it stops."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

from tests.control.support import PROCDASH, SLEEPERS, ctl, running
from tests.helpers import wait_until_sync, write
from tests.serve.support import open_tab, serve_process, still_running


def serve_once(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``procdash serve ARGS`` expected to end by itself (bad input)."""
    return subprocess.run(
        [*PROCDASH, "serve", *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--port", "70000"], "--port: expected a port from 0 to 65535, got 70000"),
        (["--port", "web"], "--port: expected a port number, got 'web'"),
        (["--host", ""], "--host: expected an address or a host name, got ''"),
        (["--host", "a b"], "--host: expected an address or a host name, got 'a b'"),
        (["--restart", "sometimes"], "--restart: invalid choice: 'sometimes'"),
        (["-m", "web=2", "-c", "web=1"], "not allowed with argument"),
        (["--socket", "/nonexistent.sock", "web"], "--socket serves a procdash that runs already"),
        (["-m", "nosuch=1"], "nosuch"),
    ],
)
def test_bad_input_is_one_line_and_status_2(tmp_path: Path, env: dict[str, str], argv: list[str], message: str) -> None:
    write(tmp_path / "Procfile", SLEEPERS)
    result = serve_once(argv, tmp_path, env)
    assert result.returncode == 2, result
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("procdash: error: ") and message in lines[0]


def test_bad_procfile_is_reported_before_anything_runs(tmp_path: Path, env: dict[str, str]) -> None:
    write(tmp_path / "Procfile", "web sleep 300\n")
    result = serve_once([], tmp_path, env)
    assert result.returncode == 2
    assert result.stderr.startswith("procdash: error: ") and "Procfile:1" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_port_in_use_is_one_line_and_no_process_starts(tmp_path: Path, env: dict[str, str]) -> None:
    write(tmp_path / "Procfile", "web: touch started && sleep 300\n")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = serve_once(["--port", str(port)], tmp_path, env)
    assert result.returncode == 2
    assert result.stderr == f"procdash: error: serve: cannot listen on 127.0.0.1:{port}: Address already in use\n"
    assert not (tmp_path / "started").exists()


def test_nothing_on_the_socket_is_one_line(tmp_path: Path, env: dict[str, str]) -> None:
    result = serve_once(["--socket", str(tmp_path / "none.sock")], tmp_path, env)
    assert result.returncode == 1
    assert result.stderr == f"procdash serve: nothing answers on {tmp_path / 'none.sock'}\n"


def fetch(url: str, headers: dict[str, str] | None = None) -> int:
    """The status of a GET (an error status too)."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def descendants(pid: int) -> list[psutil.Process]:
    """Everything ``pid`` started, still running."""
    try:
        return [p for p in psutil.Process(pid).children(recursive=True) if p.status() != psutil.STATUS_ZOMBIE]
    except psutil.NoSuchProcess:
        return []


def test_serve_runs_the_formation_headless_and_sigterm_stops_it(tmp_path: Path, env: dict[str, str]) -> None:
    write(tmp_path / "Procfile", SLEEPERS)
    with serve_process(["-m", "web=2,worker=1", "-t", "3"], tmp_path, env) as served:
        url = served.wait_url()
        assert url.startswith("http://127.0.0.1:") and "/?token=" in url
        assert len(url.split("token=", 1)[1]) >= 40
        assert fetch(url) == 200
        assert fetch(url.split("?", 1)[0]) == 401
        status = json.loads(ctl("status", "--json", cwd=tmp_path, env=env).stdout)
        assert sorted(inst["name"] for inst in status["instances"]) == ["web.1", "web.2", "worker.1"]
        pids = [p.pid for p in descendants(served.proc.pid)]
        assert len(pids) >= 4  # the headless procdash and its three processes
        assert served.stop(signal.SIGTERM) == 128 + signal.SIGTERM
    text = "\n".join(served.output)
    assert "web.1 started" in text and "SIGTERM received: stopping all processes" in text
    assert "web.2 stopped" in text
    assert not still_running(pids)


def test_serve_shows_a_formation_already_running_and_leaves_it_running(tmp_path: Path, env: dict[str, str]) -> None:
    with running(tmp_path, env) as formation:
        with serve_process(["-m", "web=3"], tmp_path, env) as served:
            url = served.wait_url()
            assert fetch(url) == 200
            assert any("serving the procdash already running for" in line for line in served.output)
            assert any("the formation options given do not apply" in line for line in served.output)
            assert not descendants(served.proc.pid)  # no second formation
            assert served.stop(signal.SIGINT) == 128 + signal.SIGINT
        assert formation.proc.poll() is None
        assert ctl("status", cwd=tmp_path, env=env).returncode == 0


def test_serve_socket_shows_that_procdash(tmp_path: Path, env: dict[str, str]) -> None:
    with running(tmp_path / "elsewhere", env) as formation:
        with serve_process(["--socket", str(formation.socket)], tmp_path, env) as served:
            assert fetch(served.wait_url()) == 200
            assert not descendants(served.proc.pid)
            assert served.stop(signal.SIGTERM) == 128 + signal.SIGTERM
        assert formation.proc.poll() is None


def test_serve_ends_when_the_formation_it_serves_ends(tmp_path: Path, env: dict[str, str]) -> None:
    write(tmp_path / "Procfile", SLEEPERS)
    with serve_process(["-t", "3"], tmp_path, env) as served:
        served.wait_url()
        assert ctl("quit", cwd=tmp_path, env=env).returncode == 0
        assert served.proc.wait(timeout=20) == 0
    assert any("the formation has ended" in line for line in served.output)


def test_formation_stops_when_serve_is_killed(tmp_path: Path, env: dict[str, str]) -> None:
    write(tmp_path / "Procfile", SLEEPERS)
    with serve_process(["-t", "3"], tmp_path, env) as served:
        served.wait_url()
        pids = [p.pid for p in descendants(served.proc.pid)]
        assert pids
        served.proc.kill()
        served.proc.wait(timeout=10)
        wait_until_sync(lambda: not still_running(pids), timeout=15)


def test_non_loopback_host_warns(tmp_path: Path, env: dict[str, str]) -> None:
    write(tmp_path / "Procfile", SLEEPERS)
    with serve_process(["--host", "0.0.0.0", "-t", "3"], tmp_path, env) as served:
        url = served.wait_url()
        warning = [line for line in served.output if "warning" in line]
        assert warning and "not loopback" in warning[0] and "0.0.0.0" in warning[0]
        port = url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1]
        token = url.split("token=", 1)[1]
        # Any address of this machine is a Host it answers to; a name that is not its own is not.
        assert fetch(f"http://127.0.0.1:{port}/?token={token}") == 200
        assert fetch(f"http://127.0.0.1:{port}/?token={token}", {"Host": f"rebound.example:{port}"}) == 403


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGKILL])
def test_stopping_serve_closes_every_tab(tmp_path: Path, env: dict[str, str], signum: int) -> None:
    write(tmp_path / "Procfile", SLEEPERS)
    with serve_process(["-t", "3"], tmp_path, env) as served:
        url = served.wait_url()

        async def body() -> tuple[list[int], list[int]]:
            tabs = [await open_tab(url), await open_tab(url)]
            children = psutil.Process(served.proc.pid).children()
            attach = [p.pid for p in children if "attach" in p.cmdline()]
            everything = [p.pid for p in descendants(served.proc.pid)]
            assert len(attach) == 2
            served.proc.send_signal(signum)
            for session, ws in tabs:
                while not ws.closed:  # serve ends each tab: its websocket closes
                    await ws.receive(timeout=20)
                await session.close()
            return attach, everything

        attach, everything = asyncio.run(asyncio.wait_for(body(), 60))
        expected = 128 + signal.SIGINT if signum == signal.SIGINT else -signal.SIGKILL
        assert served.proc.wait(timeout=20) == expected
        wait_until_sync(lambda: not still_running(everything), timeout=15)
    assert attach
