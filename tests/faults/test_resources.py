"""Guarantee 7: 200 instances start, run, show and stop cleanly; restarts release every fd and pty."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import psutil
import pytest

from procdash.core.instance import State
from procdash.core.supervisor import Supervisor
from tests.faults.support import (
    drive,
    make_supervisor,
    procdash_argv,
    read_pids,
    start_procdash,
    survivors_after,
    wait_for,
)
from tests.helpers import wait_until

TYPES = ("web", "worker", "clock", "mailer")
READY = 'echo "$PS ready on $PORT"; echo $$ >> "$PS.pids"; exec sleep 1000'


def open_fds() -> Counter[str]:
    """What this process holds open, by kind: ptmx (pty masters), pts (pty slaves), pipe, other."""
    kinds: Counter[str] = Counter()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target == "/dev/ptmx" or target.startswith("/dev/pts/ptmx"):
            kinds["ptmx"] += 1
        elif target.startswith("/dev/pts/"):
            kinds["pts"] += 1
        elif target.startswith("pipe:"):
            kinds["pipe"] += 1
        else:
            kinds["other"] += 1
    return kinds


def child_fds(pid: int) -> set[str]:
    """The fd numbers a child holds (it should hold only stdin, stdout and stderr)."""
    return set(os.listdir(f"/proc/{pid}/fd"))


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["pty", "pipe"])
def test_two_hundred_instances_start_run_and_stop_cleanly(tmp_path: Path, mode: str) -> None:
    sup = make_supervisor(dict.fromkeys(TYPES, READY), tmp_path, dict.fromkeys(TYPES, 50), use_pty=mode == "pty")
    pids: list[int] = []
    before: list[Counter[str]] = []

    async def body(sup: Supervisor) -> None:
        insts = sup.instances()
        assert len(insts) == 200
        await wait_until(lambda: all(i.state is State.RUNNING and len(i.log) >= 1 for i in insts), timeout=60)
        assert [i.log.get(0) for i in insts] == [f"{i.name} ready on {i.port}" for i in insts]
        ports = [i.port for i in insts]
        assert len(set(ports)) == 200
        assert ports[:50] == list(range(5000, 5050)) and ports[-50:] == list(range(5300, 5350))
        pids.extend(i.pid for i in insts if i.pid is not None)
        assert len(set(pids)) == 200
        await wait_until(lambda: all(read_pids(tmp_path / f"{i.name}.pids") for i in insts), timeout=30)
        # No fd of another instance leaks in (waited for: a program starting up briefly opens its own files).
        await wait_until(lambda: all(child_fds(pid) == {"0", "1", "2"} for pid in pids), timeout=10)
        held = open_fds()
        assert held["ptmx"] - before[0]["ptmx"] == 200  # one pty master per instance, pipe mode too
        started = time.monotonic()
        await sup.stop_all()
        assert time.monotonic() - started < 10
        assert all(i.state is State.STOPPED and i.pid is None for i in insts)
        assert sup.is_idle()

    before.append(open_fds())
    drive(sup, body, timeout=120)
    assert survivors_after(pids, 2.0) == []
    assert open_fds() == before[0]


@pytest.mark.slow
def test_headless_shows_and_stops_two_hundred(tmp_path: Path) -> None:
    (tmp_path / "Procfile").write_text("".join(f"{t}: {READY}\n" for t in TYPES))
    check = subprocess.run(
        procdash_argv("check", "-m", "all=50"),
        cwd=tmp_path,
        capture_output=True,
        timeout=30,
    )
    assert check.returncode == 0
    assert re.search(rb"web\s+x50\s+port 5000-5049", check.stdout)
    assert re.search(rb"mailer\s+x50\s+port 5300-5349", check.stdout)
    log = tmp_path / "out.log"
    with log.open("wb") as out:
        proc = start_procdash(["start", "--no-timestamp", "-m", "all=50"], cwd=tmp_path, stdout=out)
    pids: list[int] = []
    try:
        wait_for(lambda: log.read_text().count(" ready on ") == 200, 60, "200 instances to print")
        names = {f"{t}.{n}" for t in TYPES for n in range(1, 51)}
        wait_for(lambda: all(read_pids(tmp_path / f"{name}.pids") for name in names), 30, "every pid")
        pids = [pid for name in names for pid in read_pids(tmp_path / f"{name}.pids")]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 143
        text = log.read_text()
        assert text.count(" started (pid ") == 200
        assert len(re.findall(r" stopped after \d+\.\ds \(SIGTERM\)", text)) == 200
        for name in ("web.1", "mailer.50"):
            assert re.search(rf"^{re.escape(name)} +\| {re.escape(name)} ready on \d+$", text, flags=re.M)
        assert survivors_after(pids, 2.0) == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["pty", "pipe"])
def test_five_hundred_restarts_release_fds_and_ptys(tmp_path: Path, mode: str) -> None:
    sup = make_supervisor({"svc": "echo up; exec sleep 1000"}, tmp_path, {"svc": 10}, use_pty=mode == "pty")
    before = open_fds()
    rounds = 50

    async def body(sup: Supervisor) -> None:
        insts = sup.instances()
        await wait_until(lambda: all(i.state is State.RUNNING and len(i.log) == 1 for i in insts), timeout=30)
        baseline = open_fds()
        for done in range(1, rounds + 1):
            for inst in insts:
                sup.restart(inst.name)
            # Each new run has printed its line: the restart is complete and nothing was lost.
            await wait_until(
                lambda n=done: all(i.state is State.RUNNING and i.log.next_seq == n + 1 for i in insts), timeout=30
            )
        assert sum(i.restarts for i in insts) == 10 * rounds
        assert all(i.log.tail(rounds + 1) == ["up"] * (rounds + 1) for i in insts)
        assert open_fds() == baseline
        for inst in insts:
            assert inst.pid is not None
            await wait_until(lambda inst=inst: psutil.Process(inst.pid).name() == "sleep", timeout=10)
            # Right after exec, sleep itself briefly opens files while it starts (its locale data):
            # wait for that to settle; an fd leaked from procdash would stay and fail here.
            await wait_until(lambda inst=inst: child_fds(inst.pid) == {"0", "1", "2"}, timeout=5)

    drive(sup, body, timeout=180)
    assert open_fds() == before
