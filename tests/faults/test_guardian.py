"""The guardian takes down the groups procdash registered, and never a group whose id was recycled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from procdash.core import watchdog
from procdash.core.groups import start_time
from tests.faults.support import procdash_argv, procdash_env, wait_for


def run_guardian(registrations: str, timeout: float = 1.0) -> float:
    """Run the guardian as procdash does, feed it lines, then close its stdin as procdash's death would.

    Returns the seconds it took to finish.
    """
    begin = time.monotonic()
    subprocess.run(
        watchdog.guardian_command(timeout),
        input=registrations.encode(),
        timeout=15,
        check=True,
        start_new_session=True,
    )
    return time.monotonic() - begin


@pytest.fixture
def groups() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Process groups (each a leader in its own session) that the test registers; killed afterwards."""
    made: list[subprocess.Popen[bytes]] = []
    yield made
    for proc in made:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        proc.wait()


def new_group(made: list[subprocess.Popen[bytes]], script: str = "exec sleep 30") -> subprocess.Popen[bytes]:
    """Start ``sh -c script`` as the leader of a new group and session."""
    proc = subprocess.Popen(["sh", "-c", script], start_new_session=True)
    made.append(proc)
    return proc


def registered(proc: subprocess.Popen[bytes]) -> str:
    """The registration line procdash writes for a group."""
    start = start_time(proc.pid)
    assert start is not None
    return f"+{proc.pid} {start}\n"


@pytest.mark.parametrize("recycled", [False, True], ids=["same group", "recycled id"])
def test_guardian_spares_a_recycled_group_id(recycled: bool) -> None:
    group = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        start = start_time(group.pid)
        assert start is not None
        # A registration whose leader started at another time stands for a group that is gone.
        registered = start - 1 if recycled else start
        run_guardian(f"+{group.pid} {registered}\n")
        if recycled:
            assert group.poll() is None and psutil.pid_exists(group.pid)
        else:
            assert group.wait(timeout=5) == -15
    finally:
        group.kill()
        group.wait()


def test_guardian_kills_after_the_timeout_what_ignores_sigterm(groups: list[subprocess.Popen[bytes]]) -> None:
    stubborn = new_group(groups, "trap '' TERM; while :; do sleep 1; done")
    polite = new_group(groups)
    wait_for(lambda: (start_time(stubborn.pid) or 0) > 0, 5, "the stubborn group to start")
    time.sleep(0.1)  # the trap is set once the shell has read its script; give it that moment
    took = run_guardian(registered(stubborn) + registered(polite), timeout=1.0)
    assert polite.wait(timeout=5) == -signal.SIGTERM
    assert stubborn.wait(timeout=5) == -signal.SIGKILL
    assert took >= 0.9  # it waited the kill timeout before SIGKILL


def test_guardian_forgets_removed_groups_and_skips_garbage(groups: list[subprocess.Popen[bytes]]) -> None:
    kept = new_group(groups)
    removed = new_group(groups)
    lines = registered(kept) + registered(removed) + f"-{removed.pid}\n" + "+\n+x 1\n-\n+12ab\nnoise\n\n"
    took = run_guardian(lines)
    assert kept.wait(timeout=5) == -signal.SIGTERM
    assert removed.poll() is None
    assert took < 1.0  # every listed group ended on SIGTERM: no waiting out the timeout


def test_guardian_wakes_a_stopped_group(groups: list[subprocess.Popen[bytes]]) -> None:
    stopped = new_group(groups)
    os.killpg(stopped.pid, signal.SIGSTOP)
    run_guardian(registered(stopped))
    assert stopped.wait(timeout=5) == -signal.SIGTERM


def test_guardian_with_nothing_registered_exits_at_once() -> None:
    assert run_guardian("", timeout=5.0) < 1.0


def test_guardian_outlives_ctrl_c_and_sigterm(groups: list[subprocess.Popen[bytes]]) -> None:
    group = new_group(groups)
    guardian = subprocess.Popen(watchdog.guardian_command(1.0), stdin=subprocess.PIPE, start_new_session=True)
    try:
        assert guardian.stdin is not None
        guardian.stdin.write(registered(group).encode())
        guardian.stdin.flush()
        time.sleep(0.1)  # the trap is set before the first line is read; let it get that far
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            guardian.send_signal(signum)
        assert guardian.poll() is None
        guardian.stdin.close()
        assert guardian.wait(timeout=5) == 0
        assert group.wait(timeout=5) == -signal.SIGTERM
    finally:
        guardian.kill()
        guardian.wait()


def test_procdash_guardian_is_a_shell_not_a_python_interpreter(tmp_path: Path) -> None:
    (tmp_path / "Procfile").write_text("one: exec sleep 30\n")
    proc = subprocess.Popen(
        procdash_argv("start", "--headless", "--no-control"),
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        env=procdash_env(),
        start_new_session=True,
    )
    try:
        me = psutil.Process(proc.pid)
        found: list[psutil.Process] = []

        def guardian_up() -> bool:
            found[:] = [c for c in me.children() if str(watchdog.SCRIPT) in c.cmdline()]
            return bool(found)

        wait_for(guardian_up, 10, "procdash's guardian")
        exe = Path(found[0].exe()).resolve()
        assert exe != Path(sys.executable).resolve()
        assert "python" not in exe.name
        assert os.getsid(found[0].pid) != os.getsid(proc.pid)  # its own session: Ctrl-C never reaches it
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
        assert proc.stdout is not None
        proc.stdout.close()
