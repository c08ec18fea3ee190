"""Guarantee: the control socket cannot be used to exhaust procdash's memory or to lock ``ctl`` out."""

from __future__ import annotations

import json
import os
import select
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from procdash.control import protocol as p
from procdash.control.client import ServerError
from tests.control.support import Running, ctl, running
from tests.helpers import wait_until_sync

# A type that ignores SIGTERM keeps procdash in its stop for the whole -t timeout (3 s in running()).
STUBBORN = "web: trap '' TERM; while :; do sleep 0.1; done\nworker: sleep 300\n"


@pytest.fixture
def env() -> Iterator[dict[str, str]]:
    """procdash's environment with a fresh private XDG_RUNTIME_DIR short enough for a socket path."""
    runtime = tempfile.mkdtemp(prefix="pdlim-")
    os.chmod(runtime, 0o700)
    environ = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "PORT")}
    environ["XDG_RUNTIME_DIR"] = runtime
    try:
        yield environ
    finally:
        shutil.rmtree(runtime, ignore_errors=True)


def test_scale_start_and_restart_while_quitting_are_refused(tmp_path: Path, env: dict[str, str]) -> None:
    with running(tmp_path, env, STUBBORN) as formation:
        client = formation.client()
        assert client.call("quit")["quitting"] is True
        for args in (("scale", "web=3"), ("start", "worker"), ("restart", "web")):
            result = ctl(*args, cwd=tmp_path, env=env)
            assert result.returncode == 1, (args, result)
            assert result.stderr == "procdash: ctl: procdash is stopping; nothing can be started now\n", args
        client.wait_closed()
        client.close()
        assert formation.proc.wait(timeout=15) is not None


# 10,000 lines of 1,600 characters: a 16 MB scrollback, as in the report that found the leak.
BIG_LOG = (
    "web: python3 -c \"import sys; [sys.stdout.write(f'{i:05d} ' + 'x' * 1594 + chr(10)) for i in range(10000)]\"; "
    "exec sleep 300\n"
)


def log_seq(formation: Running, name: str) -> int:
    """The sequence number the next line of an instance will get."""
    with formation.client() as client:
        return int({i["name"]: i for i in client.call("status")["instances"]}[name]["log_seq"])


def rss(pid: int) -> int:
    """Resident memory of one process in bytes."""
    return int(psutil.Process(pid).memory_info().rss)


def read_reply(path: Path, request: dict[str, object]) -> dict[str, object]:
    """Send one request and read its whole reply like a well-behaved client."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(30)
        sock.connect(str(path))
        sock.sendall(p.encode(request))
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(1 << 20)
            assert chunk, "closed before the reply ended"
            data += chunk
    reply: dict[str, object] = json.loads(data)
    return reply


def test_logs_requests_that_nobody_reads_leave_memory_where_it_was(tmp_path: Path, env: dict[str, str]) -> None:
    with running(tmp_path, env, BIG_LOG, "--scrollback", "10000") as formation:
        wait_until_sync(lambda: log_seq(formation, "web.1") >= 10000, timeout=60)
        whole = read_reply(formation.socket, p.request("logs", 1, name="web.1", lines=10000))
        assert len(whole["lines"]) == 10000 and whole["seq"] == 0  # type: ignore[arg-type]
        assert whole["lines"][-1].startswith("09999 ")  # type: ignore[index]
        baseline = rss(formation.proc.pid)
        path = str(formation.socket)
        for wave in range(2):
            clients: list[socket.socket] = []
            for index in range(64):
                sock = socket.socket(socket.AF_UNIX)
                sock.connect(path)
                request = p.request("logs", index, name="web.1", lines=10000, follow=index % 2 == 1)
                sock.sendall(p.encode(request))
                clients.append(sock)
            # Every request has been taken up once its reply starts arriving; then nobody reads on.
            wait_until_sync(lambda: all(select.select([c], [], [], 0)[0] for c in clients), timeout=30)  # noqa: B023
            held = rss(formation.proc.pid)
            assert held < baseline + 64 * 1024 * 1024, f"wave {wave}: {held - baseline} bytes more while held"
            for sock in clients:
                sock.close()
            try:
                wait_until_sync(lambda: rss(formation.proc.pid) <= baseline * 1.10, timeout=20)
            except AssertionError:
                raise AssertionError(
                    f"wave {wave}: baseline {baseline}, held {held}, now {rss(formation.proc.pid)}"
                ) from None
        with formation.client() as client:
            assert client.call("status")["instances"][0]["state"] == "running"


def read_all_lines(sock: socket.socket, timeout: float) -> list[bytes]:
    """Every line the server sends on ``sock`` until it closes the connection (bounded)."""
    sock.settimeout(timeout)
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:  # closed with our unread request in its queue: what it said came first
            chunk = b""
        if not chunk:
            return data.splitlines()
        data += chunk


def test_idle_half_written_and_streaming_clients_cannot_lock_ctl_out(tmp_path: Path, env: dict[str, str]) -> None:
    with running(tmp_path, env) as formation:
        path = str(formation.socket)
        idle, partial, streams = [], [], []
        for _ in range(100):
            sock = socket.socket(socket.AF_UNIX)
            sock.connect(path)
            idle.append(sock)
        for _ in range(64):
            sock = socket.socket(socket.AF_UNIX)
            sock.connect(path)
            sock.sendall(b'{"v": 1, "cmd": "sta')
            partial.append(sock)
        for _ in range(64):
            sock = socket.socket(socket.AF_UNIX)
            sock.connect(path)
            sock.sendall(p.encode(p.request("subscribe", logs=False)))
            streams.append(sock)  # and never read
        status = ctl("status", cwd=tmp_path, env=env, timeout=10)
        assert status.returncode == 0, status.stderr
        assert "web.1" in status.stdout
        # Each held connection is told, in one line, why it is closed: room was needed, or it was too slow.
        expected = {
            json.dumps(p.error(p.BUSY, "too many control clients at once (at most 64); try again")),
            json.dumps(p.error(p.TIMEOUT, "no complete request within 5s; closing")),
        }
        for sock in idle + partial:
            lines = read_all_lines(sock, timeout=15)
            assert len(lines) == 1 and json.dumps(json.loads(lines[0])) in expected, lines
            sock.close()
        quit_ = ctl("quit", cwd=tmp_path, env=env, timeout=20)
        assert quit_.returncode == 0, quit_.stderr
        assert formation.proc.wait(timeout=15) == 0
        for sock in streams:
            sock.close()


def test_a_ctl_client_closed_to_make_room_gets_the_busy_line_not_a_broken_pipe(
    tmp_path: Path, env: dict[str, str]
) -> None:
    with running(tmp_path, env) as formation:
        client = formation.client()  # connected, request not sent yet: the oldest idle connection
        crowd = []
        for _ in range(64):
            sock = socket.socket(socket.AF_UNIX)
            sock.connect(str(formation.socket))
            crowd.append(sock)
        wait_until_sync(lambda: select.select([client.sock], [], [], 0)[0], timeout=10)
        with pytest.raises(ServerError, match=r"^too many control clients at once \(at most 64\); try again$"):
            client.call("status")
        client.close()
        for sock in crowd:
            sock.close()
