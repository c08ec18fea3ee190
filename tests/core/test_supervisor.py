"""The supervisor with real children: scaling, restarts, backoff, stopping, output delivery."""

from __future__ import annotations

import asyncio
import itertools
import signal
import time
from pathlib import Path

import psutil
import pytest

from procdash.core import events as ev
from procdash.core.instance import State
from procdash.core.procfile import ProcessType
from procdash.core.supervisor import Supervisor, SupervisorOptions
from tests.helpers import environ_after_exec, run_supervisor, wait_until


def make(
    procfile: dict[str, str],
    counts: dict[str, int] | None = None,
    *,
    root: Path,
    **options: object,
) -> Supervisor:
    """A supervisor over an in-memory Procfile with short timeouts."""
    types = [ProcessType(name, cmd, i + 1) for i, (name, cmd) in enumerate(procfile.items())]
    opts = SupervisorOptions(**{"timeout": 2.0, **options})  # type: ignore[arg-type]
    return Supervisor(
        types,
        counts or dict.fromkeys(procfile, 1),
        root=root,
        dotenv={"FROM_DOTENV": "yes"},
        base_port=5000,
        options=opts,
    )


def environ_of(pid: int) -> dict[str, str]:
    """The environment a process was started with."""
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


def running(sup: Supervisor, name: str) -> bool:
    """Whether an instance exists and is running."""
    inst = sup.find(name)
    return inst is not None and inst.state is State.RUNNING


def test_scale_up_and_down_keeps_foreman_ports(tmp_path: Path) -> None:
    sup = make({"web": "sleep 30", "worker": "sleep 30"}, root=tmp_path)

    async def body(sup: Supervisor) -> None:
        await wait_until(lambda: running(sup, "web.1") and running(sup, "worker.1"))
        sup.scale("web", 3)
        await wait_until(lambda: running(sup, "web.3"))
        web3 = sup.find("web.3")
        assert web3 is not None and web3.pid is not None
        env = await environ_after_exec(web3.pid, "sleep")
        assert (env["PORT"], env["PS"], env["FROM_DOTENV"]) == ("5002", "web.3", "yes")
        assert [i.name for i in sup.instances()] == ["web.1", "web.2", "web.3", "worker.1"]
        pid3 = web3.pid
        sup.scale("web", 1)
        await wait_until(lambda: [i.name for i in sup.instances()] == ["web.1", "worker.1"])
        assert not psutil.pid_exists(pid3) or psutil.Process(pid3).status() == psutil.STATUS_ZOMBIE
        assert sup.scale("web", -4) == 0
        await wait_until(lambda: sup.slots["web"] == [])
        sup.scale("web", 2)
        await wait_until(lambda: running(sup, "web.2"))
        assert sup.find("web.2").port == 5001  # type: ignore[union-attr]

    run_supervisor(sup, body)


def test_scale_down_then_up_before_stop_completes(tmp_path: Path) -> None:
    sup = make({"web": "trap 'sleep 0.3; exit 0' TERM; while :; do sleep 0.05; done"}, {"web": 2}, root=tmp_path)

    async def body(sup: Supervisor) -> None:
        await wait_until(lambda: running(sup, "web.2"))
        sup.scale("web", 1)
        sup.scale("web", 2)
        await wait_until(lambda: running(sup, "web.2") and sup.find("web.2").restarts == 1)  # type: ignore[union-attr]
        assert len(sup.slots["web"]) == 2

    run_supervisor(sup, body)


def test_restart_keeps_name_and_port_with_new_pid(tmp_path: Path) -> None:
    sup = make({"web": "sleep 30"}, root=tmp_path)

    async def body(sup: Supervisor) -> None:
        await wait_until(lambda: running(sup, "web.1"))
        inst = sup.find("web.1")
        assert inst is not None
        old = inst.pid
        sup.restart("web.1")
        await wait_until(lambda: inst.state is State.RUNNING and inst.pid not in (None, old))
        assert (inst.name, inst.port, inst.restarts) == ("web.1", 5000, 1)
        await wait_until(lambda: environ_of(inst.pid).get("PORT") == "5000", timeout=5)  # type: ignore[arg-type]

    run_supervisor(sup, body)


def test_backoff_doubles_then_goes_fatal_and_manual_restart_works(tmp_path: Path) -> None:
    sup = make({"bad": "exit 3"}, root=tmp_path, restart="on-failure", backoff_base=0.05)
    seen: list[tuple[float, ev.Event]] = []
    sup.subscribe(lambda e: seen.append((time.monotonic(), e)))

    async def body(sup: Supervisor) -> None:
        inst = sup.find("bad.1")
        assert inst is not None
        await wait_until(lambda: inst.state is State.FATAL)
        delays = [e.delay for _, e in seen if isinstance(e, ev.Restarting)]
        assert delays == [0.05, 0.1, 0.2, 0.4]
        starts = [t for t, e in seen if isinstance(e, ev.Started)]
        gaps = [b - a for a, b in itertools.pairwise(starts)]
        assert all(gap >= delay * 0.9 for gap, delay in zip(gaps, delays, strict=False))
        assert [e.failures for _, e in seen if isinstance(e, ev.Fatal)] == [5]
        assert (inst.exit_code, inst.restarts) == (3, 4)
        sup.restart("bad.1")
        await wait_until(lambda: inst.restarts == 5 and inst.state is State.BACKOFF)

    run_supervisor(sup, body)


def test_exit_zero_is_not_a_crash_and_makes_the_formation_idle(tmp_path: Path) -> None:
    sup = make({"release": "echo migrated", "bad": "exit 4"}, root=tmp_path)

    async def body(sup: Supervisor) -> None:
        await asyncio.wait_for(sup.wait_idle(), 10)
        release, bad = sup.find("release.1"), sup.find("bad.1")
        assert release is not None and bad is not None
        assert (release.state, release.exit_code) == (State.EXITED, 0)
        assert (bad.state, bad.exit_code) == (State.CRASHED, 4)
        assert release.log.tail(1) == ["migrated"]

    run_supervisor(sup, body)


def test_command_not_found_is_a_crash_with_the_shell_message(tmp_path: Path) -> None:
    sup = make({"ghost": "no-such-command-procdash"}, root=tmp_path)

    async def body(sup: Supervisor) -> None:
        await asyncio.wait_for(sup.wait_idle(), 10)
        ghost = sup.find("ghost.1")
        assert ghost is not None and ghost.exit_code == 127 and ghost.state is State.CRASHED
        assert any("not found" in line for line in ghost.log.tail(5))

    run_supervisor(sup, body)


@pytest.mark.parametrize("use_pty", [True, False])
def test_term_ignoring_child_is_killed_after_the_timeout(tmp_path: Path, use_pty: bool) -> None:
    sup = make(
        {"stubborn": "trap '' TERM; echo ready; while :; do sleep 0.05; done"},
        root=tmp_path,
        timeout=0.5,
        use_pty=use_pty,
    )
    exits: list[ev.Exited] = []
    sup.subscribe(lambda e: exits.append(e) if isinstance(e, ev.Exited) else None)

    async def body(sup: Supervisor) -> None:
        inst = sup.find("stubborn.1")
        assert inst is not None
        await wait_until(lambda: inst.log.tail(1) == ["ready"])
        began = time.monotonic()
        await sup.stop_all()
        took = time.monotonic() - began
        assert 0.45 <= took < 5
        assert [(e.description, e.requested) for e in exits] == [("SIGKILL", True)]
        assert inst.state is State.STOPPED

    run_supervisor(sup, body)


@pytest.mark.parametrize("use_pty", [True, False])
def test_grandchildren_and_background_jobs_are_gone_after_stop(tmp_path: Path, use_pty: bool) -> None:
    pids = tmp_path / "pids"
    command = (
        f"sleep 31 & echo $! >> {pids}; sh -c 'sleep 32 & echo $! >> {pids}; wait' & echo $! >> {pids}; "
        f"echo $$ >> {pids}; echo up; wait"
    )
    sup = make({"tree": command}, root=tmp_path, use_pty=use_pty)

    async def body(sup: Supervisor) -> None:
        inst = sup.find("tree.1")
        assert inst is not None
        await wait_until(lambda: pids.exists() and len(pids.read_text().split()) == 4 and "up" in inst.log.tail(2))
        recorded = [int(p) for p in pids.read_text().split()]
        assert all(psutil.pid_exists(p) for p in recorded)
        await sup.stop_all()
        await wait_until(lambda: not any(_alive(p) for p in recorded), timeout=3)

    run_supervisor(sup, body)


def _alive(pid: int) -> bool:
    """Whether a pid runs (a zombie waiting to be reaped counts as gone)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


WRITER = r"""
import os, sys
out = sys.stdout.buffer
for i in range(2000):
    out.write(b"n%05d " % i + b"y" * (i % 50) + b"\r\n" if i % 3 == 0 else b"n%05d\n" % i)
out.write(b"progress 10%\rprogress 100%\n")
out.write(b"bad \xff bytes\n")
out.write(b"L" * 40000 + b"\n")
out.write(b"killed mid-li")
out.flush()
os.kill(os.getpid(), 9)
"""


@pytest.mark.parametrize("use_pty", [True, False])
def test_every_line_arrives_once_in_order(tmp_path: Path, use_pty: bool) -> None:
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    sup = make({"w": f"exec python3 {script}"}, root=tmp_path, use_pty=use_pty, max_line=16384)
    delivered: list[str] = []
    sup.subscribe(lambda e: delivered.extend(e.lines) if isinstance(e, ev.Output) else None)

    async def body(sup: Supervisor) -> None:
        await asyncio.wait_for(sup.wait_idle(), 20)

    run_supervisor(sup, body)
    expected = [f"n{i:05d} " + "y" * (i % 50) if i % 3 == 0 else f"n{i:05d}" for i in range(2000)]
    expected += ["progress 100%", "bad \ufffd bytes"]
    expected += ["L" * 16384 + "[cut]", "L" * 16384 + "[cut]", "L" * 7232, "killed mid-li"]
    assert delivered == expected
    inst = sup.find("w.1")
    assert inst is not None and inst.exit_description == "SIGKILL" and inst.exit_code == 137
    assert inst.log.slice(0, 10**6) == expected


def test_manual_stop_and_start_keep_the_slot(tmp_path: Path) -> None:
    sup = make({"web": "sleep 30"}, root=tmp_path)

    async def body(sup: Supervisor) -> None:
        await wait_until(lambda: running(sup, "web.1"))
        sup.stop("web.1")
        inst = sup.find("web.1")
        assert inst is not None
        await wait_until(lambda: inst.state is State.STOPPED)
        assert sup.is_idle() and inst.exit_description == "SIGTERM"
        sup.start_instance("web.1")
        await wait_until(lambda: inst.state is State.RUNNING)

    run_supervisor(sup, body)


def test_kill_all_is_immediate(tmp_path: Path) -> None:
    sup = make({"stubborn": "trap '' TERM; while :; do sleep 0.05; done"}, root=tmp_path, timeout=30)

    async def body(sup: Supervisor) -> None:
        await wait_until(lambda: running(sup, "stubborn.1"))
        sup.kill_all()
        await asyncio.wait_for(sup.wait_idle(), 5)

    run_supervisor(sup, body)


def test_stop_all_cancels_pending_backoff(tmp_path: Path) -> None:
    sup = make({"bad": "exit 1"}, root=tmp_path, restart="always", backoff_base=30)

    async def body(sup: Supervisor) -> None:
        inst = sup.find("bad.1")
        assert inst is not None
        await wait_until(lambda: inst.state is State.BACKOFF)
        await asyncio.wait_for(sup.stop_all(), 2)
        assert inst.state is State.STOPPED and sup.is_idle()

    run_supervisor(sup, body)


def test_signal_names_in_exit_description(tmp_path: Path) -> None:
    sup = make({"seg": "kill -SEGV $$"}, root=tmp_path)

    async def body(sup: Supervisor) -> None:
        await asyncio.wait_for(sup.wait_idle(), 10)
        inst = sup.find("seg.1")
        assert inst is not None
        assert (inst.exit_code, inst.exit_description) == (128 + signal.SIGSEGV, "SIGSEGV")

    run_supervisor(sup, body)


def test_pipe_mode_shows_what_a_child_writes_to_dev_tty_and_never_blocks_it(tmp_path: Path) -> None:
    # 20 KB to /dev/tty would fill an unread pty and block the child for ever.
    command = "echo out; echo prompt: > /dev/tty; head -c 20000 /dev/zero | tr '\\0' x > /dev/tty; echo done"
    sup = make({"tty": command}, root=tmp_path, use_pty=False)

    async def body(sup: Supervisor) -> None:
        await asyncio.wait_for(sup.wait_idle(), 10)
        inst = sup.find("tty.1")
        assert inst is not None and inst.exit_code == 0
        lines = inst.log.slice(0, 100)
        assert {"out", "prompt:", "done"} <= set(lines)
        assert "".join(line.removesuffix("[cut]") for line in lines if line.startswith("x")) == "x" * 20000

    run_supervisor(sup, body)
